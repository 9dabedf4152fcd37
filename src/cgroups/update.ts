// What `update` changes. Clients send a whole LinuxResources object in which zero means
// "unchanged" (docker: {"memory":{"limit":67108864,"reservation":0,"swap":134217728,
// "kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}), as runc's
// update treats it; runc's flags (--memory 128m, --cpu-quota...) build the same object.
// The result is a delta: only what it sets is written to the cgroup, and it is merged into
// the resources kept in state.json.
import type { LinuxResources } from '../spec';

export class UpdateError extends Error {}

/** Fields where 0 (or "") means "leave unchanged". */
const ZERO_IS_UNSET: Record<string, string[]> = {
  memory: ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'],
  cpu: ['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems'],
  blockIO: ['weight', 'leafWeight'],
  pids: ['limit'],
};

/**
 * The delta of an update payload: zero fields dropped, empty sections dropped. Device rules
 * are not updated (runc skips them too); `warn` is told.
 */
export function updateDelta(input: unknown, warn: (m: string) => void = () => undefined): LinuxResources {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new UpdateError('the resources must be a JSON object (LinuxResources)');
  const src = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [section, value] of Object.entries(src)) {
    if (value === null || value === undefined) continue;
    if (section === 'devices') {
      if (Array.isArray(value) && value.length > 0) warn('update: device rules cannot be changed by update; ignored (as runc)');
      continue;
    }
    const zeroFields = ZERO_IS_UNSET[section];
    if (zeroFields && typeof value === 'object' && !Array.isArray(value)) {
      const kept: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === null || v === undefined) continue;
        if (zeroFields.includes(k) && (v === 0 || v === '')) continue;
        kept[k] = v;
      }
      if (Object.keys(kept).length > 0) out[section] = kept;
      continue;
    }
    if (Array.isArray(value) ? value.length > 0 : typeof value !== 'object' || Object.keys(value as object).length > 0) out[section] = value;
  }
  const m = out.memory as Record<string, unknown> | undefined;
  if (m && m.kernel !== undefined) {
    warn('update: memory.kernel (kernel memory limit) is ignored (deprecated by the kernel, as runc)');
    delete m.kernel;
    if (Object.keys(m).length === 0) delete out.memory;
  }
  checkTypes(out);
  return out as LinuxResources;
}

function checkTypes(r: Record<string, unknown>): void {
  const num = (section: string, field: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v)) throw new UpdateError(`${section}.${field}: expected an integer, got ${JSON.stringify(v)}`);
  };
  for (const [section, fields] of Object.entries(ZERO_IS_UNSET)) {
    const s = r[section] as Record<string, unknown> | undefined;
    if (!s) continue;
    if (typeof s !== 'object') throw new UpdateError(`${section}: expected an object`);
    for (const [k, v] of Object.entries(s)) {
      if (k === 'cpus' || k === 'mems') {
        if (typeof v !== 'string') throw new UpdateError(`${section}.${k}: expected a string`);
      } else if (fields.includes(k) || ['swappiness', 'burst', 'idle'].includes(k)) num(section, k, v);
    }
  }
}

/** docker/go-units RAMInBytes: "128m", "1g", "512KiB", "1024" (binary multiples); "-1" is -1. */
export function ramInBytes(text: string): number {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new UpdateError(`invalid size: '${text}'`);
  const mult: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

export interface UpdateFlags {
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShare?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  kernelMemory?: string;
  kernelMemoryTcp?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  pidsLimit?: string;
}

/** runc's update flags as a payload (then passed through updateDelta). */
export function payloadFromFlags(f: UpdateFlags): LinuxResources {
  const int = (name: string, v: string, unsigned: boolean) => {
    if (!/^-?\d+$/.test(v) || (unsigned && v.startsWith('-'))) throw new UpdateError(`invalid value for ${name}: ${JSON.stringify(v)}`);
    return Number(v);
  };
  const r: LinuxResources = { memory: {}, cpu: {}, blockIO: {}, pids: {} };
  if (f.blkioWeight) r.blockIO!.weight = int('blkio-weight', f.blkioWeight, true);
  if (f.cpusetCpus) r.cpu!.cpus = f.cpusetCpus;
  if (f.cpusetMems) r.cpu!.mems = f.cpusetMems;
  if (f.cpuPeriod) r.cpu!.period = int('cpu-period', f.cpuPeriod, true);
  if (f.cpuRtPeriod) r.cpu!.realtimePeriod = int('cpu-rt-period', f.cpuRtPeriod, true);
  if (f.cpuShare) r.cpu!.shares = int('cpu-share', f.cpuShare, true);
  if (f.cpuQuota) r.cpu!.quota = int('cpu-quota', f.cpuQuota, false);
  if (f.cpuRtRuntime) r.cpu!.realtimeRuntime = int('cpu-rt-runtime', f.cpuRtRuntime, false);
  const size = (name: string, v: string) => {
    try {
      return ramInBytes(v);
    } catch (err) {
      throw new UpdateError(`invalid value for ${name}: ${(err as Error).message}`);
    }
  };
  if (f.memory) r.memory!.limit = size('memory', f.memory);
  if (f.memorySwap) r.memory!.swap = size('memory-swap', f.memorySwap);
  if (f.kernelMemory) r.memory!.kernel = size('kernel-memory', f.kernelMemory);
  if (f.kernelMemoryTcp) r.memory!.kernelTCP = size('kernel-memory-tcp', f.kernelMemoryTcp);
  if (f.memoryReservation) r.memory!.reservation = size('memory-reservation', f.memoryReservation);
  if (f.pidsLimit) r.pids!.limit = int('pids-limit', f.pidsLimit, false);
  return r;
}

/** `base` with `delta` laid over it (objects merged, arrays and scalars replaced). */
export function mergeResources(base: LinuxResources | undefined, delta: LinuxResources): LinuxResources {
  const merge = (a: unknown, b: unknown): unknown => {
    if (b === undefined) return a;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
      for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = merge(out[k], v);
      return out;
    }
    return JSON.parse(JSON.stringify(b));
  };
  return merge(base ?? {}, delta) as LinuxResources;
}

/**
 * What an update must write besides its delta, because the kernel ties it to a value the delta
 * changes (runc re-applies the whole merged configuration, so it never loses them):
 * - cgroup v2: memory.swap.max is swap only, so a new memory limit alone must rewrite it from
 *   the container's memory+swap total (else the total silently grows or shrinks);
 * - a new default BFQ weight (io.bfq.weight, "N" or "default N") resets every per-device
 *   weight of the cgroup to the default: they are written again after it;
 * - cpu.idle 0 on an idle group resets its weight to the default: the shares are written again.
 * `current` is the merged resources (the delta laid over the container's).
 */
export function withTiedSettings(delta: LinuxResources, current: LinuxResources): LinuxResources {
  const out: LinuxResources = JSON.parse(JSON.stringify(delta)) as LinuxResources;
  const limit = delta.memory?.limit ?? 0;
  const swap = current.memory?.swap ?? 0;
  if (limit > 0 && (delta.memory?.swap ?? 0) === 0 && swap !== 0) out.memory = { ...out.memory, swap };
  const devices = current.blockIO?.weightDevice ?? [];
  if ((delta.blockIO?.weight ?? 0) !== 0 && delta.blockIO?.weightDevice === undefined && devices.length > 0) out.blockIO = { ...out.blockIO, weightDevice: devices };
  const shares = current.cpu?.shares ?? 0;
  if (delta.cpu?.idle === 0 && (delta.cpu.shares ?? 0) === 0 && shares !== 0) out.cpu = { ...out.cpu, shares };
  return out;
}
