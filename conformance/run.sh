#!/usr/bin/env bash
# Run the OCI runtime-tools validation suite against an OCI runtime.
#
#   conformance/run.sh RUNTIME [SUITE_DIR] [TEST...]
#
# RUNTIME    path (or command name) of the runtime under test, e.g. /usr/sbin/runc or bin/tsrun
# SUITE_DIR  a built checkout of opencontainers/runtime-tools (default /opt/runtime-tools);
#            see conformance/README.md for how to build it. Nothing here fetches or builds it.
# TEST...    test program names (e.g. `create hooks`), default: every validation/*/*.t
#
# Environment:
#   TIMEOUT=60     seconds allowed per test program
#   RESULTS=DIR    where each program's TAP (NAME.tap) and stderr (NAME.stderr) are kept
#                  (default /tmp/tsrun-conformance-<runtime basename>)
#
# Every runtime call of the suite goes through a wrapper generated in a temporary directory
# that adds `--root <private state dir>`, so the suite (which deletes containers by id)
# never sees containers that are not its own. Its bundles are made under a private TMPDIR.
# Prints `name  passed/total  PASS|FAIL|TIMEOUT` per program and closes with
# `N passed, N failed` (counting programs). A program passes when it exits 0 and prints no
# `not ok` line (column 0; nested runtimetest output is ignored) and, unless its name ends
# in _fail, prints some TAP. Exit status 0 only when every program passed.
set -u

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac

