// Helpers shared by the v1 and v2 drivers.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxRdma, LinuxResources, LinuxThrottleDevice } from '../spec';
import { CgroupFileError, readPids, type CgroupFs } from './fs';
import { CgroupResourceError, hugePageSizeName, type BlkioEntry } from './manager';
import { SIGKILL } from '../linux/constants';

export interface DriverOptions {
  fs: CgroupFs;
  /** Non-fatal notices (settings the kernel or cgroup version ignores). */
  warn: (message: string) => void;
  /** Huge page sizes the kernel has, in the cgroup file form ("2MB", "1GB"). */
  hugePageSizes: () => string[];
  /** Sends a signal; a process already gone is not an error. */
  kill: (pid: number, signal: number) => void;
}

export function hostHugePageSizes(): string[] {
  try {
    return readdirSync('/sys/kernel/mm/hugepages')
      .map((n) => /^hugepages-(\d+)kB$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => hugePageSizeName(Number(m[1])))
      .sort();
  } catch {
    return [];
  }
}

export function killPid(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Pids of a cgroup directory and all its descendants (runc's GetAllPids), sorted. */
export function allPids(fs: CgroupFs, dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    out.push(...readPids(fs, d));
    for (const c of fs.subdirs(d)) walk(join(d, c));
  };
  walk(dir);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** A pageSize as the cgroup files name it, checked against the host's sizes. */
export function hugePageSize(pageSize: string, available: string[], index: number): string {
  if (!/^\d+[KMGTP]B$/.test(pageSize) || !available.includes(pageSize)) {
    throw new CgroupResourceError(
      `linux.resources.hugepageLimits[${index}].pageSize: huge page size ${JSON.stringify(pageSize)} is not supported by this kernel (available: ${available.join(', ') || 'none'})`,
    );
  }
  return pageSize;
}

export function throttleString(d: LinuxThrottleDevice): string {
  return `${d.major}:${d.minor} ${d.rate}`;
}

export function rdmaString(device: string, l: LinuxRdma): string {
  const h = l.hcaHandles !== undefined ? String(l.hcaHandles) : 'max';
  const o = l.hcaObjects !== undefined ? String(l.hcaObjects) : 'max';
  return `${device} hca_handle=${h} hca_object=${o}`;
}

/** "0-2,4" → [0, 1, 2, 4] */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-');
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) continue;
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** v1 blkio stat files: "8:0 Read 123" lines ("Total N" skipped). */
export function parseBlkioStat(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/[\s:]+/);
    if (f.length < 3) continue;
    const [major, minor] = [Number(f[0]), Number(f[1])];
    if (!Number.isInteger(major) || !Number.isInteger(minor)) continue;
    const e: BlkioEntry = { major, minor };
    if (f.length === 4) {
      e.op = f[2]!;
      e.value = Number(f[3]);
    } else e.value = Number(f[2]);
    out.push(stripZero(e));
  }
  return out;
}

function stripZero(e: BlkioEntry): BlkioEntry {
  const out: BlkioEntry = {};
  if (e.major) out.major = e.major;
  if (e.minor) out.minor = e.minor;
  if (e.op) out.op = e.op;
  if (e.value) out.value = e.value;
  return out;
}

/** Reads a file for statistics: a missing file is "no data" (undefined), other errors throw. */
export function readOptional(fs: CgroupFs, dir: string, file: string): string | undefined {
  try {
    return fs.read(dir, file);
  } catch (err) {
    if (err instanceof CgroupFileError && (err.code === 'ENOENT' || err.code === 'ENODEV' || err.code === 'EOPNOTSUPP')) return undefined;
    throw err;
  }
}

export function numberOrZero(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = text.trim();
  const n = Number(t);
  return t === '' || t === 'max' || !Number.isFinite(n) ? 0 : n;
}

/** "key value" lines as numbers. */
export function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** True when a LinuxResources section sets anything at all. */
export function isSet(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v as object).some(isSet);
  return true;
}

/** Unified map keys must be plain file names. */
export function checkUnifiedKey(key: string): void {
  if (key.includes('/') || key === '' || key === '.' || key === '..') {
    throw new CgroupResourceError(`linux.resources.unified: ${JSON.stringify(key)} must be a file name (no slashes)`);
  }
}

/** The unique directories of a path map, in the order first seen. */
export function uniqueDirs(paths: Record<string, string>, order: readonly string[]): Array<{ keys: string[]; dir: string }> {
  const out: Array<{ keys: string[]; dir: string }> = [];
  const keys = [...order.filter((k) => k in paths), ...Object.keys(paths).filter((k) => !order.includes(k))];
  for (const k of keys) {
    const dir = paths[k]!;
    const e = out.find((x) => x.dir === dir);
    if (e) e.keys.push(k);
    else out.push({ keys: [k], dir });
  }
  return out;
}

export type Resources = LinuxResources;

/** What signalAllFrozen needs of a driver. */
interface Freezable {
  isFrozen(): boolean;
  freeze(): void;
  thaw(): void;
  pids(): number[];
}

/**
 * Signals every process of the cgroup while it is frozen, so that none can fork away in the
 * meantime. A freeze that cannot complete (tasks stuck in the kernel, e.g. in the middle of an
 * OOM kill) is not fatal: the signal is sent anyway, with a warning, as runc does. The cgroup is
 * thawed again if we froze it, or if it was paused and the signal is SIGKILL (so the processes
 * can die).
 */
export function signalAllFrozen(cgroup: Freezable, opts: DriverOptions, signal: number): void {
  const wasFrozen = cgroup.isFrozen();
  let froze = false;
  if (!wasFrozen) {
    try {
      cgroup.freeze();
      froze = true;
    } catch (err) {
      opts.warn(`signalling the container's processes without freezing them: ${(err as Error).message}`);
    }
  }
  try {
    for (const pid of cgroup.pids()) opts.kill(pid, signal);
  } finally {
    if (froze || (wasFrozen && signal === SIGKILL)) cgroup.thaw();
  }
}

/**
 * Undoes a failed create: removes the directories it made, deepest first. Best effort: the
 * error that matters is the one that made the create fail.
 */
export function removeMadeDirs(fs: CgroupFs, made: readonly string[]): void {
  for (const dir of [...made].reverse()) {
    try {
      fs.rmdir(dir);
    } catch {
      // best effort
    }
  }
}
