// The systemd cgroup driver (--systemd-cgroup), with runc's semantics: linux.cgroupsPath is
// "slice:prefix:name" (absent: "system.slice", prefix "tsrun", the container id), the
// container's cgroup is a transient unit "prefix-name.scope" (or the slice "name" when name
// ends in ".slice") that systemd makes with the init in it (StartTransientUnit: PIDs=[init],
// Delegate=true, Slice=, the resource limits systemd knows as unit properties), and everything
// else is the v1/v2 file driver's job on the directories systemd made: every resource file,
// the hierarchies systemd does not realize (v1), joining exec'd processes, freeze/thaw, stats,
// pids and kill. `update` goes through SetUnitProperties then the files; `delete` stops the
// unit (StopUnit, then ResetFailedUnit as runc does) once its processes are gone.
//
// Loaded only on the systemd path (src/runtime/cgroup.ts requires it when a config or a state
// record asks for systemd): no other command pays for the D-Bus code.
import { posix } from 'node:path';
import { readFileSync } from 'node:fs';
import type { LinuxResources, Spec } from '../spec';
import { hostLayout, loadCgroup, newContainerCgroup, type ManagerOptions } from './index';
import type { CgroupLayout } from './layout';
import { CgroupResourceError, type CgroupManager, type CgroupRecord, type CgroupResources, type CgroupService, type CgroupStats, type SystemdUnitRecord } from './manager';
import { DeviceEmulator, type DeviceRule } from './devices';
import { blkioToIoWeight, sharesToWeight, swapToV2 } from './v2';
import { isSet } from './common';
import { CgroupFileError } from './fs';
import { isDBusError, prop, SystemdClient, systemdTarget, SystemdUnreachableError, type SystemdTarget, type UnitProperty } from '../dbus/systemd';

const UINT64_MAX = 2n ** 64n - 1n;
const DEFAULT_SLICE = 'system.slice';
const DEFAULT_PREFIX = 'tsrun';
/** The kernel's default CFS period (µs), for a quota without a period. */
const DEFAULT_PERIOD = 100_000;

export interface SystemdUnitName extends SystemdUnitRecord {
  /** "Scope" or "Slice": the unit type's D-Bus interface suffix. */
  type: 'Scope' | 'Slice';
}

const UNIT_CHARS = /^[A-Za-z0-9:_.\\@-]+$/;

/** runc's systemd reading of linux.cgroupsPath. */
export function parseSystemdCgroupsPath(cgroupsPath: string | undefined, id: string): SystemdUnitName {
  let slice = DEFAULT_SLICE;
  let prefix = DEFAULT_PREFIX;
  let name = id;
  if (cgroupsPath !== undefined && cgroupsPath !== '') {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) throw new CgroupResourceError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)}: expected "slice:prefix:name" with --systemd-cgroup`);
    [slice, prefix, name] = parts as [string, string, string];
    if (slice === '') slice = DEFAULT_SLICE;
    if (name === '') throw new CgroupResourceError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)}: the name part of "slice:prefix:name" is empty`);
  }
  expandSlice(slice, 'linux.cgroupsPath: slice'); // validates
  const isSlice = name.endsWith('.slice');
  const unit = isSlice ? name : prefix === '' ? `${name}.scope` : `${prefix}-${name}.scope`;
  if (!UNIT_CHARS.test(unit) || unit.length > 255) throw new CgroupResourceError(`linux.cgroupsPath: ${JSON.stringify(unit)} is not a valid systemd unit name`);
  if (isSlice) expandSlice(unit, 'linux.cgroupsPath: name');
  return { unit, slice, type: isSlice ? 'Slice' : 'Scope' };
}