RUNTIME_ARG=$1; shift
SUITE_DIR=/opt/runtime-tools
if [ $# -ge 1 ] && [ -d "$1" ]; then SUITE_DIR=$1; shift; fi
TIMEOUT=${TIMEOUT:-60}

REAL_RUNTIME=$(command -v -- "$RUNTIME_ARG" 2>/dev/null || true)
[ -n "$REAL_RUNTIME" ] && [ -x "$REAL_RUNTIME" ] || { echo "run.sh: runtime '$RUNTIME_ARG' not found or not executable" >&2; exit 2; }
# Absolute, but symlinks kept: a multi-call binary may look at its own name.
REAL_RUNTIME=$(cd -- "$(dirname -- "$REAL_RUNTIME")" && pwd)/$(basename -- "$REAL_RUNTIME")
RT_NAME=$(basename -- "$REAL_RUNTIME")

SUITE_DIR=$(realpath -- "$SUITE_DIR")
for f in runtimetest rootfs-amd64.tar.gz; do
  [ -e "$SUITE_DIR/$f" ] || { echo "run.sh: $SUITE_DIR/$f missing: build the suite first (conformance/README.md)" >&2; exit 2; }
done

RESULTS=${RESULTS:-/tmp/tsrun-conformance-$RT_NAME}
mkdir -p "$RESULTS"
RESULTS=$(realpath -- "$RESULTS")

# The list of test programs.
TESTS=()
if [ $# -eq 0 ]; then
  for t in "$SUITE_DIR"/validation/*/*.t; do [ -x "$t" ] && TESTS+=("$t"); done
else
  for n in "$@"; do
    n=${n%.t}; n=$(basename -- "$n")
    t="$SUITE_DIR/validation/$n/$n.t"
    [ -x "$t" ] || { echo "run.sh: no test program $t" >&2; exit 2; }
    TESTS+=("$t")
  done
fi
[ ${#TESTS[@]} -gt 0 ] || { echo "run.sh: no test programs under $SUITE_DIR/validation (not built?)" >&2; exit 2; }

# Private state root, TMPDIR and runtime wrapper, all generated here and removed at exit.
WORK=$(mktemp -d /tmp/tsrun-conformance-work.XXXXXX)
STATE_ROOT=$WORK/state
mkdir -p "$STATE_ROOT" "$WORK/tmp"
# Containers with a user namespace (uid 0 not mapped) must still reach their bundles here.
chmod 711 "$WORK"; chmod 1777 "$WORK/tmp"
WRAPPER=$WORK/$RT_NAME
cat >"$WRAPPER" <<EOF
#!/bin/sh
exec '$REAL_RUNTIME' --root '$STATE_ROOT' "\$@"
EOF
chmod +x "$WRAPPER"

# Kill and delete whatever containers are left in our private root; unmount anything left
# mounted under our work dir (bundles live there).
cleanup_containers() {
  local ids id
  ids=$("$REAL_RUNTIME" --root "$STATE_ROOT" list -q 2>/dev/null) || ids=
  for id in $ids; do
    "$REAL_RUNTIME" --root "$STATE_ROOT" kill "$id" KILL >/dev/null 2>&1
    timeout 10 "$REAL_RUNTIME" --root "$STATE_ROOT" delete -f "$id" >/dev/null 2>&1 ||
      echo "run.sh: warning: could not delete leftover container $id" >&2
  done
  local m
  awk -v w="$WORK" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}
# Cgroups the suite asks for: cgroups.AbsCgroupPath "/cgrouptest" at the top of each
# hierarchy, and cgroups.RelCgroupPath "testdir/cgrouptest/container", which runtimes put
# under their own (i.e. this script's) cgroup. rmdir only removes empty ones.
cleanup_cgroups() {
  local base own d
  for base in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -d "$base" ] || continue
    for own in $(cut -d: -f3 /proc/self/cgroup | sort -u); do
      own=${own%/}
      for d in "$base$own/testdir/cgrouptest/container" "$base$own/testdir/cgrouptest" "$base$own/testdir"; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null
      done
    done
    [ -d "$base/cgrouptest" ] && rmdir "$base/cgrouptest" 2>/dev/null
  done
  return 0
}
finish() {
  cleanup_containers
  cleanup_cgroups
  rm -rf "$WORK" 2>/dev/null
}
child=
on_signal() {
  if [ -n "$child" ]; then kill -KILL -- "-$child" 2>/dev/null || kill -KILL "$child" 2>/dev/null; fi
  exit 130
}
trap finish EXIT
trap on_signal INT TERM

echo "# runtime: $REAL_RUNTIME (via wrapper adding --root $STATE_ROOT)"
echo "# suite:   $SUITE_DIR   timeout: ${TIMEOUT}s   results: $RESULTS"

npass=0; nfail=0
start_all=$(date +%s.%N)
: >"$RESULTS/summary.txt"
for t in "${TESTS[@]}"; do
  name=$(basename -- "$t" .t)
  tap=$RESULTS/$name.tap
  t0=$(date +%s.%N)
  # Tests read ./runtimetest and ./rootfs-amd64.tar.gz: run from the suite's root.
  # In the background, so that INT/TERM reach our trap at once; `timeout` puts itself and
  # the test program in a process group of their own, which the trap kills.
  ( cd "$SUITE_DIR" && RUNTIME="$WRAPPER" TMPDIR="$WORK/tmp" \
      exec timeout -k 5 "$TIMEOUT" "$t" ) >"$tap" 2>"$RESULTS/$name.stderr" </dev/null &
  child=$!
  wait "$child"; rc=$?
  child=
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  cleanup_containers

  # TAP: only lines at column 0 count (runtimetest output nested in YAML is indented).
  # Some programs print several TAP streams one after the other: their plans add up.
  read -r nok nnot plan nskip < <(awk '
    /^ok[ \t]/ { ok++; if (tolower($0) ~ /#[ \t]*skip/) sk++ }
    /^not ok[ \t]/ { nk++ }
    /^1\.\.[0-9]+/ { split($1, a, "\\.\\."); plan += a[2]; np++ }
    END { printf "%d %d %s %d\n", ok, nk, (np ? plan : "-"), sk }' "$tap")
  total=$((nok + nnot))
  [ "$plan" != "-" ] && [ "$plan" -gt "$total" ] && total=$plan
  note=
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    status=TIMEOUT
  elif [ $rc -eq 0 ] && [ "$nnot" -eq 0 ] && { [ "$plan" != "-" ] || [ "$total" -gt 0 ] || [[ $name == *_fail ]]; }; then
    status=PASS
  else
    status=FAIL
    [ $rc -ne 0 ] && note="exit $rc"
  fi
  # The *_fail programs print nothing when they pass (the runtime refused the bad config
  # as it should). Any other program that exits 0 without TAP validated nothing (e.g.
  # runtimetest's output never reached the container's stdout): that is a FAIL.
  [ "$plan" = "-" ] && [ "$total" -eq 0 ] && note="${note:+$note, }no TAP output"
  [ "$plan" = 0 ] && [ "$total" -eq 0 ] && note="${note:+$note, }no assertions: plan 1..0"
  # The hook tests never print `not ok`: they report a failure only as a YAML "error".
  [ "$total" -eq 0 ] && grep -q '^    "error": ' "$tap" && note="${note:+$note, }YAML error diagnostic"
  [ "$plan" != "-" ] && [ "$plan" -ne $((nok + nnot)) ] && note="${note:+$note, }plan $plan but $((nok + nnot)) results"
  [ "$nskip" -gt 0 ] && note="${note:+$note, }$nskip skipped"
  line=$(printf '%-36s %7s  %-7s %6.1fs%s' "$name" "$nok/$total" "$status" "$secs" "${note:+  ($note)}")
  echo "$line"; echo "$line" >>"$RESULTS/summary.txt"
  if [ "$status" = PASS ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi
done
cleanup_cgroups
elapsed=$(awk -v a="$start_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
printf '# %d programs in %.0fs; TAP kept in %s\n' "${#TESTS[@]}" "$elapsed" "$RESULTS" | tee -a "$RESULTS/summary.txt"
echo "$npass passed, $nfail failed" | tee -a "$RESULTS/summary.txt"
[ "$nfail" -eq 0 ]
