// Applying an OCI `process.capabilities` object to the calling thread.
//
// Order (as runc/youki do):
//   1. bounding set: PR_CAPBSET_DROP every capability not listed (needs CAP_SETPCAP in the
//      effective set, so it must come before capset lowers it);
//   2. capset(2) of effective, permitted and inheritable in one call;
//   3. ambient: clear all, then PR_CAP_AMBIENT_RAISE each listed capability (a capability can
//      only be raised when it is in both permitted and inheritable, so after step 2).
//
// When the process also changes user: drop the bounding set first, set PR_SET_KEEPCAPS,
// setresgid/setgroups/setresuid (which clear the effective set when leaving uid 0), then call
// `setCapabilities` (steps 2-3 reinstate effective/permitted), then clear PR_SET_KEEPCAPS.
// Capabilities are per thread: call from the thread that will execve (the main thread).
import { readFileSync } from 'node:fs';
import { CAP_LAST_CAP, capabilityNumber } from './constants';
import type { Syscalls } from './syscalls';

export interface CapabilityLists {
  bounding?: readonly number[];
  effective?: readonly number[];
  permitted?: readonly number[];
  inheritable?: readonly number[];
  ambient?: readonly number[];
}

/** Bit mask of a capability list. */
export function capsToMask(caps: readonly number[]): bigint {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(c);
  return m;
}

/** Capability list of a bit mask, ascending. */
export function maskToCaps(mask: bigint): number[] {
  const out: number[] = [];
  for (let c = 0; mask >> BigInt(c) !== 0n; c++) if ((mask >> BigInt(c)) & 1n) out.push(c);
  return out;
}

/** Maps names ('CAP_CHOWN') to numbers; names this table does not know are returned apart. */
export function capsFromNames(names: readonly string[]): { caps: number[]; unknown: string[] } {
  const caps: number[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const c = capabilityNumber(n);
    if (c === undefined) unknown.push(n);
    else if (!caps.includes(c)) caps.push(c);
  }
  return { caps, unknown };
}

let kernelLastCap: number | undefined;

/** The running kernel's last capability (/proc/sys/kernel/cap_last_cap), else the table's. */
export function lastCap(): number {
  if (kernelLastCap === undefined) {
    try {
      const n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
      kernelLastCap = Number.isInteger(n) && n > 0 ? n : CAP_LAST_CAP;
    } catch {
      kernelLastCap = CAP_LAST_CAP;
    }
  }
  return kernelLastCap;
}

/** Drops from the bounding set every capability (0..last) not in `keep`. */
export function dropBoundingSet(sys: Syscalls, keep: readonly number[], last: number = lastCap()): void {
  const keepSet = new Set(keep);
  for (let cap = 0; cap <= last; cap++) {
    if (keepSet.has(cap)) continue;
    // Reading first keeps this working without CAP_SETPCAP when there is nothing to drop.
    if (sys.capbsetRead(cap)) sys.capbsetDrop(cap);
  }
}

/**
 * Sets all five capability sets of the calling thread. A missing list means the empty set.
 * Capabilities above the kernel's last one are left out and returned in `ignored` (the
 * caller may warn, as runc does for unknown capabilities).
 */
export function setCapabilities(
  sys: Syscalls,
  lists: CapabilityLists,
  last: number = lastCap(),
): { ignored: number[] } {
  const ignored = new Set<number>();
  const valid = (l: readonly number[] | undefined): number[] =>
    (l ?? []).filter((c) => {
      if (Number.isInteger(c) && c >= 0 && c <= last) return true;
      ignored.add(c);
      return false;
    });
  const bounding = valid(lists.bounding);
  const effective = valid(lists.effective);
  const permitted = valid(lists.permitted);
  const inheritable = valid(lists.inheritable);
  const ambient = valid(lists.ambient);

  dropBoundingSet(sys, bounding, last);
  sys.capset({
    effective: capsToMask(effective),
    permitted: capsToMask(permitted),
    inheritable: capsToMask(inheritable),
  });
  sys.capAmbientClearAll();
  for (const cap of ambient) sys.capAmbientRaise(cap);
  return { ignored: [...ignored].sort((a, b) => a - b) };
}