/** "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "/" (systemd's slice nesting). */
export function expandSlice(slice: string, field = 'slice'): string {
  const bad = () => new CgroupResourceError(`${field}: invalid slice name ${JSON.stringify(slice)}`);
  if (!slice.endsWith('.slice') || slice.length <= '.slice'.length || slice.includes('/')) throw bad();
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  let path = '';
  let prefix = '';
  for (const part of base.split('-')) {
    if (part === '') throw bad();
    path += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return path;
}

/** "0-2,7" → the little-endian bitmask systemd's AllowedCPUs/AllowedMemoryNodes take. */
export function rangeToBits(list: string, field: string): Buffer {
  const bits: number[] = [];
  for (const part of list.trim().split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new CgroupResourceError(`${field}: invalid list ${JSON.stringify(list)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 65535) throw new CgroupResourceError(`${field}: invalid range ${JSON.stringify(part)}`);
    for (let i = lo; i <= hi; i++) bits.push(i);
  }
  const out = Buffer.alloc(Math.floor(Math.max(...bits) / 8) + 1);
  for (const b of bits) out[b >> 3]! |= 1 << (b & 7);
  return out;
}

const u64 = (v: number): bigint => (v === -1 ? UINT64_MAX : BigInt(v));

/** CPUQuotaPerSecUSec (and the period from systemd 242), as runc computes them. */
function cpuQuotaProperties(quota: number, period: number, version: number): UnitProperty[] {
  const out: UnitProperty[] = [];
  if (period !== 0 && version >= 242) out.push(prop('CPUQuotaPeriodUSec', 't', BigInt(period)));
  if (quota !== 0 || period !== 0) {
    let perSec = UINT64_MAX; // no limit
    if (quota > 0) {
      // systemd keeps a percentage: round up to the next 10 ms so that the cgroup's quota is not below the request.
      let us = Math.floor((quota * 1_000_000) / (period || DEFAULT_PERIOD));
      if (us % 10_000 !== 0) us = (Math.floor(us / 10_000) + 1) * 10_000;
      perSec = BigInt(us);
    }
    out.push(prop('CPUQuotaPerSecUSec', 't', perSec));
  }
  return out;
}

function cpusetProperties(cpus: string | undefined, mems: string | undefined, version: number): UnitProperty[] {
  if (version < 244) return []; // older systemd: only the files
  const out: UnitProperty[] = [];
  if (cpus) out.push(prop('AllowedCPUs', 'ay', rangeToBits(cpus, 'linux.resources.cpu.cpus')));
  if (mems) out.push(prop('AllowedMemoryNodes', 'ay', rangeToBits(mems, 'linux.resources.cpu.mems')));
  return out;
}

/** Major number → name, from /proc/devices ("char-pts" style names for DeviceAllow). */
function deviceNames(text: string): { c: Map<number, string>; b: Map<number, string> } {
  const out = { c: new Map<number, string>(), b: new Map<number, string>() };
  let section: 'c' | 'b' | undefined;
  for (const line of text.split('\n')) {
    if (/^Character devices:/.test(line)) section = 'c';
    else if (/^Block devices:/.test(line)) section = 'b';
    else {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m && section) out[section].set(Number(m[1]), m[2]!);
    }
  }
  return out;
}

/**
 * DevicePolicy= and DeviceAllow= for the container's device rules. An allow-list becomes
 * DevicePolicy=strict with one entry per allowed rule ("/dev/char/M:m", "char-NAME" for a
 * whole major, "char-*" for every major); a deny-list (default allow) cannot be told to
 * systemd: DevicePolicy=auto, and the file driver writes the rules.
 */
export function deviceProperties(rules: readonly DeviceRule[], procDevices: string, warn: (m: string) => void): UnitProperty[] {
  const e = DeviceEmulator.fromRules(rules);
  if (e.isBlacklist) {
    if (e.rules.size > 0) warn('linux.resources.devices: systemd has no deny-list for devices; the rules are written to the devices cgroup only');
    return [prop('DevicePolicy', 's', 'auto'), prop('DeviceAllow', 'a(ss)', [])];
  }
  const names = deviceNames(procDevices);
  const allow: Array<[string, string]> = [];
  for (const { meta, access } of e.rules.values()) {
    const kind = meta.type === 'c' ? 'char' : 'block';
    let entry: string | undefined;
    if (meta.major === -1) entry = `${kind}-*`;
    else if (meta.minor === -1) {
      const n = names[meta.type].get(meta.major);
      entry = n === undefined ? undefined : `${kind}-${n}`;
      if (entry === undefined) warn(`linux.resources.devices: ${meta.type} ${meta.major}:* has no name in /proc/devices; it is written to the devices cgroup only`);
    } else entry = `/dev/${kind}/${meta.major}:${meta.minor}`;
    if (entry !== undefined) allow.push([entry, access]);
  }
  return [prop('DevicePolicy', 's', 'strict'), prop('DeviceAllow', 'a(ss)', allow)];
}

function unifiedNumber(key: string, v: string): bigint {
  const t = v.trim();
  if (t === 'max') return UINT64_MAX;
  if (!/^\d+$/.test(t)) throw new CgroupResourceError(`linux.resources.unified: ${JSON.stringify(key)}: ${JSON.stringify(v)} is not a number or "max"`);
  return BigInt(t);
}

/** The unified entries systemd has properties for (runc's unifiedResToSystemdProps, in part). */
function unifiedProperties(unified: Record<string, string>, version: number): UnitProperty[] {
  const out: UnitProperty[] = [];
  const memory: Record<string, string> = { 'memory.min': 'MemoryMin', 'memory.low': 'MemoryLow', 'memory.high': 'MemoryHigh', 'memory.max': 'MemoryMax', 'memory.swap.max': 'MemorySwapMax' };
  for (const [k, v] of Object.entries(unified)) {
    if (memory[k]) out.push(prop(memory[k]!, 't', unifiedNumber(k, v)));
    else if (k === 'pids.max') out.push(prop('TasksMax', 't', unifiedNumber(k, v)));
    else if (k === 'cpu.weight') out.push(prop('CPUWeight', 't', unifiedNumber(k, v)));
    else if (k === 'cpu.max') {
      const [q, p] = v.trim().split(/\s+/);
      const quota = q === 'max' ? -1 : Number(q);
      const period = p === undefined ? 0 : Number(p);
      if (!Number.isInteger(quota) || !Number.isInteger(period)) throw new CgroupResourceError(`linux.resources.unified: "cpu.max": invalid value ${JSON.stringify(v)}`);
      out.push(...cpuQuotaProperties(quota, period, version));
    } else if (k === 'cpuset.cpus') out.push(...cpusetProperties(v, undefined, version));
    else if (k === 'cpuset.mems') out.push(...cpusetProperties(undefined, v, version));
  }
  return out;
}

/** The unit properties for the resources systemd manages itself (runc's gen{V1,V2}ResourcesProperties). */
export function resourceProperties(mode: 'v1' | 'v2', r: CgroupResources, version: number, warn: (m: string) => void, procDevices = ''): UnitProperty[] {
  const res: LinuxResources = r.resources;
  const out: UnitProperty[] = [];
  if (r.devices) out.push(...deviceProperties(r.devices, procDevices, warn));
  const m = res.memory;
  const limit = m?.limit ?? 0;
  if (mode === 'v1') {
    if (limit !== 0) out.push(prop('MemoryLimit', 't', u64(limit)));
    if (res.cpu?.shares) out.push(prop('CPUShares', 't', BigInt(res.cpu.shares)));
  } else {
    if (limit !== 0) out.push(prop('MemoryMax', 't', u64(limit)));
    if (m?.reservation) out.push(prop('MemoryLow', 't', u64(m.reservation)));
    if (m?.swap !== undefined && m.swap !== 0) {
      const swap = swapToV2(m.swap, limit);
      if (swap !== null) out.push(prop('MemorySwapMax', 't', u64(swap)));
    }
    if (res.cpu?.shares) out.push(prop('CPUWeight', 't', BigInt(sharesToWeight(res.cpu.shares))));
  }
  out.push(...cpuQuotaProperties(res.cpu?.quota ?? 0, res.cpu?.period ?? 0, version));
  const weight = res.blockIO?.weight ?? 0;
  if (weight !== 0) out.push(mode === 'v1' ? prop('BlockIOWeight', 't', BigInt(weight)) : prop('IOWeight', 't', BigInt(blkioToIoWeight(weight))));
  const pids = res.pids?.limit ?? 0;
  if (pids > 0 || pids === -1) out.push(prop('TasksMax', 't', u64(pids)));
  out.push(...cpusetProperties(res.cpu?.cpus, res.cpu?.mems, version));
  if (mode === 'v2' && res.unified) out.push(...unifiedProperties(res.unified, version));
  return out;
}

/** Everything StartTransientUnit gets (runc's Apply), resources included. */
export function unitProperties(unit: SystemdUnitName, description: string, pid: number, mode: 'v1' | 'v2', r: CgroupResources, version: number, warn: (m: string) => void, procDevices = ''): UnitProperty[] {
  const out: UnitProperty[] = [prop('Description', 's', description)];
  if (unit.type === 'Slice') out.push(prop('Wants', 'as', [unit.slice]));
  else out.push(prop('Slice', 's', unit.slice));
  if (pid > 0) out.push(prop('PIDs', 'au', [pid]));
  if (unit.type === 'Scope') out.push(prop('Delegate', 'b', true));
  out.push(prop('MemoryAccounting', 'b', true), prop('CPUAccounting', 'b', true), prop(mode === 'v1' ? 'BlockIOAccounting' : 'IOAccounting', 'b', true), prop('TasksAccounting', 'b', true));
  out.push(prop('DefaultDependencies', 'b', false));
  out.push(...resourceProperties(mode, r, version, warn, procDevices));
  return out;
}

function readProcDevices(): string {
  try {
    return readFileSync('/proc/devices', 'utf8');
  } catch {
    return '';
  }
}

export type SystemdManagerOptions = ManagerOptions & { layout?: CgroupLayout; target?: SystemdTarget; selfCgroup?: string };

/** A cgroup owned by a systemd unit; the files are handled by the v1/v2 driver on its directories. */
export class SystemdCgroupManager implements CgroupManager {
  readonly service: CgroupService;
  private pending: CgroupResources | undefined;
  /** systemd could not be reached by this process: nothing was started, nothing to stop. */
  private unreachable = false;
  /** A new container whose unit was never asked for (create failed before its init joined). */
  private notStarted = false;

  constructor(
    private readonly unit: SystemdUnitName,
    private inner: CgroupManager,
    private readonly layout: CgroupLayout,
    private readonly options: SystemdManagerOptions,
    private readonly id: string,
  ) {
    this.service = {
      start: (pid) => this.start(pid),
      update: (r) => this.setProperties(r),
      stop: () => this.stop(),
    };
  }

  get driver() {
    return this.inner.driver;
  }

  private get mode(): 'v1' | 'v2' {
    return this.layout.mode === 'v2' ? 'v2' : 'v1';
  }

  private warn(m: string): void {
    (this.options.warn ?? (() => undefined))(m);
  }

  private async connect(): Promise<SystemdClient> {
    try {
      return await SystemdClient.connect(this.options.target ?? systemdTarget());
    } catch (err) {
      if (err instanceof SystemdUnreachableError) this.unreachable = true;
      throw err;
    }
  }

  /** Nothing exists before the init does: the resources are checked and kept for start. */
  create(r: CgroupResources): void {
    unitProperties(this.unit, '', 1, this.mode, r, Number.MAX_SAFE_INTEGER, () => undefined); // throws on values systemd cannot take
    this.pending = r;
    this.notStarted = true;
  }

  private async start(pid: number): Promise<void> {
    this.notStarted = false;
    const r = this.pending ?? { resources: {} };
    const client = await this.connect();
    try {
      const version = await client.systemdVersion();
      const props = unitProperties(this.unit, `tsrun container ${this.id}`, pid, this.mode, r, version, (m) => this.warn(m), readProcDevices());
      let result: string;
      try {
        result = await client.startTransientUnit(this.unit.unit, props);
      } catch (err) {
        if (!isDBusError(err, 'org.freedesktop.systemd1.UnitExists')) throw err;
        // A leftover failed unit of the same name: reset it so systemd drops it, and retry once (as runc).
        await client.resetFailedUnit(this.unit.unit).catch(() => undefined);
        result = await client.startTransientUnit(this.unit.unit, props);
      }
      if (result !== 'done') {
        await client.resetFailedUnit(this.unit.unit).catch(() => undefined);
        throw new CgroupResourceError(`systemd could not start the unit ${this.unit.unit}: its job ended "${result}"`);
      }
      // Where systemd put it (its own view: the slice nesting, a systemd in a container...).
      const controlGroup = await client.unitProperty(this.unit.unit, this.unit.type, 'ControlGroup').catch(() => undefined);
      if (typeof controlGroup === 'string' && controlGroup !== '' && controlGroup !== this.cgroupPath()) {
        this.inner = newContainerCgroup({ ociVersion: '1.3.0', linux: { cgroupsPath: controlGroup } } as Spec, this.id, this.innerOptions());
      }
      // The file driver makes the directories systemd did not (v1 hierarchies it does not
      // realize), writes every resource, and moves the init into all of them.
      this.inner.create(r);
      this.inner.join(pid);
    } finally {
      client.close();
    }
  }

  private innerOptions(): ManagerOptions & { layout: CgroupLayout; selfCgroup?: string } {
    return { ...this.options, layout: this.layout };
  }

  /** The unit's cgroup path as recorded by the file driver (its cgroup2 or name=systemd directory). */
  private cgroupPath(): string | undefined {
    const { paths, mounts } = this.inner.record();
    for (const k of ['', 'name=systemd', 'memory', 'devices']) {
      if (paths[k] !== undefined && mounts[k] !== undefined) return '/' + posix.relative(mounts[k]!, paths[k]!);
    }
    return undefined;
  }

  private async setProperties(r: CgroupResources): Promise<void> {
    const client = await this.connect();
    try {
      const version = await client.systemdVersion();
      const props = resourceProperties(this.mode, r, version, (m) => this.warn(m), readProcDevices());
      if (props.length > 0) await client.setUnitProperties(this.unit.unit, props);
    } finally {
      client.close();
    }
  }

  private async stop(): Promise<void> {
    if (this.unreachable || this.notStarted) return;
    let client: SystemdClient;
    try {
      client = await this.connect();
    } catch (err) {
      this.warn(`the systemd unit ${this.unit.unit} may be left behind: ${(err as Error).message}`);
      return;
    }
    try {
      try {
        const result = await client.stopUnit(this.unit.unit);
        if (result !== 'done') this.warn(`stopping the systemd unit ${this.unit.unit}: its job ended "${result}"`);
      } catch (err) {
        if (!isDBusError(err, 'org.freedesktop.systemd1.NoSuchUnit')) this.warn(`stopping the systemd unit ${this.unit.unit}: ${(err as Error).message}`);
      }
      // A failed unit stays until reset (runc does the same).
      await client.resetFailedUnit(this.unit.unit).catch(() => undefined);
    } finally {
      client.close();
    }
  }

  join(pid: number): void {
    this.inner.join(pid);
  }
  update(r: CgroupResources, current: LinuxResources): void {
    this.inner.update(r, current);
  }
  freeze(): void {
    this.inner.freeze();
  }
  thaw(): void {
    this.inner.thaw();
  }
  isFrozen(): boolean {
    return this.inner.isFrozen();
  }
  /** systemd removes the unit's directories by itself once the cgroup is empty: gone is empty. */
  pids(): number[] {
    return goneIsEmpty(() => this.inner.pids(), []);
  }
  killAll(signal: number): void {
    goneIsEmpty(() => this.inner.killAll(signal), undefined);
  }
  stats(): CgroupStats {
    return this.inner.stats();
  }
  oomKillCount(): number | null {
    return this.inner.oomKillCount();
  }
  exists(): boolean {
    return goneIsEmpty(() => this.inner.exists(), false);
  }
  destroy(): void {
    this.inner.destroy();
  }
  record(): CgroupRecord {
    const rec = this.inner.record();
    if (this.pending && rec.resources === undefined && isSet(this.pending.resources)) rec.resources = JSON.parse(JSON.stringify(this.pending.resources)) as LinuxResources;
    return { ...rec, systemd: { unit: this.unit.unit, slice: this.unit.slice } };
  }
}

function goneIsEmpty<T>(fn: () => T, empty: T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CgroupFileError && err.code === 'ENOENT') return empty;
    throw err;
  }
}

/** The driver for a new container: its unit from linux.cgroupsPath, its directories as systemd will name them. */
export function newSystemdCgroup(spec: Spec, id: string, options: SystemdManagerOptions = {}): SystemdCgroupManager {
  const extra = Object.keys(spec.annotations ?? {}).find((k) => k.startsWith('org.systemd.property.'));
  if (extra !== undefined) throw new CgroupResourceError(`annotations: ${JSON.stringify(extra)}: unit properties from annotations are not supported by tsrun's systemd driver`);
  const unit = parseSystemdCgroupsPath(spec.linux?.cgroupsPath, id);
  const layout = options.layout ?? hostLayout();
  const dir = unit.type === 'Slice' ? expandSlice(unit.unit) : posix.join(expandSlice(unit.slice), unit.unit);
  const inner = newContainerCgroup({ ...spec, linux: { ...spec.linux, cgroupsPath: dir } }, id, { ...options, layout });
  return new SystemdCgroupManager(unit, inner, layout, { ...options, layout }, id);
}

/** The driver of an existing container, from its state record. */
export function loadSystemdCgroup(record: CgroupRecord, options: SystemdManagerOptions = {}): SystemdCgroupManager {
  const sd = record.systemd;
  if (!sd) throw new CgroupResourceError('state.json: cgroup record without a systemd unit');
  const { systemd: _sd, ...files } = record;
  void _sd;
  const unit: SystemdUnitName = { ...sd, type: sd.unit.endsWith('.slice') ? 'Slice' : 'Scope' };
  const layout = options.layout ?? (record.driver === 'v2' ? { mode: 'v2' as const, v1: [] } : { mode: 'hybrid' as const, v1: [] });
  return new SystemdCgroupManager(unit, loadCgroup(files, options), layout, options, sd.unit);
}
