// Parts of the runtime-spec that tsrun does not implement yet. A config that asks for one is
// refused with an error naming it, before anything is created: accepting and ignoring a
// setting (a seccomp profile, a memory limit) would be a silent security or correctness bug.
// Entries leave this table as their implementation lands.
import { existsSync, readFileSync } from 'node:fs';
import type { Spec } from '../spec';

export class UnsupportedError extends Error {}

interface Check {
  path: string;
  present: (spec: Spec) => boolean;
  why: string;
}

const nonEmpty = (v: unknown): boolean =>
  v !== undefined && v !== null && (typeof v !== 'object' || Object.keys(v as object).length > 0);

const CHECKS: Check[] = [
  {
    path: 'linux.intelRdt',
    present: (s) => nonEmpty(s.linux?.intelRdt) && !resctrlMounted(),
    why: 'Intel RDT needs the resctrl filesystem, which is not mounted at /sys/fs/resctrl on this host (kernel CONFIG_X86_CPU_RESCTRL and `mount -t resctrl resctrl /sys/fs/resctrl`)',
  },
  { path: 'linux.intelRdt', present: (s) => nonEmpty(s.linux?.intelRdt), why: 'Intel RDT is not supported yet' },
  {
    path: 'process.apparmorProfile',
    present: (s) => nonEmpty(s.process?.apparmorProfile) && !apparmorEnabled(),
    why: 'AppArmor is not enabled on this host',
  },
  {
    path: 'process.selinuxLabel',
    present: (s) => nonEmpty(s.process?.selinuxLabel) && !selinuxEnabled(),
    why: 'SELinux is not enabled on this host',
  },
  {
    path: 'linux.mountLabel',
    present: (s) => nonEmpty(s.linux?.mountLabel) && !selinuxEnabled(),
    why: 'SELinux is not enabled on this host',
  },
  {
    path: 'process.apparmorProfile',
    present: (s) => nonEmpty(s.process?.apparmorProfile) && apparmorEnabled(),
    why: 'AppArmor profiles are not supported yet',
  },
  {
    path: 'process.selinuxLabel',
    present: (s) => (nonEmpty(s.process?.selinuxLabel) || nonEmpty(s.linux?.mountLabel)) && selinuxEnabled(),
    why: 'SELinux labels are not supported yet',
  },
];

function resctrlMounted(): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[2] === 'resctrl');
  } catch {
    return false;
  }
}

function apparmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

function selinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}

export function assertSupported(spec: Spec): void {
  for (const check of CHECKS) {
    if (check.present(spec)) throw new UnsupportedError(`${check.path}: ${check.why}`);
  }
}
