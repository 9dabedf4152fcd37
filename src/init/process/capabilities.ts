// process.capabilities, applied around the change of user as runc's finalizeNamespace does:
//   1. dropBounding  (before the user change: PR_CAPBSET_DROP needs CAP_SETPCAP, which
//                     leaves the effective set when uid 0 is left);
//   2. (caller: PR_SET_KEEPCAPS, setgroups/setresgid/setresuid, clear KEEPCAPS)
//   3. applySets     capset(effective, permitted, inheritable), then the ambient set.
//
// Differences from runc, on purpose:
// - a name that is no capability at all ("CAP_FOO") is an error (runc warns and ignores it);
//   a real capability the running kernel does not have (above cap_last_cap) is ignored with a
//   warning, as runc does;
// - when capset fails, the error names the capabilities this runtime cannot grant (e.g.
//   CAP_SYS_RESOURCE on a host whose bounding set lacks it; runc says only "operation not
//   permitted").
// Like runc, a failure to raise an ambient capability is only a warning (runc's own default
// config lists ambient capabilities without inheritable ones, which the kernel refuses).
import type { LinuxCapabilities } from '../../spec';
import { capabilityName } from '../../linux/constants';
import { capsFromNames, capsToMask, dropBoundingSet, lastCap, maskToCaps } from '../../linux/capabilities';
import { SyscallError, isErrno } from '../../linux/errors';
import type { CapabilitySets, Syscalls } from '../../linux/syscalls';
import { describeError, stepError } from './errors';

export interface PlannedCapabilities {
  bounding: number[];
  effective: number[];
  permitted: number[];
  inheritable: number[];
  ambient: number[];
}

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

function names(caps: readonly number[]): string {
  return caps.map((c) => capabilityName(c) ?? String(c)).join(', ');
}

/**
 * Capability numbers of each set. Unknown names throw; capabilities above the kernel's last
 * one are left out and reported through `warn`. Undefined when the spec has no
 * `capabilities` (then, as with runc, the capabilities are left as they are).
 */
export function planCapabilities(
  caps: LinuxCapabilities | undefined,
  warn: (message: string) => void = () => undefined,
  last: number = lastCap(),
): PlannedCapabilities | undefined {
  if (!caps) return undefined;
  const out: PlannedCapabilities = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
  const unavailable = new Set<string>();
  for (const set of SETS) {
    const { caps: nums, unknown } = capsFromNames(caps[set] ?? []);
    if (unknown.length > 0) {
      throw new Error(`unknown capability ${unknown.map((n) => JSON.stringify(n)).join(', ')} in process.capabilities.${set}`);
    }
    for (const c of nums) {
      if (c <= last) out[set].push(c);
      else unavailable.add(capabilityName(c) ?? String(c));
    }
  }
  if (unavailable.size > 0) {
    warn(`ignoring capabilities unknown to this kernel (cap_last_cap ${last}): ${[...unavailable].sort().join(', ')}`);
  }
  return out;
}

/** Step 1: drop every capability not listed from the bounding set. */
export function dropBounding(sys: Syscalls, plan: PlannedCapabilities, last: number = lastCap()): void {
  try {
    dropBoundingSet(sys, plan.bounding, last);
  } catch (err) {
    throw stepError('applying capability bounding set', err);
  }
}

/** Why capset would refuse `want` given the thread's current sets (kernel rules). */
export function explainCapset(want: CapabilitySets, old: CapabilitySets, bounding: bigint): string | undefined {
  const reasons: string[] = [];
  // permitted may only shrink; inheritable may only gain what is permitted (without
  // CAP_SETPCAP in effective, which is gone after leaving uid 0).
  const missing = ((want.permitted | want.effective) & ~old.permitted) | (want.inheritable & ~(old.inheritable | old.permitted));
  if (missing !== 0n) reasons.push(`this runtime does not hold ${names(maskToCaps(missing))}: missing from its bounding set?`);
  const effNotPermitted = want.effective & ~want.permitted;
  if (effNotPermitted !== 0n) reasons.push(`effective ${names(maskToCaps(effNotPermitted))} not in permitted`);
  const inhNotBounding = want.inheritable & ~(old.inheritable | bounding);
  if (inhNotBounding !== 0n) reasons.push(`inheritable ${names(maskToCaps(inhNotBounding))} not in bounding`);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** Step 3: capset, then ambient (clear, raise each; failures to raise are warnings). */
export function applySets(sys: Syscalls, plan: PlannedCapabilities, warn: (message: string) => void = () => undefined): void {
  const want: CapabilitySets = {
    effective: capsToMask(plan.effective),
    permitted: capsToMask(plan.permitted),
    inheritable: capsToMask(plan.inheritable),
  };
  let old: CapabilitySets | undefined;
  try {
    old = sys.capget();
  } catch {
    // only used to explain a capset failure
  }
  try {
    sys.capset(want);
  } catch (err) {
    const hint = old && err instanceof SyscallError && err.code === 'EPERM' ? explainCapset(want, old, capsToMask(plan.bounding)) : undefined;
    throw stepError('applying capabilities: capset', err, hint);
  }
  try {
    sys.capAmbientClearAll();
  } catch (err) {
    // EINVAL: a kernel without ambient capabilities (< 4.3), as runc tolerates.
    if (!isErrno(err, 'EINVAL')) throw stepError('clearing ambient capabilities', err);
    if (plan.ambient.length > 0) warn(`ambient capabilities are not supported by this kernel: ignoring ${names(plan.ambient)}`);
    return;
  }
  for (const cap of plan.ambient) {
    try {
      sys.capAmbientRaise(cap);
    } catch (err) {
      warn(`can't raise ambient capability ${names([cap])}: ${describeError(err)}`);
    }
  }
}
