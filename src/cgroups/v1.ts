// The cgroup v1 driver (also for the hybrid layout), modelled on runc 1.1.5's fs manager: one
// directory per hierarchy, resources written controller by controller in runc's order
// (cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma), every value
// with a single write. In the hybrid layout the same path is also made and joined in the
// cgroup2 hierarchy (as runc does), and what only cgroup2 has there is applied there: huge
// page limits when hugetlb is bound to cgroup2 (this machine), and the `unified` map.
import { join, posix } from 'node:path';
import { withTiedSettings } from './update';
import type { LinuxResources } from '../spec';
import { CgroupFileError, readNumber, removeCgroupDir, writePid } from './fs';
import { sleepMs } from '../linux/sleep';
import { DeviceEmulator } from './devices';
import {
  CgroupResourceError,
  emptyStats,
  omitZero,
  type CgroupManager,
  type CgroupRecord,
  type CgroupResources,
  type CgroupStats,
  type MemoryEntry,
} from './manager';
import {
  allPids,
  checkUnifiedKey,
  hugePageSize,
  isSet,
  keyValues,
  numberOrZero,
  parseBlkioStat,
  parseCpuList,
  rdmaString,
  readOptional,
  removeMadeDirs,
  signalAllFrozen,
  throttleString,
  uniqueDirs,
  type DriverOptions,
} from './common';
import { V1_CONTROLLERS } from './layout';

/** USER_HZ, the unit of cpuacct.stat. */
const CLOCK_TICKS = 100;
const ORDER: readonly string[] = [...V1_CONTROLLERS, ''];

export class CgroupV1Manager implements CgroupManager {
  readonly driver = 'v1' as const;

  constructor(
    private readonly paths: Record<string, string>,
    /** The mount point of each key's hierarchy (same keys as paths). */
    private readonly mounts: Record<string, string>,
    private readonly opts: DriverOptions,
    private resources?: LinuxResources,
  ) {}

  private get fs() {
    return this.opts.fs;
  }

  record(): CgroupRecord {
    return { driver: 'v1', paths: { ...this.paths }, mounts: { ...this.mounts }, resources: this.resources };
  }

  /** The directory of a controller, or an error naming the setting that needs it. */
  private need(controller: string, field: string): string {
    const dir = this.paths[controller];
    if (dir === undefined) {
      throw new CgroupResourceError(`${field}: cannot set ${controller} limit: the ${controller} cgroup controller is not mounted on this host`);
    }
    return dir;
  }

  create(r: CgroupResources): void {
    const made: string[] = [];
    try {
      for (const { keys, dir } of uniqueDirs(this.paths, ORDER)) {
        const mount = this.mounts[keys[0]!] ?? posix.dirname(dir);
        try {
          this.makeDir(dir, mount, keys.includes('cpuset'), made);
        } catch (err) {
          // runc joins name=systemd best-effort; without its directory the container just
          // is not in that hierarchy.
          if (keys.every((k) => k.startsWith('name='))) {
            for (const k of keys) delete this.paths[k];
            continue;
          }
          throw err;
        }
      }
      if (this.paths.devices === undefined) {
        // runc: the devices controller is a hard requirement for the container's security.
        throw new CgroupResourceError('the devices cgroup controller is not mounted: refusing to create a container without device access control');
      }
      this.apply(r, r.resources, false);
      this.resources = stripDevices(r.resources);
    } catch (err) {
      removeMadeDirs(this.fs, made);
      throw err;
    }
  }

  /** mkdir -p from the mount; in cpuset every level gets its parent's cpus/mems if empty. */
  private makeDir(dir: string, mount: string, cpuset: boolean, made: string[]): void {
    const rel = posix.relative(mount, dir);
    if (rel.startsWith('..') || posix.isAbsolute(rel)) throw new CgroupResourceError(`cgroup directory ${dir} is outside its hierarchy ${mount}`);
    let current = mount;
    for (const part of rel.split('/').filter((p) => p !== '')) {
      const parent = current;
      current = posix.join(current, part);
      if (this.fs.mkdir(current)) made.push(current);
      if (cpuset) this.copyCpuset(current, parent);
    }
  }

