// linux.memoryPolicy: the NUMA policy of the container's process, set with set_mempolicy(2) on
// the init's main thread right before execve (a task's policy survives execve and is inherited
// by its children). The plan is checked at create time, by the kernel too: the policy is set
// once and reset to MPOL_DEFAULT, so that an impossible policy (a node this host does not have,
// a mode this kernel does not know) fails `create` with a clear error instead of the process.
import { readFileSync } from 'node:fs';
import type { LinuxMemoryPolicy } from '../spec';
import { setMempolicy } from '../linux/numa';
import { parseList } from './cpu-list';

export const MEMORY_POLICY_MODES: Readonly<Record<string, number>> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};

export const MEMORY_POLICY_FLAGS: Readonly<Record<string, number>> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

export interface PlannedMemoryPolicy {
  /** mode | flags, as set_mempolicy takes it. */
  modeAndFlags: number;
  nodes: number[];
  /** "MPOL_BIND|MPOL_F_STATIC_NODES nodes 0-1", for errors. */
  description: string;
}

/** The host's NUMA nodes (/sys/devices/system/node/online), or undefined if unreadable. */
function onlineNodes(): number[] | undefined {
  try {
    return parseList(readFileSync('/sys/devices/system/node/online', 'utf8'), 'online nodes');
  } catch {
    return undefined;
  }
}

/** Validates linux.memoryPolicy (modes, flags, nodes) without touching anything. */
export function planMemoryPolicy(policy: LinuxMemoryPolicy | undefined, nodes?: number[]): PlannedMemoryPolicy | undefined {
  if (!policy) return undefined;
  const hostNodes = nodes ?? onlineNodes();
  const mode = MEMORY_POLICY_MODES[policy.mode];
  if (mode === undefined) throw new Error(`linux.memoryPolicy.mode: unknown mode ${JSON.stringify(policy.mode)}`);
  let flags = 0;
  for (const f of policy.flags ?? []) {
    const bit = MEMORY_POLICY_FLAGS[f];
    if (bit === undefined) throw new Error(`linux.memoryPolicy.flags: unknown flag ${JSON.stringify(f)}`);
    flags |= bit;
  }
  if ((flags & MEMORY_POLICY_FLAGS.MPOL_F_STATIC_NODES!) && (flags & MEMORY_POLICY_FLAGS.MPOL_F_RELATIVE_NODES!)) {
    throw new Error('linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are mutually exclusive');
  }
  const wanted = parseList(policy.nodes ?? '', 'linux.memoryPolicy.nodes');
  if ((policy.mode === 'MPOL_DEFAULT' || policy.mode === 'MPOL_LOCAL') && wanted.length > 0) {
    throw new Error(`linux.memoryPolicy: ${policy.mode} takes no nodes (got ${JSON.stringify(policy.nodes)})`);
  }
  if ((policy.mode === 'MPOL_DEFAULT' || policy.mode === 'MPOL_LOCAL') && flags !== 0) {
    throw new Error(`linux.memoryPolicy: ${policy.mode} takes no flags`);
  }
  if (wanted.length === 0 && ['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE'].includes(policy.mode)) {
    throw new Error(`linux.memoryPolicy: ${policy.mode} needs nodes`);
  }
  // Relative node numbers are not host node numbers (the kernel folds them onto the allowed set).
  if (hostNodes && !(flags & MEMORY_POLICY_FLAGS.MPOL_F_RELATIVE_NODES!) && !(flags & MEMORY_POLICY_FLAGS.MPOL_F_STATIC_NODES!)) {
    const missing = wanted.filter((n) => !hostNodes.includes(n));
    if (missing.length > 0) {
      throw new Error(`linux.memoryPolicy.nodes: NUMA node${missing.length > 1 ? 's' : ''} ${missing.join(',')} ${missing.length > 1 ? 'do' : 'does'} not exist on this host (online nodes: ${hostNodes.join(',') || 'none'})`);
    }
  }
  const flagNames = (policy.flags ?? []).join('|');
  return {
    modeAndFlags: mode | flags,
    nodes: wanted,
    description: `${policy.mode}${flagNames ? `|${flagNames}` : ''}${policy.nodes ? ` nodes ${policy.nodes}` : ''}`,
  };
}

/** Sets the policy on the calling thread. */
export function applyMemoryPolicy(plan: PlannedMemoryPolicy | undefined): void {
  if (!plan) return;
  try {
    setMempolicy(plan.modeAndFlags, plan.nodes, plan.description);
  } catch (err) {
    throw new Error(`linux.memoryPolicy: ${(err as Error).message}`, { cause: err });
  }
}

/** Create-time check: the kernel accepts the policy (set, then back to MPOL_DEFAULT). */
export function checkMemoryPolicy(plan: PlannedMemoryPolicy | undefined): void {
  if (!plan) return;
  applyMemoryPolicy(plan);
  setMempolicy(MEMORY_POLICY_MODES.MPOL_DEFAULT!, [], 'MPOL_DEFAULT');
}
