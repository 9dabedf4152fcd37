#!/usr/bin/env bash
# Run inside the scripts/vm guest: loads kernel modules by name (with the modules their
# .modinfo "depends=" names first) from the VM kernel's module tree, which the host keeps in
# the VM cache (the guest's /lib/modules is the host's, for another kernel, and has no kmod).
# CRIU needs the socket diag modules to dump sockets and nf_tables for its kernel checks.
set -euo pipefail
tree=$(readlink -f "${TSRUN_VM_CACHE:-/var/cache/tsrun-vm}/$(uname -r)/modules")
[[ -d $tree/kernel ]] || { echo "vm-modules: no module tree for $(uname -r) at $tree" >&2; exit 1; }
declare -A done_=() path=()
while IFS= read -r f; do n=${f##*/}; path[${n%.ko}]=$f; done <<< "$(find "$tree/kernel" -name '*.ko')"
load() {
  local m=$1 f deps
  [[ -n ${done_[$m]:-} ]] && return 0
  done_[$m]=1
  f=${path[$m]:-}
  if [[ -z $f ]]; then
    grep -q "/$m.ko\$" "$tree/modules.builtin" && return 0
    echo "vm-modules: $m is neither a module nor built in" >&2
    return 1
  fi
  deps=$(tr '\0' '\n' < "$f" | grep -a -m1 "^depends=" | cut -d= -f2 || true)
  for d in ${deps//,/ }; do load "$d"; done
  grep -q "^${m//-/_} " /proc/modules || busybox insmod "$f"
}
for m in "$@"; do load "$m"; done
