# The default PID 1 after switch_root (run by the host's busybox sh): runs /tsrun-vm/cmd (bash) as
# root in /tsrun-vm/cwd with the environment of /tsrun-vm/env, writes its output and exit
# status into /tsrun-vm, and powers the guest off. A shell as PID 1 reaps every orphan while it
# waits (containers' processes are reparented to it).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root TERM=dumb LANG=C.UTF-8
bb=$1
out=/tsrun-vm
if [ -s $out/env ]; then
  while IFS= read -r kv; do case $kv in *=*) export "$kv" ;; esac; done < $out/env
fi
cd "$(cat $out/cwd)" || { echo "vm/guest-init: cannot cd to $(cat $out/cwd)" > $out/setup-error; $bb poweroff -f; }
# bash: the command was quoted with printf %q
/bin/bash $out/cmd < /dev/null > $out/stdout 2> $out/stderr &
wait $!
echo $? > $out/status
sync
$bb poweroff -f
