// The cgroup v2 driver (one cgroup2 hierarchy), modelled on runc's fs2 manager: the path is
// made level by level from the mount with every available controller enabled in each
// ancestor's cgroup.subtree_control, resources are written in runc's order (pids, memory, io,
// cpu, devices, cpuset, hugetlb, rdma, unified), devices are enforced by a BPF program
// attached to the directory (bpf.ts), the freezer is cgroup.freeze and kill-all cgroup.kill.
import { posix } from 'node:path';
import type { LinuxResources } from '../spec';
import type { Syscalls } from '../linux/syscalls';
import { SIGKILL } from '../linux/constants';
import { CgroupFileError, readNumber, removeCgroupDir, writePid } from './fs';
import { sleepMs } from '../linux/sleep';
import { attachDeviceFilter } from './bpf';
import { CgroupResourceError, emptyStats, omitZero, type BlkioEntry, type CgroupManager, type CgroupRecord, type CgroupResources, type CgroupStats } from './manager';
import { allPids, checkUnifiedKey, hugePageSize, isSet, keyValues, numberOrZero, parseCpuList, rdmaString, readOptional, removeMadeDirs, signalAllFrozen, throttleString, type DriverOptions } from './common';
import { stripDevices, withField } from './v1';
import { withTiedSettings } from './update';

/** runc's ConvertCPUSharesToCgroupV2Value: shares 2..262144 onto weight 1..10000. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's ConvertBlkIOToIOWeightValue: blkio weight 10..1000 onto io.weight 1..10000. */
export function blkioToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * runc's ConvertMemorySwapToCgroupV2Value: OCI swap is memory+swap; memory.swap.max is swap only.
 * Returns null for "leave unchanged", -1 for "max".
 */
export function swapToV2(swap: number, memory: number): number | null {
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1) return -1;
  if (swap === 0) return null;
  if (memory === 0 || memory === -1) throw new CgroupResourceError('linux.resources.memory.swap: unable to set a swap limit without a memory limit');
  if (memory < 0) throw new CgroupResourceError(`linux.resources.memory.limit: invalid memory value ${memory}`);
  if (swap < memory) throw new CgroupResourceError('linux.resources.memory.swap: memory+swap limit should be >= memory limit');
  return swap - memory;
}

const max = (v: number) => (v === -1 ? 'max' : String(v));

export class CgroupV2Manager implements CgroupManager {
  readonly driver = 'v2' as const;

  constructor(
    private readonly dir: string,
    private readonly mount: string,
    private readonly opts: DriverOptions & { sys: () => Syscalls },
    private resources?: LinuxResources,
  ) {}

  private get fs() {
    return this.opts.fs;
  }

  record(): CgroupRecord {
    return { driver: 'v2', paths: { '': this.dir }, mounts: { '': this.mount }, resources: this.resources };
  }

  private controllers(dir = this.mount): string[] {
    return (readOptional(this.fs, dir, 'cgroup.controllers') ?? '').trim().split(/\s+/).filter((c) => c !== '');
  }

  create(r: CgroupResources): void {
    const made: string[] = [];
    try {
      this.makePath(r.resources, made);
      this.apply(r, r.resources, false);
      this.resources = stripDevices(r.resources);
    } catch (err) {
      removeMadeDirs(this.fs, made);
      throw err;
    }
  }

