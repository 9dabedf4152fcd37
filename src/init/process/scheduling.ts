// process.scheduler → sched_setattr(2) and process.ioPriority → ioprio_set(2), both for the
// calling thread (the one that will execve), as runc's setupScheduler/setupIOPriority.
import type { LinuxIOPriority, LinuxScheduler } from '../../spec';
import {
  IOPRIO_CLASSES,
  IOPRIO_CLASS_SHIFT,
  IOPRIO_WHO_PROCESS,
  SCHED_FLAGS,
  SCHED_POLICIES,
} from '../../linux/constants';
import type { SchedAttr, Syscalls } from '../../linux/syscalls';
import { rlimitValue } from './rlimits';
import { step } from './errors';

function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** The sched_attr for an OCI scheduler object; throws on unknown policy/flag names. */
export function planScheduler(s: LinuxScheduler | undefined): SchedAttr | undefined {
  if (!s) return undefined;
  const policy = own(SCHED_POLICIES, s.policy);
  if (policy === undefined) throw new Error(`invalid scheduler policy: ${s.policy}`);
  let flags = 0;
  for (const f of s.flags ?? []) {
    const bit = own(SCHED_FLAGS, f);
    if (bit === undefined) throw new Error(`invalid scheduler flag: ${f}`);
    flags |= bit;
  }
  const attr: SchedAttr = { policy, flags };
  if (s.nice !== undefined) attr.nice = s.nice;
  if (s.priority !== undefined) attr.priority = s.priority;
  if (s.runtime !== undefined) attr.runtime = rlimitValue(s.runtime, 'scheduler runtime');
  if (s.deadline !== undefined) attr.deadline = rlimitValue(s.deadline, 'scheduler deadline');
  if (s.period !== undefined) attr.period = rlimitValue(s.period, 'scheduler period');
  return attr;
}

/** The ioprio value (class << 13 | level) for an OCI ioPriority object. */
export function planIoPriority(p: LinuxIOPriority | undefined): number | undefined {
  if (!p) return undefined;
  const cls = own(IOPRIO_CLASSES, p.class);
  if (cls === undefined) throw new Error(`invalid io priority class: ${p.class}`);
  if (!Number.isInteger(p.priority) || p.priority < 0 || p.priority > 7) {
    throw new Error(`invalid io priority level ${p.priority} (0 to 7)`);
  }
  return (cls << IOPRIO_CLASS_SHIFT) | p.priority;
}

export function applyScheduler(sys: Syscalls, attr: SchedAttr | undefined): void {
  if (attr) step('setting scheduler', () => sys.schedSetattr(0, attr));
}

export function applyIoPriority(sys: Syscalls, ioprio: number | undefined): void {
  if (ioprio !== undefined) step('setting I/O priority', () => sys.ioprioSet(IOPRIO_WHO_PROCESS, 0, ioprio));
}
