// process.rlimits → prlimit(2) on the calling process. Values are uint64 (2^64-1 is
// RLIM_INFINITY); JSON numbers above 2^53 are imprecise, and 18446744073709551615 parses to
// 2^64 exactly, so anything >= 2^64 means infinity.
import type { POSIXRlimit } from '../../spec';
import { RLIM_INFINITY, rlimitNumber } from '../../linux/constants';
import { SyscallError } from '../../linux/errors';
import type { Syscalls } from '../../linux/syscalls';
import { stepError } from './errors';

export interface PlannedRlimit {
  type: string;
  resource: number;
  soft: bigint;
  hard: bigint;
}

const TWO_64 = 2 ** 64;

/** A uint64 limit value from a JSON number (or bigint); throws on anything else. */
export function rlimitValue(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > RLIM_INFINITY) throw new Error(`${what} ${v} is out of range (0 to 2^64-1)`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v >= TWO_64 ? RLIM_INFINITY : BigInt(v);
}

/** Validates process.rlimits: known RLIMIT_* names, no duplicates, uint64 values. */
export function planRlimits(rlimits: readonly POSIXRlimit[] | undefined): PlannedRlimit[] {
  const out: PlannedRlimit[] = [];
  const seen = new Set<string>();
  for (const r of rlimits ?? []) {
    const resource = rlimitNumber(r.type);
    if (resource === undefined) throw new Error(`unknown rlimit type ${JSON.stringify(r.type)}`);
    if (seen.has(r.type)) throw new Error(`duplicate rlimit type ${r.type}`);
    seen.add(r.type);
    out.push({
      type: r.type,
      resource,
      soft: rlimitValue(r.soft, `rlimit ${r.type} soft limit`),
      hard: rlimitValue(r.hard, `rlimit ${r.type} hard limit`),
    });
  }
  return out;
}

function show(v: bigint): string {
  return v === RLIM_INFINITY ? 'unlimited' : String(v);
}

/** Applies the limits in order; a failure names the limit (with a hint for the usual causes). */
export function applyRlimits(sys: Syscalls, limits: readonly PlannedRlimit[]): void {
  for (const l of limits) {
    try {
      sys.setrlimit(l.resource, l.soft, l.hard);
    } catch (err) {
      let hint: string | undefined;
      if (l.soft > l.hard) hint = `soft limit ${show(l.soft)} is above hard limit ${show(l.hard)}`;
      else if (err instanceof SyscallError && err.code === 'EPERM') {
        let current = '';
        try {
          current = `, the current hard limit is ${show(sys.getrlimit(l.resource).hard)}`;
        } catch {
          // only a hint
        }
        hint = `raising a hard limit needs CAP_SYS_RESOURCE${current}`;
      }
      throw stepError(`setting rlimit ${l.type}`, err, hint);
    }
  }
}