  /** runc's CreateCgroupPath. */
  private makePath(res: LinuxResources, made: string[]): void {
    const rel = posix.relative(this.mount, this.dir);
    if (rel === '' || rel.startsWith('..') || posix.isAbsolute(rel)) throw new CgroupResourceError(`cgroup directory ${this.dir} is not below the cgroup2 mount ${this.mount}`);
    const parts = rel.split('/');
    const all = this.controllers();
    const domain = isSet(res.memory) || isSet(res.blockIO) || isSet(res.cpu) || isSet(res.hugepageLimits);
    let current = this.mount;
    for (let i = 0; i <= parts.length; i++) {
      if (i > 0) {
        current = posix.join(current, parts[i - 1]!);
        if (this.fs.mkdir(current)) made.push(current);
        const type = (readOptional(this.fs, current, 'cgroup.type') ?? '').trim();
        if (type === 'domain invalid') {
          if (domain) throw new CgroupResourceError(`cannot enter cgroup v2 ${current} with domain controllers: it is in an invalid state`);
          this.fs.write(current, 'cgroup.type', 'threaded');
        } else if ((type === 'domain threaded' || type === 'threaded') && domain) {
          throw new CgroupResourceError(`cannot enter cgroup v2 ${current} with domain controllers: it is in ${type} mode`);
        }
      }
      if (i < parts.length && all.length > 0) {
        try {
          this.fs.write(current, 'cgroup.subtree_control', all.map((c) => '+' + c).join(' '));
        } catch {
          // one by one: a controller that cannot be enabled here (processes in this cgroup,
          // threaded mode) shows up later as a missing file when a resource needs it
          for (const c of all) {
            try {
              this.fs.write(current, 'cgroup.subtree_control', '+' + c);
            } catch {
              // see above
            }
          }
        }
      }
    }
  }

  join(pid: number): void {
    writePid(this.fs, this.dir, pid);
  }

  update(r: CgroupResources, current: LinuxResources): void {
    this.apply({ ...r, resources: withTiedSettings(r.resources, current) }, current, true);
    this.resources = stripDevices(current);
  }