  private copyCpuset(dir: string, parent: string): void {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (this.fs.read(dir, file).trim() === '') this.fs.write(dir, file, this.fs.read(parent, file).trim());
    }
  }

  join(pid: number): void {
    for (const { keys, dir } of uniqueDirs(this.paths, ORDER)) {
      try {
        writePid(this.fs, dir, pid);
      } catch (err) {
        if (keys.every((k) => k.startsWith('name='))) continue; // best effort, as runc
        throw err;
      }
    }
  }

  update(r: CgroupResources, current: LinuxResources): void {
    // The kernel ties some values together in v1 as in v2 (update.ts withTiedSettings); on v1 the
    // memory part only rewrites memsw with the total it already has.
    this.apply({ ...r, resources: withTiedSettings(r.resources, current) }, current, true);
    this.resources = stripDevices(current);
  }

  private apply(r: CgroupResources, current: LinuxResources, updating: boolean): void {
    const res = r.resources;
    const f = 'linux.resources';
    withField(`${f}.cpu`, () => this.setCpuset(res));
    if (r.devices) withField(`${f}.devices`, () => this.setDevices(r));
    withField(`${f}.memory`, () => this.setMemory(res, current, updating));
    withField(`${f}.cpu`, () => this.setCpu(res));
    withField(`${f}.pids`, () => this.setPids(res));
    withField(`${f}.blockIO`, () => this.setBlkio(res));
    withField(`${f}.hugepageLimits`, () => this.setHugetlb(res));
    withField(`${f}.network`, () => this.setNetwork(res));
    withField(`${f}.rdma`, () => this.setRdma(res));
    withField(`${f}.unified`, () => this.setUnified(res));
  }

  private setCpuset(res: LinuxResources): void {
    const c = res.cpu;
    if (c?.cpus) this.fs.write(this.need('cpuset', 'linux.resources.cpu.cpus'), 'cpuset.cpus', c.cpus);
    if (c?.mems) this.fs.write(this.need('cpuset', 'linux.resources.cpu.mems'), 'cpuset.mems', c.mems);
  }

  private setDevices(r: CgroupResources): void {
    const dir = this.need('devices', 'linux.resources.devices');
    const current = DeviceEmulator.fromList(this.fs.read(dir, 'devices.list'));
    const target = DeviceEmulator.fromRules(r.devices ?? []);
    for (const rule of current.transition(target)) {
      this.fs.write(dir, rule.allow ? 'devices.allow' : 'devices.deny', `${rule.type} ${rule.major < 0 ? '*' : rule.major}:${rule.minor < 0 ? '*' : rule.minor} ${rule.access}`);
    }
    // runc's final check: the kernel must now be in exactly the requested state.
    const after = DeviceEmulator.fromList(this.fs.read(dir, 'devices.list'));
    if (!target.isBlacklist && !after.equals(target)) throw new CgroupResourceError(`linux.resources.devices: the devices cgroup ${dir} does not match the requested rules after writing them`);
    if (target.isBlacklist !== after.isBlacklist) throw new CgroupResourceError(`linux.resources.devices: the devices cgroup ${dir} is not in the requested mode after writing the rules`);
  }

  private setMemory(res: LinuxResources, current: LinuxResources, updating: boolean): void {
    const m = res.memory;
    if (!isSet(m) || !m) return;
    const dir = this.need('memory', 'linux.resources.memory');
    const limit = m.limit ?? 0;
    let swap = m.swap ?? 0;
    if (updating && current.memory?.checkBeforeUpdate && limit > 0) {
      const usage = readNumber(this.fs, dir, 'memory.usage_in_bytes');
      if (usage > limit) throw new CgroupResourceError(`linux.resources.memory.limit: the new limit ${limit} is below the current usage ${usage} (checkBeforeUpdate)`);
    }
    // runc's setMemoryAndSwap: an unlimited memory limit with no swap setting also lifts swap,
    // and when the new swap limit is above the current memory limit, swap is written first
    // (memory.limit_in_bytes must never exceed memory.memsw.limit_in_bytes).
    if (limit === -1 && swap === 0 && this.fs.exists(join(dir, 'memory.memsw.limit_in_bytes'))) swap = -1;
    let swapFirst = false;
    if (limit !== 0 && swap !== 0) {
      const curLimit = readNumber(this.fs, dir, 'memory.limit_in_bytes');
      swapFirst = swap === -1 || curLimit < swap;
    }
    if (swapFirst) {
      this.setSwap(dir, swap);
      this.setMemoryLimit(dir, limit);
    } else {
      this.setMemoryLimit(dir, limit);
      this.setSwap(dir, swap);
    }
    if (m.reservation !== undefined && m.reservation !== 0) this.fs.write(dir, 'memory.soft_limit_in_bytes', String(m.reservation));
    if (m.disableOOMKiller !== undefined && (m.disableOOMKiller || updating)) this.fs.write(dir, 'memory.oom_control', m.disableOOMKiller ? '1' : '0');
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      if (m.swappiness < 0 || m.swappiness > 100) throw new CgroupResourceError(`linux.resources.memory.swappiness: invalid value ${m.swappiness} (valid range is 0-100)`);
      this.fs.write(dir, 'memory.swappiness', String(m.swappiness));
    }
    if (m.kernel !== undefined && m.kernel !== 0) {
      // Kernel 5.16+ accepts and ignores memory.kmem.limit_in_bytes; runc ignores it too.
      this.opts.warn('linux.resources.memory.kernel: kernel memory limits are ignored (deprecated by the kernel, as runc does)');
    }
    if (m.kernelTCP !== undefined && m.kernelTCP !== 0) {
      if (this.fs.exists(join(dir, 'memory.kmem.tcp.limit_in_bytes'))) this.fs.write(dir, 'memory.kmem.tcp.limit_in_bytes', String(m.kernelTCP));
      else this.opts.warn('linux.resources.memory.kernelTCP: this kernel has no memory.kmem.tcp.limit_in_bytes; ignored');
    }
    if (m.useHierarchy !== undefined) this.fs.write(dir, 'memory.use_hierarchy', m.useHierarchy ? '1' : '0');
  }

  private setMemoryLimit(dir: string, limit: number): void {
    if (limit === 0) return;
    try {
      this.fs.write(dir, 'memory.limit_in_bytes', String(limit));
    } catch (err) {
      if (err instanceof CgroupFileError && err.code === 'EBUSY') {
        const usage = readNumber(this.fs, dir, 'memory.usage_in_bytes');
        const max = readNumber(this.fs, dir, 'memory.max_usage_in_bytes');
        throw new CgroupResourceError(`linux.resources.memory.limit: unable to set memory limit to ${limit} (current usage: ${usage}, peak usage: ${max})`);
      }
      if (err instanceof CgroupFileError && err.code === 'EINVAL' && this.fs.exists(join(dir, 'memory.memsw.limit_in_bytes'))) {
        const memsw = this.fs.read(dir, 'memory.memsw.limit_in_bytes').trim();
        throw new CgroupResourceError(`linux.resources.memory.limit: ${err.message} (the memory limit cannot exceed the memory+swap limit, now ${memsw}: set memory.swap too)`);
      }
      throw err;
    }
  }

  private setSwap(dir: string, swap: number): void {
    if (swap === 0) return;
    try {
      this.fs.write(dir, 'memory.memsw.limit_in_bytes', String(swap));
    } catch (err) {
      if (err instanceof CgroupFileError && err.code === 'EINVAL') {
        throw new CgroupResourceError(`linux.resources.memory.swap: ${err.message} (memory+swap must be at least the memory limit)`);
      }
      throw err;
    }
  }

  private setCpu(res: LinuxResources): void {
    const c = res.cpu;
    if (!c) return;
    const field = 'linux.resources.cpu';
    if (c.shares !== undefined && c.shares !== 0) {
      const dir = this.need('cpu', `${field}.shares`);
      this.fs.write(dir, 'cpu.shares', String(c.shares));
      const got = readNumber(this.fs, dir, 'cpu.shares');
      if (c.shares > got) throw new CgroupResourceError(`${field}.shares: the maximum allowed cpu-shares is ${got}`);
      if (c.shares < got) throw new CgroupResourceError(`${field}.shares: the minimum allowed cpu-shares is ${got}`);
    }
    // runc: a period that the kernel refuses with EINVAL (below the current quota's needs) is
    // written again after the quota.
    let period = '';
    if (c.period !== undefined && c.period !== 0) {
      const dir = this.need('cpu', `${field}.period`);
      period = String(c.period);
      try {
        this.fs.write(dir, 'cpu.cfs_period_us', period);
        period = '';
      } catch (err) {
        if (!(err instanceof CgroupFileError && err.code === 'EINVAL') || !c.quota) throw err;
      }
    }
    if (c.quota !== undefined && c.quota !== 0) {
      const dir = this.need('cpu', `${field}.quota`);
      this.fs.write(dir, 'cpu.cfs_quota_us', String(c.quota));
      if (period !== '') this.fs.write(dir, 'cpu.cfs_period_us', period);
    }
    if (c.burst !== undefined) this.fs.write(this.need('cpu', `${field}.burst`), 'cpu.cfs_burst_us', String(c.burst));
    if (c.idle !== undefined) this.fs.write(this.need('cpu', `${field}.idle`), 'cpu.idle', String(c.idle));
    if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) this.fs.write(this.need('cpu', `${field}.realtimePeriod`), 'cpu.rt_period_us', String(c.realtimePeriod));
    if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) this.fs.write(this.need('cpu', `${field}.realtimeRuntime`), 'cpu.rt_runtime_us', String(c.realtimeRuntime));
  }

  private setPids(res: LinuxResources): void {
    const limit = res.pids?.limit;
    if (limit === undefined) return;
    this.fs.write(this.need('pids', 'linux.resources.pids.limit'), 'pids.max', limit < 0 ? 'max' : String(limit));
  }

  private setBlkio(res: LinuxResources): void {
    const b = res.blockIO;
    if (!isSet(b) || !b) return;
    const field = 'linux.resources.blockIO';
    const dir = this.need('blkio', field);
    // runc's detectWeightFilenames: CFQ's blkio.weight, else BFQ's blkio.bfq.weight.
    const bfq = !this.fs.exists(join(dir, 'blkio.weight')) && this.fs.exists(join(dir, 'blkio.bfq.weight'));
    const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
    const weightDeviceFile = bfq ? 'blkio.bfq.weight_device' : 'blkio.weight_device';
    const noWeight = (what: string) =>
      new CgroupResourceError(`${field}.${what}: ${dir} has neither blkio.weight nor blkio.bfq.weight (no proportional-weight I/O scheduler for this cgroup on this host)`);
    if (b.weight !== undefined && b.weight !== 0) {
      if (!bfq && !this.fs.exists(join(dir, 'blkio.weight'))) throw noWeight('weight');
      this.fs.write(dir, weightFile, String(b.weight));
    }
    if (b.leafWeight !== undefined && b.leafWeight !== 0) this.fs.write(dir, 'blkio.leaf_weight', String(b.leafWeight));
    (b.weightDevice ?? []).forEach((wd) => {
      if (wd.weight !== undefined && wd.weight !== 0) {
        if (!this.fs.exists(join(dir, weightDeviceFile))) throw noWeight('weightDevice');
        this.fs.write(dir, weightDeviceFile, `${wd.major}:${wd.minor} ${wd.weight}`);
      }
      if (wd.leafWeight !== undefined && wd.leafWeight !== 0) this.fs.write(dir, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`);
    });
    for (const [list, file] of [
      [b.throttleReadBpsDevice, 'blkio.throttle.read_bps_device'],
      [b.throttleWriteBpsDevice, 'blkio.throttle.write_bps_device'],
      [b.throttleReadIOPSDevice, 'blkio.throttle.read_iops_device'],
      [b.throttleWriteIOPSDevice, 'blkio.throttle.write_iops_device'],
    ] as const) {
      for (const d of list ?? []) this.fs.write(dir, file, throttleString(d));
    }
  }

  private setHugetlb(res: LinuxResources): void {
    const limits = res.hugepageLimits ?? [];
    if (limits.length === 0) return;
    const sizes = this.opts.hugePageSizes();
    const v1 = this.paths.hugetlb;
    const unified = this.paths[''];
    if (v1 === undefined && (unified === undefined || !this.unifiedHas('hugetlb'))) {
      throw new CgroupResourceError('linux.resources.hugepageLimits: cannot set hugetlb limit: the hugetlb cgroup controller is available neither as cgroup v1 nor in the cgroup2 hierarchy');
    }
    if (v1 === undefined) this.enableUnifiedController('hugetlb');
    limits.forEach((l, i) => {
      const size = hugePageSize(l.pageSize, sizes, i);
      const [dir, file, rsvd] =
        v1 !== undefined
          ? [v1, `hugetlb.${size}.limit_in_bytes`, `hugetlb.${size}.rsvd.limit_in_bytes`]
          : [unified!, `hugetlb.${size}.max`, `hugetlb.${size}.rsvd.max`];
      this.fs.write(dir, file, String(l.limit));
      if (this.fs.exists(join(dir, rsvd))) this.fs.write(dir, rsvd, String(l.limit));
    });
  }

  /** Whether the cgroup2 hierarchy (hybrid) has `controller` available at its root. */
  private unifiedHas(controller: string): boolean {
    const mount = this.mounts[''];
    if (mount === undefined) return false;
    const text = readOptional(this.fs, mount, 'cgroup.controllers') ?? '';
    return text.trim().split(/\s+/).includes(controller);
  }

  /** Enables a controller in cgroup.subtree_control from the cgroup2 root down to our parent. */
  private enableUnifiedController(controller: string): void {
    const mount = this.mounts['']!;
    const dir = this.paths['']!;
    let current = mount;
    for (const part of posix.relative(mount, dir).split('/').filter((p) => p !== '')) {
      const enabled = this.fs.read(current, 'cgroup.subtree_control').trim().split(/\s+/);
      if (!enabled.includes(controller)) this.fs.write(current, 'cgroup.subtree_control', `+${controller}`);
      current = posix.join(current, part);
    }
  }

  private setNetwork(res: LinuxResources): void {
    const n = res.network;
    if (!n) return;
    if (n.classID !== undefined && n.classID !== 0) this.fs.write(this.need('net_cls', 'linux.resources.network.classID'), 'net_cls.classid', String(n.classID));
    for (const p of n.priorities ?? []) this.fs.write(this.need('net_prio', 'linux.resources.network.priorities'), 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
  }

  private setRdma(res: LinuxResources): void {
    const entries = Object.entries(res.rdma ?? {});
    if (entries.length === 0) return;
    const dir = this.need('rdma', 'linux.resources.rdma');
    for (const [device, limits] of entries) this.fs.write(dir, 'rdma.max', rdmaString(device, limits));
  }

  private setUnified(res: LinuxResources): void {
    const entries = Object.entries(res.unified ?? {});
    if (entries.length === 0) return;
    const dir = this.paths[''];
    if (dir === undefined) throw new CgroupResourceError('linux.resources.unified: cannot be used on a cgroup v1 host (no cgroup2 hierarchy)');
    for (const [k, v] of entries) {
      checkUnifiedKey(k);
      try {
        this.fs.write(dir, k, v);
      } catch (err) {
        if (err instanceof CgroupFileError && err.code === 'ENOENT') {
          throw new CgroupResourceError(`linux.resources.unified: ${JSON.stringify(k)} can't be set: no such file in the cgroup2 hierarchy of this hybrid host (${dir}); its controller is a cgroup v1 controller here`);
        }
        throw err;
      }
    }
  }

  // ----- freezer

  freeze(): void {
    const dir = this.paths.freezer;
    if (dir === undefined) throw new CgroupResourceError('cannot freeze the container: the freezer cgroup controller is not mounted on this host');
    // runc: keep asking until FROZEN; FREEZING can last while tasks are in uninterruptible sleep,
    // and briefly thawing now and then lets a stuck freeze make progress.
    try {
      for (let i = 0; i < 1000; i++) {
        if (i % 50 === 49) {
          this.fs.write(dir, 'freezer.state', 'THAWED');
          sleepMs(10);
        }
        this.fs.write(dir, 'freezer.state', 'FROZEN');
        if (i % 25 === 24) sleepMs(1);
        const state = this.fs.read(dir, 'freezer.state').trim();
        if (state === 'FROZEN') return;
        if (state !== 'FREEZING') throw new CgroupResourceError(`unexpected freezer state ${state} while freezing ${dir}`);
      }
      throw new CgroupResourceError(`unable to freeze ${dir}`);
    } catch (err) {
      try {
        this.fs.write(dir, 'freezer.state', 'THAWED');
      } catch {
        // the freeze error is the one to report
      }
      throw err;
    }
  }

  thaw(): void {
    const dir = this.paths.freezer;
    if (dir === undefined) return;
    this.fs.write(dir, 'freezer.state', 'THAWED');
  }

  isFrozen(): boolean {
    const dir = this.paths.freezer;
    if (dir === undefined) return false;
    return v1Frozen(this.fs, dir);
  }

  // ----- processes

  pids(): number[] {
    const dir = this.paths.devices ?? this.paths.freezer ?? Object.values(this.paths)[0];
    return dir === undefined ? [] : allPids(this.fs, dir);
  }

  killAll(signal: number): void {
    if (this.paths.freezer !== undefined) {
      signalAllFrozen(this, this.opts, signal);
      return;
    }
    for (const pid of this.pids()) this.opts.kill(pid, signal);
  }

  exists(): boolean {
    const dir = this.paths.devices ?? Object.values(this.paths)[0];
    return dir !== undefined && this.fs.exists(dir);
  }

  destroy(): void {
    const errors: string[] = [];
    for (const { dir } of uniqueDirs(this.paths, ORDER)) {
      try {
        removeCgroupDir(this.fs, dir);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new CgroupResourceError(`cannot remove the container's cgroup: ${errors.join('; ')}`);
  }

  oomKillCount(): number | null {
    const dir = this.paths.memory;
    if (dir === undefined) return null;
    const kv = keyValues(readOptional(this.fs, dir, 'memory.oom_control'));
    return kv.oom_kill ?? null;
  }

  // ----- statistics (runc's fs GetStats)

  stats(): CgroupStats {
    const s = emptyStats();
    const fs = this.fs;
    const cpuacct = this.paths.cpuacct;
    if (cpuacct !== undefined) {
      const list = (f: string) => (readOptional(fs, cpuacct, f) ?? '').trim().split(/\s+/).filter((x) => x !== '').map(Number);
      const st = keyValues(readOptional(fs, cpuacct, 'cpuacct.stat'));
      s.cpu.usage = {
        total: numberOrZero(readOptional(fs, cpuacct, 'cpuacct.usage')),
        percpu: list('cpuacct.usage_percpu'),
        percpu_kernel: list('cpuacct.usage_percpu_sys'),
        percpu_user: list('cpuacct.usage_percpu_user'),
        kernel: ((st.system ?? 0) * 1e9) / CLOCK_TICKS,
        user: ((st.user ?? 0) * 1e9) / CLOCK_TICKS,
      };
      s.cpu.usage = { ...omitZero(s.cpu.usage), kernel: s.cpu.usage.kernel, user: s.cpu.usage.user };
    }
    if (this.paths.cpu !== undefined) {
      const st = keyValues(readOptional(fs, this.paths.cpu, 'cpu.stat'));
      s.cpu.throttling = omitZero({ periods: st.nr_periods, throttledPeriods: st.nr_throttled, throttledTime: st.throttled_time });
    }
    const cpuset = this.paths.cpuset;
    if (cpuset !== undefined) {
      const n = (f: string) => numberOrZero(readOptional(fs, cpuset, `cpuset.${f}`));
      s.cpuset = {
        ...omitZero({ cpus: parseCpuList(readOptional(fs, cpuset, 'cpuset.cpus') ?? ''), mems: parseCpuList(readOptional(fs, cpuset, 'cpuset.mems') ?? '') }),
        cpu_exclusive: n('cpu_exclusive'),
        mem_hardwall: n('mem_hardwall'),
        mem_exclusive: n('mem_exclusive'),
        memory_migrate: n('memory_migrate'),
        memory_spread_page: n('memory_spread_page'),
        memory_spread_slab: n('memory_spread_slab'),
        memory_pressure: n('memory_pressure'),
        sched_load_balance: n('sched_load_balance'),
        sched_relax_domain_level: Number((readOptional(fs, cpuset, 'cpuset.sched_relax_domain_level') ?? '0').trim()) || 0,
      };
    }
    const mem = this.paths.memory;
    if (mem !== undefined) {
      const raw = keyValues(readOptional(fs, mem, 'memory.stat'));
      const entry = (prefix: string): MemoryEntry => {
        const usage = readOptional(fs, mem, `${prefix}.usage_in_bytes`);
        if (usage === undefined) return { limit: 0, failcnt: 0 };
        return {
          limit: numberOrZero(readOptional(fs, mem, `${prefix}.limit_in_bytes`)),
          ...omitZero({ usage: numberOrZero(usage), max: numberOrZero(readOptional(fs, mem, `${prefix}.max_usage_in_bytes`)) }),
          failcnt: numberOrZero(readOptional(fs, mem, `${prefix}.failcnt`)),
        };
      };
      s.memory = { ...omitZero({ cache: raw.cache }), usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTCP: entry('memory.kmem.tcp'), raw };
    }
    if (this.paths.pids !== undefined) {
      s.pids = omitZero({ current: numberOrZero(readOptional(fs, this.paths.pids, 'pids.current')), limit: numberOrZero(readOptional(fs, this.paths.pids, 'pids.max')) });
    }
    const blkio = this.paths.blkio;
    if (blkio !== undefined) {
      // CFQ files, else BFQ's, else the throttling files (runc's order).
      for (const prefix of ['blkio.', 'blkio.bfq.', 'blkio.throttle.']) {
        const bytes = readOptional(fs, blkio, `${prefix}io_service_bytes_recursive`);
        if (bytes === undefined) continue;
        s.blkio = omitZero({
          ioServiceBytesRecursive: parseBlkioStat(bytes),
          ioServicedRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}io_serviced_recursive`) ?? ''),
          ioQueueRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}io_queued_recursive`) ?? ''),
          ioServiceTimeRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}io_service_time_recursive`) ?? ''),
          ioWaitTimeRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}io_wait_time_recursive`) ?? ''),
          ioMergedRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}io_merged_recursive`) ?? ''),
          ioTimeRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}time_recursive`) ?? ''),
          sectorsRecursive: parseBlkioStat(readOptional(fs, blkio, `${prefix}sectors_recursive`) ?? ''),
        });
        break;
      }
    }
    for (const size of this.opts.hugePageSizes()) {
      if (this.paths.hugetlb !== undefined) {
        const d = this.paths.hugetlb;
        s.hugetlb[size] = {
          ...omitZero({ usage: numberOrZero(readOptional(fs, d, `hugetlb.${size}.usage_in_bytes`)), max: numberOrZero(readOptional(fs, d, `hugetlb.${size}.max_usage_in_bytes`)) }),
          failcnt: numberOrZero(readOptional(fs, d, `hugetlb.${size}.failcnt`)),
        };
      } else if (this.paths[''] !== undefined && readOptional(fs, this.paths[''], `hugetlb.${size}.current`) !== undefined) {
        const d = this.paths[''];
        s.hugetlb[size] = {
          ...omitZero({ usage: numberOrZero(readOptional(fs, d, `hugetlb.${size}.current`)) }),
          failcnt: keyValues(readOptional(fs, d, `hugetlb.${size}.events`)).max ?? 0,
        };
      }
    }
    return s;
  }
}

/** Runs a setter; a file error gets the config field in front of its message (same error object). */
export function withField(field: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof CgroupFileError && !err.message.startsWith('linux.resources')) err.message = `${field}: ${err.message}`;
    throw err;
  }
}

/** runc's GetState: FROZEN counts only when this cgroup itself was frozen (self_freezing). */
export function v1Frozen(fs: DriverOptions['fs'], dir: string): boolean {
  for (let i = 0; i < 1000; i++) {
    const state = readOptional(fs, dir, 'freezer.state');
    if (state === undefined) return false;
    const t = state.trim();
    if (t === 'THAWED') return false;
    if (t === 'FROZEN') {
      const self = readOptional(fs, dir, 'freezer.self_freezing');
      return self === undefined ? true : self.trim() === '1';
    }
    sleepMs(1); // FREEZING
  }
  return true;
}

/** A copy of the resources without the device list (what the record keeps). */
export function stripDevices(r: LinuxResources): LinuxResources {
  const copy = JSON.parse(JSON.stringify(r)) as LinuxResources;
  delete copy.devices;
  return copy;
}
