// The one interface both cgroup drivers (v1.ts, v2.ts) implement, what tsrun records about a
// container's cgroup in state.json, and the statistics `events` reports (runc's JSON shape).
import type { LinuxResources } from '../spec';
import type { DeviceRule } from './devices';

export type CgroupDriver = 'v1' | 'v2';

/** What is kept in state.json to find the cgroup again (runc keeps the same map). */
export interface CgroupRecord {
  driver: CgroupDriver;
  /**
   * The container's directory per hierarchy: v1 controller names ("cpu", "memory",
   * "name=systemd"...), and "" for the cgroup2 directory (hybrid and v2).
   */
  paths: Record<string, string>;
  /** The mount point of each key's hierarchy (to walk from the root, e.g. enabling controllers). */
  mounts: Record<string, string>;
  /** The resources applied at create, with every later `update` merged in (devices left out). */
  resources?: LinuxResources | undefined;
  /** With --systemd-cgroup: the systemd unit that owns the cgroup (src/cgroups/systemd.ts). */
  systemd?: SystemdUnitRecord | undefined;
}

export interface SystemdUnitRecord {
  /** The unit ("tsrun-ID.scope", or a slice). */
  unit: string;
  /** The slice it was placed in (Slice= of a scope, Wants= of a slice). */
  slice: string;
}

/**
 * The asynchronous part of a driver whose cgroup a service manager owns (systemd): the
 * manager makes the cgroup once the init exists, takes the limits it knows, and is told when
 * the cgroup is no longer used. The files are still written by the synchronous methods.
 */
export interface CgroupService {
  /** Makes the cgroup with `pid` (the init) in it and applies create's resources: replaces join for the init. */
  start(pid: number): Promise<void>;
  /** Passes new limits to the service manager, before update() writes the files. */
  update(r: CgroupResources): Promise<void>;
  /** Releases the cgroup (after its processes are gone); safe to call when it was never started. */
  stop(): Promise<void>;
}

/** Resources to apply: the OCI object, with the device list already resolved into rules. */
export interface CgroupResources {
  resources: LinuxResources;
  /** Replaces the whole device list when given (create); left alone when undefined (update). */
  devices?: DeviceRule[] | undefined;
}

export interface CgroupManager {
  readonly driver: CgroupDriver;
  /**
   * Makes the container's directory in every hierarchy and applies the resources. On any
   * failure removes the directories it made and throws: nothing is left behind.
   */
  create(r: CgroupResources): void;
  /** Moves a process (all its threads) into the cgroup, in every hierarchy. */
  join(pid: number): void;
  /**
   * Applies resources to an existing cgroup (`update`). Only what `r` sets is written;
   * `current` is the full merged result, for settings that need their companions (cpu.max).
   */
  update(r: CgroupResources, current: LinuxResources): void;
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** Every pid in the cgroup and its descendants. */
  pids(): number[];
  /**
   * Signals every process of the cgroup: frozen first so none can fork away, signalled, then
   * thawed (SIGKILL: always, so that the processes can die; others: back to the previous state).
   */
  killAll(signal: number): void;
  stats(): CgroupStats;
  /** Number of OOM kills so far (memory.oom_control / memory.events "oom_kill"); null if unknown. */
  oomKillCount(): number | null;
  exists(): boolean;
  /** Removes the cgroup directories (they must hold no process); EBUSY is retried briefly. */
  destroy(): void;
  record(): CgroupRecord;
  /** Only for a cgroup owned by a service manager (systemd). */
  readonly service?: CgroupService | undefined;
}

/** A resource the host cannot apply: names the config field. */
export class CgroupResourceError extends Error {}

// ----- statistics, in the JSON shape of runc's events (types/events.go)

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

export interface CgroupStats {
  cpu: {
    usage: { total?: number; percpu?: number[]; percpu_kernel?: number[]; percpu_user?: number[]; kernel: number; user: number };
    throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  cpuset: { cpus?: number[]; mems?: number[] } & Record<string, number | number[] | undefined>;
  memory: { cache?: number; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, number> };
  pids: { current?: number; limit?: number };
  blkio: {
    ioServiceBytesRecursive?: BlkioEntry[];
    ioServicedRecursive?: BlkioEntry[];
    ioQueueRecursive?: BlkioEntry[];
    ioServiceTimeRecursive?: BlkioEntry[];
    ioWaitTimeRecursive?: BlkioEntry[];
    ioMergedRecursive?: BlkioEntry[];
    ioTimeRecursive?: BlkioEntry[];
    sectorsRecursive?: BlkioEntry[];
  };
  hugetlb: Record<string, { usage?: number; max?: number; failcnt: number }>;
}

export function emptyStats(): CgroupStats {
  const entry = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    cpuset: {},
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
  };
}

/** "2048kB" (sysfs) → "2MB" (the cgroup file and OCI pageSize form). */
export function hugePageSizeName(kb: number): string {
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let size = kb;
  let i = 0;
  while (size >= 1024 && size % 1024 === 0 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return `${size}${units[i]}`;
}

/** Drops zero/undefined numbers so the JSON matches runc's omitempty fields. */
export function omitZero<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out as T;
}