  /**
   * Writes a resource file; the error names the setting, a missing file is explained by the
   * controller it needs, a per-device write by what the kernel wants of the device.
   */
  private write(field: string, file: string, value: string): void {
    try {
      this.fs.write(this.dir, file, value);
    } catch (err) {
      if (!(err instanceof CgroupFileError)) throw err;
      if (err.code === 'ENOENT') {
        const controller = file.slice(0, file.indexOf('.'));
        const where = this.controllers().includes(controller) ? 'exists but no such file here' : `is not enabled for ${this.dir} (available: ${this.controllers().join(' ') || 'none'})`;
        throw new CgroupResourceError(`${field}: cannot write ${file}: the ${controller} controller ${where}`);
      }
      const device = /^(\d+:\d+) /.exec(value)?.[1];
      let why = '';
      if (device && err.code === 'ENODEV') why = ` (there is no block device ${device})`;
      else if (device && file === 'io.bfq.weight' && (err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP')) why = ` (device ${device} does not use the BFQ I/O scheduler: /sys/dev/block/${device}/queue/scheduler)`;
      err.message = `${field}: ${err.message}${why}`;
      throw err;
    }
  }

  private apply(r: CgroupResources, current: LinuxResources, updating: boolean): void {
    withField('linux.resources', () => this.applyAll(r, current, updating));
  }

  private applyAll(r: CgroupResources, current: LinuxResources, updating: boolean): void {
    const res = r.resources;
    if (res.pids?.limit !== undefined) this.write('linux.resources.pids.limit', 'pids.max', res.pids.limit < 0 ? 'max' : String(res.pids.limit));
    this.setMemory(res, current, updating);
    this.setIo(res);
    this.setCpu(res, current);
    if (r.devices) attachDeviceFilter(this.opts.sys(), this.dir, r.devices);
    if (res.cpu?.cpus) this.write('linux.resources.cpu.cpus', 'cpuset.cpus', res.cpu.cpus);
    if (res.cpu?.mems) this.write('linux.resources.cpu.mems', 'cpuset.mems', res.cpu.mems);
    this.setHugetlb(res);
    for (const [device, limits] of Object.entries(res.rdma ?? {})) this.write('linux.resources.rdma', 'rdma.max', rdmaString(device, limits));
    if (res.network?.classID || (res.network?.priorities ?? []).length > 0) {
      throw new CgroupResourceError('linux.resources.network: net_cls/net_prio do not exist on cgroup v2 (use a BPF program or the unified map)');
    }
    this.setUnified(res);
  }

  private setMemory(res: LinuxResources, current: LinuxResources, updating: boolean): void {
    const m = res.memory;
    if (!m || !isSet(m)) return;
    const f = 'linux.resources.memory';
    const limit = m.limit ?? 0;
    if (updating && current.memory?.checkBeforeUpdate && limit > 0) {
      const usage = readNumber(this.fs, this.dir, 'memory.current');
      if (usage > limit) throw new CgroupResourceError(`${f}.limit: the new limit ${limit} is below the current usage ${usage} (checkBeforeUpdate)`);
    }
    if (m.swap !== undefined && m.swap !== 0) {
      const swap = swapToV2(m.swap, m.limit ?? current.memory?.limit ?? 0);
      if (swap !== null) this.write(`${f}.swap`, 'memory.swap.max', max(swap));
    } else if (limit === -1) {
      this.write(`${f}.swap`, 'memory.swap.max', 'max');
    }
    if (limit !== 0) this.write(`${f}.limit`, 'memory.max', max(limit));
    if (m.reservation !== undefined && m.reservation !== 0) this.write(`${f}.reservation`, 'memory.low', max(m.reservation));
    if (m.swappiness !== undefined) this.opts.warn(`${f}.swappiness: cgroup v2 has no per-cgroup swappiness; ignored (as runc)`);
    if (m.disableOOMKiller) this.opts.warn(`${f}.disableOOMKiller: cgroup v2 cannot disable the OOM killer; ignored (as runc)`);
    if ((m.kernel ?? 0) !== 0 || (m.kernelTCP ?? 0) !== 0) this.opts.warn(`${f}.kernel/kernelTCP: kernel memory limits do not exist on cgroup v2; ignored (as runc)`);
    if (m.useHierarchy === false) this.opts.warn(`${f}.useHierarchy: cgroup v2 is always hierarchical; ignored`);
  }

  private setIo(res: LinuxResources): void {
    const b = res.blockIO;
    if (!b || !isSet(b)) return;
    const f = 'linux.resources.blockIO';
    const bfq = this.fs.exists(posix.join(this.dir, 'io.bfq.weight'));
    // BFQ takes per-device weights in io.bfq.weight when it reads "default N" (older kernels:
    // a bare number and no per-device weights); else io.weight. Read before the weight is written.
    const bfqDevices = bfq && (b.weightDevice ?? []).length > 0 && !/^\d+\s*$/.test(this.fs.read(this.dir, 'io.bfq.weight'));
    if (b.weight !== undefined && b.weight !== 0) {
      if (bfq) this.write(`${f}.weight`, 'io.bfq.weight', String(b.weight));
      else this.write(`${f}.weight`, 'io.weight', String(blkioToIoWeight(b.weight)));
    }
    if (b.leafWeight !== undefined && b.leafWeight !== 0) this.opts.warn(`${f}.leafWeight: cgroup v2 has no leaf weights; ignored`);
    for (const wd of b.weightDevice ?? []) {
      if (wd.weight === undefined || wd.weight === 0) continue;
      if (bfqDevices) this.write(`${f}.weightDevice`, 'io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`);
      else this.write(`${f}.weightDevice`, 'io.weight', `${wd.major}:${wd.minor} ${blkioToIoWeight(wd.weight)}`);
    }
    for (const [list, key, name] of [
      [b.throttleReadBpsDevice, 'rbps', 'throttleReadBpsDevice'],
      [b.throttleWriteBpsDevice, 'wbps', 'throttleWriteBpsDevice'],
      [b.throttleReadIOPSDevice, 'riops', 'throttleReadIOPSDevice'],
      [b.throttleWriteIOPSDevice, 'wiops', 'throttleWriteIOPSDevice'],
    ] as const) {
      for (const d of list ?? []) this.write(`${f}.${name}`, 'io.max', throttleString(d).replace(' ', ` ${key}=`));
    }
  }

  private setCpu(res: LinuxResources, current: LinuxResources): void {
    const c = res.cpu;
    if (!c) return;
    const f = 'linux.resources.cpu';
    // The kernel refuses a weight for an idle group and resets it to the default when the group
    // stops being idle: cpu.idle 0 goes before the weight, cpu.idle 1 after it.
    if (c.idle === 0) this.write(`${f}.idle`, 'cpu.idle', '0');
    if (c.shares !== undefined && c.shares !== 0) this.write(`${f}.shares`, 'cpu.weight', String(sharesToWeight(c.shares)));
    if ((c.quota ?? 0) !== 0 || (c.period ?? 0) !== 0) {
      // runc: quota and period travel together in cpu.max; an unset one keeps its old value.
      const quota = c.quota ?? current.cpu?.quota ?? 0;
      const period = c.period || current.cpu?.period || 100000;
      this.write(`${f}.quota`, 'cpu.max', `${quota > 0 ? quota : 'max'} ${period}`);
    }
    if (c.burst !== undefined) this.write(`${f}.burst`, 'cpu.max.burst', String(c.burst));
    if (c.idle !== undefined && c.idle !== 0) this.write(`${f}.idle`, 'cpu.idle', String(c.idle));
    if ((c.realtimeRuntime ?? 0) !== 0 || (c.realtimePeriod ?? 0) !== 0) {
      throw new CgroupResourceError(`${f}.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU bandwidth control`);
    }
  }

  private setHugetlb(res: LinuxResources): void {
    const sizes = this.opts.hugePageSizes();
    (res.hugepageLimits ?? []).forEach((l, i) => {
      const size = hugePageSize(l.pageSize, sizes, i);
      this.write(`linux.resources.hugepageLimits[${i}]`, `hugetlb.${size}.max`, String(l.limit));
      if (this.fs.exists(posix.join(this.dir, `hugetlb.${size}.rsvd.max`))) this.write(`linux.resources.hugepageLimits[${i}]`, `hugetlb.${size}.rsvd.max`, String(l.limit));
    });
  }

  private setUnified(res: LinuxResources): void {
    for (const [k, v] of Object.entries(res.unified ?? {})) {
      checkUnifiedKey(k);
      try {
        this.fs.write(this.dir, k, v);
      } catch (err) {
        if (err instanceof CgroupFileError && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EPERM')) {
          const dot = k.indexOf('.');
          if (dot <= 0) throw new CgroupResourceError(`linux.resources.unified: ${JSON.stringify(k)} must be in the form CONTROLLER.PARAMETER`);
          const c = k.slice(0, dot);
          if (c !== 'cgroup' && !this.controllers().includes(c)) throw new CgroupResourceError(`linux.resources.unified: ${JSON.stringify(k)} can't be set: controller ${JSON.stringify(c)} not available`);
        }
        throw new CgroupResourceError(`linux.resources.unified: unable to set ${JSON.stringify(k)}: ${(err as Error).message}`);
      }
    }
  }

  // ----- freezer

  freeze(): void {
    if (!this.fs.exists(posix.join(this.dir, 'cgroup.freeze'))) throw new CgroupResourceError('cannot freeze the container: this kernel has no cgroup.freeze (cgroup v2 freezer needs Linux 5.2+)');
    this.fs.write(this.dir, 'cgroup.freeze', '1');
    for (let i = 0; i < 1000; i++) {
      if (keyValues(readOptional(this.fs, this.dir, 'cgroup.events')).frozen === 1) return;
      sleepMs(10);
    }
    this.fs.write(this.dir, 'cgroup.freeze', '0');
    throw new CgroupResourceError(`timed out waiting for ${this.dir} to freeze`);
  }

  thaw(): void {
    if (this.fs.exists(posix.join(this.dir, 'cgroup.freeze'))) this.fs.write(this.dir, 'cgroup.freeze', '0');
  }

  isFrozen(): boolean {
    return (readOptional(this.fs, this.dir, 'cgroup.freeze') ?? '').trim() === '1';
  }

  pids(): number[] {
    return allPids(this.fs, this.dir);
  }

  killAll(signal: number): void {
    if (signal === SIGKILL && this.fs.exists(posix.join(this.dir, 'cgroup.kill'))) {
      this.fs.write(this.dir, 'cgroup.kill', '1');
      return;
    }
    signalAllFrozen(this, this.opts, signal);
  }

  exists(): boolean {
    return this.fs.exists(this.dir);
  }

  destroy(): void {
    removeCgroupDir(this.fs, this.dir);
  }

  oomKillCount(): number | null {
    const text = readOptional(this.fs, this.dir, 'memory.events');
    return text === undefined ? null : (keyValues(text).oom_kill ?? 0);
  }

  // ----- statistics (runc's fs2 GetStats)

  stats(): CgroupStats {
    const s = emptyStats();
    const fs = this.fs;
    const d = this.dir;
    const cpu = keyValues(readOptional(fs, d, 'cpu.stat'));
    s.cpu.usage = { ...omitZero({ total: (cpu.usage_usec ?? 0) * 1000 }), kernel: (cpu.system_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000 };
    s.cpu.throttling = omitZero({ periods: cpu.nr_periods, throttledPeriods: cpu.nr_throttled, throttledTime: (cpu.throttled_usec ?? 0) * 1000 });
    const cpus = readOptional(fs, d, 'cpuset.cpus.effective');
    if (cpus !== undefined) s.cpuset = omitZero({ cpus: parseCpuList(cpus), mems: parseCpuList(readOptional(fs, d, 'cpuset.mems.effective') ?? '') });
    const memCurrent = readOptional(fs, d, 'memory.current');
    if (memCurrent !== undefined) {
      const raw = keyValues(readOptional(fs, d, 'memory.stat'));
      const usage = numberOrZero(memCurrent);
      const limit = limitValue(readOptional(fs, d, 'memory.max'));
      const swapUsage = numberOrZero(readOptional(fs, d, 'memory.swap.current'));
      const swapLimit = limitValue(readOptional(fs, d, 'memory.swap.max'));
      s.memory = {
        ...omitZero({ cache: raw.file }),
        usage: { limit, ...omitZero({ usage, max: numberOrZero(readOptional(fs, d, 'memory.peak')) }), failcnt: 0 },
        swap: { limit: swapLimit === Number.MAX_SAFE_INTEGER || limit === Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : swapLimit + limit, ...omitZero({ usage: swapUsage + usage }), failcnt: 0 },
        kernel: { limit: 0, failcnt: 0 },
        kernelTCP: { limit: 0, failcnt: 0 },
        raw,
      };
    }
    const pidsCurrent = readOptional(fs, d, 'pids.current');
    s.pids = pidsCurrent !== undefined ? omitZero({ current: numberOrZero(pidsCurrent), limit: numberOrZero(readOptional(fs, d, 'pids.max')) }) : omitZero({ current: this.pids().length });
    const io = readOptional(fs, d, 'io.stat');
    if (io !== undefined) {
      const bytes: BlkioEntry[] = [];
      const ios: BlkioEntry[] = [];
      for (const line of io.split('\n')) {
        const f = line.trim().split(/\s+/);
        const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
        if (!dev) continue;
        const kv = Object.fromEntries(f.slice(1).map((x) => x.split('=')).filter((p) => p.length === 2).map(([k, v]) => [k, Number(v)]));
        const base = omitZero({ major: Number(dev[1]), minor: Number(dev[2]) });
        bytes.push({ ...base, op: 'Read', ...omitZero({ value: kv.rbytes ?? 0 }) }, { ...base, op: 'Write', ...omitZero({ value: kv.wbytes ?? 0 }) });
        ios.push({ ...base, op: 'Read', ...omitZero({ value: kv.rios ?? 0 }) }, { ...base, op: 'Write', ...omitZero({ value: kv.wios ?? 0 }) });
      }
      s.blkio = omitZero({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios });
    }
    for (const size of this.opts.hugePageSizes()) {
      const cur = readOptional(fs, d, `hugetlb.${size}.current`);
      if (cur === undefined) continue;
      s.hugetlb[size] = { ...omitZero({ usage: numberOrZero(cur) }), failcnt: keyValues(readOptional(fs, d, `hugetlb.${size}.events`)).max ?? 0 };
    }
    return s;
  }
}

/** A limit file's value; "max" as the largest safe integer. */
function limitValue(text: string | undefined): number {
  if (text === undefined) return 0;
  return text.trim() === 'max' ? Number.MAX_SAFE_INTEGER : numberOrZero(text);
}
