// A cgroupfs imitation on a temporary directory tree, for unit tests of the cgroup drivers.
// It behaves like the kernel where the drivers depend on it:
//   - mkdir of a cgroup creates its interface files (from a per-hierarchy template; cgroup2:
//     from the parent's cgroup.subtree_control), and rmdir removes them (EBUSY with processes);
//   - writing a file that does not exist fails with ENOENT (never creates it);
//   - devices.allow/devices.deny update devices.list; cgroup.subtree_control "+x -y" edits
//     the enabled set; cgroup.freeze and freezer.state report frozen at once;
//   - every write is logged, in order, for tests of write sequences.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, dirname, basename } from 'node:path';
import { CgroupFileError, nodeCgroupFs, type CgroupFs } from '../../src/cgroups/fs';
import { DeviceEmulator, ruleString } from '../../src/cgroups/devices';

export interface Write {
  path: string;
  value: string;
}

/** Files of a fresh v1 cgroup per controller, with their initial content. */
export const V1_FILES: Record<string, Record<string, string>> = {
  cpu: { 'cpu.shares': '1024\n', 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '-1\n', 'cpu.cfs_burst_us': '0\n', 'cpu.idle': '0\n', 'cpu.rt_period_us': '1000000\n', 'cpu.rt_runtime_us': '0\n', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' },
  cpuacct: { 'cpuacct.usage': '0\n', 'cpuacct.usage_percpu': '0 0 \n', 'cpuacct.stat': 'user 0\nsystem 0\n' },
  cpuset: { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' },
  memory: {
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.soft_limit_in_bytes': '9223372036854771712\n',
    'memory.usage_in_bytes': '0\n',
    'memory.max_usage_in_bytes': '0\n',
    'memory.failcnt': '0\n',
    'memory.swappiness': '60\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    'memory.kmem.tcp.limit_in_bytes': '9223372036854771712\n',
    'memory.use_hierarchy': '1\n',
    'memory.stat': 'cache 0\nrss 0\n',
  },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
  freezer: { 'freezer.state': 'THAWED\n', 'freezer.self_freezing': '0\n' },
  blkio: { 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '', 'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '', 'blkio.bfq.weight': '100\n', 'blkio.bfq.weight_device': '' },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n' },
  'name=systemd': {},
};

/** Interface files of a cgroup2 controller in a child cgroup. */
export const V2_FILES: Record<string, Record<string, string>> = {
  memory: { 'memory.max': 'max\n', 'memory.high': 'max\n', 'memory.swap.max': 'max\n', 'memory.low': '0\n', 'memory.current': '0\n', 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n', 'memory.stat': 'anon 0\nfile 0\n' },
  cpu: { 'cpu.weight': '100\n', 'cpu.max': 'max 100000\n', 'cpu.max.burst': '0\n', 'cpu.idle': '0\n' },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n' },
  io: { 'io.max': '', 'io.weight': 'default 100\n', 'io.stat': '' },
  cpuset: { 'cpuset.cpus': '\n', 'cpuset.mems': '\n', 'cpuset.cpus.effective': '0-1\n', 'cpuset.mems.effective': '0\n' },
  hugetlb: { 'hugetlb.2MB.max': 'max\n', 'hugetlb.2MB.rsvd.max': 'max\n', 'hugetlb.2MB.current': '0\n', 'hugetlb.2MB.events': 'max 0\n' },
};
const V2_CORE = { 'cgroup.procs': '', 'cgroup.controllers': '', 'cgroup.subtree_control': '', 'cgroup.type': 'domain\n', 'cgroup.freeze': '0\n', 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.kill': '', 'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n' };

export class FakeCgroupFs implements CgroupFs {
  readonly root: string;
  readonly writes: Write[] = [];
  /** hierarchy mount dir → v1 controller (template key) or 'cgroup2'. */
  private readonly hierarchies = new Map<string, string>();
  /** Scripted failures: path suffix → errno code. */
  private readonly failures: Array<{ match: (p: string, v: string) => boolean; code: string }> = [];

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'tsrun-fake-cgroupfs-'));
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Adds a v1 hierarchy at root/<name> with the root cgroup's files. */
  addV1(name: string, controller: string, rootFiles: Record<string, string> = {}): string {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    this.hierarchies.set(dir, controller);
    const files = { 'cgroup.procs': '', ...(V1_FILES[controller] ?? {}), ...rootFiles };
    if (controller === 'cpuset') Object.assign(files, { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n' });
    for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
    return dir;
  }

  /** Adds a cgroup2 hierarchy at root/<name> whose root has `controllers` available. */
  addV2(name: string, controllers: string[]): string {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    this.hierarchies.set(dir, 'cgroup2');
    for (const [f, c] of Object.entries({ ...V2_CORE, 'cgroup.controllers': controllers.join(' ') + '\n' })) writeFileSync(join(dir, f), c);
    return dir;
  }

  failWrite(match: (path: string, value: string) => boolean, code: string): void {
    this.failures.push({ match, code });
  }

  /** Writes whose path is under `dir` (relative file names), in order. */
  writesIn(dir: string): Array<[string, string]> {
    return this.writes.filter((w) => dirname(w.path) === dir).map((w) => [basename(w.path), w.value]);
  }

  private hierarchyOf(path: string): [string, string] | undefined {
    for (const [dir, kind] of this.hierarchies) if (path === dir || path.startsWith(dir + '/')) return [dir, kind];
    return undefined;
  }

  read(dir: string, file: string): string {
    return nodeCgroupFs.read(dir, file);
  }

  write(dir: string, file: string, value: string): void {
    const path = join(dir, file);
    for (const f of this.failures) {
      if (f.match(path, value)) throw new CgroupFileError(path, f.code, `write ${JSON.stringify(value)} to ${path}: ${f.code}: scripted failure`);
    }
    if (!existsSync(path)) throw new CgroupFileError(path, 'ENOENT', `write ${JSON.stringify(value)} to ${path}: ENOENT: the file does not exist (controller or feature not available here)`);
    this.writes.push({ path, value });
    if (file === 'devices.allow' || file === 'devices.deny') {
      const emu = DeviceEmulator.fromList(readFileSync(join(dir, 'devices.list'), 'utf8'));
      const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(value);
      if (!m) throw new CgroupFileError(path, 'EINVAL', `write ${value}: EINVAL`);
      emu.apply({ type: m[1] as 'a', major: m[2] === '*' ? -1 : Number(m[2]), minor: m[3] === '*' ? -1 : Number(m[3]), access: m[4]!, allow: file === 'devices.allow' });
      const list = emu.isBlacklist ? 'a *:* rwm\n' : [...emu.rules.values()].map((r) => ruleString({ ...r.meta, access: r.access, allow: true }) + '\n').join('');
      writeFileSync(join(dir, 'devices.list'), list);
      return;
    }
    if (file === 'cgroup.subtree_control') {
      const enabled = new Set(readFileSync(path, 'utf8').trim().split(/\s+/).filter((x) => x !== ''));
      const available = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      for (const t of value.trim().split(/\s+/)) {
        const c = t.slice(1);
        if (!available.includes(c)) throw new CgroupFileError(path, 'ENOENT', `write ${value} to ${path}: ENOENT`);
        if (t.startsWith('+')) enabled.add(c);
        else enabled.delete(c);
      }
      writeFileSync(path, [...enabled].join(' ') + '\n');
      // children see the new set at once, with the interface files of what was enabled
      for (const child of this.subdirs(dir)) {
        writeFileSync(join(dir, child, 'cgroup.controllers'), [...enabled].join(' ') + '\n');
        for (const c of enabled) {
          for (const [f, content] of Object.entries(V2_FILES[c] ?? {})) if (!existsSync(join(dir, child, f))) writeFileSync(join(dir, child, f), content);
        }
      }
      return;
    }
    if (file === 'cgroup.freeze') writeFileSync(join(dir, 'cgroup.events'), `populated 0\nfrozen ${value.trim()}\n`);
    if (file === 'freezer.state') writeFileSync(join(dir, 'freezer.self_freezing'), value === 'FROZEN' ? '1\n' : '0\n');
    if (file === 'cgroup.procs') {
      writeFileSync(path, readFileSync(path, 'utf8') + value + '\n');
      return;
    }
    writeFileSync(path, value + (value.endsWith('\n') ? '' : '\n'));
  }

  exists(path: string): boolean {
    return existsSync(path);
  }

  mkdir(path: string): boolean {
    if (existsSync(path)) return false;
    const h = this.hierarchyOf(dirname(path));
    if (!h) throw new CgroupFileError(path, 'ENOENT', `mkdir ${path}: ENOENT: not in a cgroup hierarchy`);
    mkdirSync(path);
    const [, kind] = h;
    let files: Record<string, string>;
    if (kind === 'cgroup2') {
      const enabled = readFileSync(join(dirname(path), 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/).filter((x) => x !== '');
      files = { ...V2_CORE, 'cgroup.controllers': enabled.join(' ') + '\n' };
      for (const c of enabled) Object.assign(files, V2_FILES[c] ?? {});
    } else {
      files = { 'cgroup.procs': '', ...(V1_FILES[kind] ?? {}) };
      if (kind === 'devices') files['devices.list'] = readFileSync(join(dirname(path), 'devices.list'), 'utf8');
    }
    for (const [f, c] of Object.entries(files)) writeFileSync(join(path, f), c);
    return true;
  }

  rmdir(path: string): void {
    if (!existsSync(path)) return;
    if (this.subdirs(path).length > 0) throw new CgroupFileError(path, 'EBUSY', `rmdir ${path}: EBUSY: Device or resource busy`);
    if (readFileSync(join(path, 'cgroup.procs'), 'utf8').trim() !== '') throw new CgroupFileError(path, 'EBUSY', `rmdir ${path}: EBUSY: Device or resource busy`);
    rmSync(path, { recursive: true });
  }

  subdirs(path: string): string[] {
    try {
      return readdirSync(path).filter((n) => statSync(join(path, n)).isDirectory());
    } catch {
      return [];
    }
  }

  /** Every directory under the fake root (relative), to check nothing is left behind. */
  allDirs(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const n of this.subdirs(d)) {
        out.push(relative(this.root, join(d, n)));
        walk(join(d, n));
      }
    };
    walk(this.root);
    return out.sort();
  }
}
