// The cgroup v1 driver (hybrid layout) against a fake cgroupfs tree: what create writes and
// in which order, what is read back, the errors naming files and settings, rollback.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs';
import { CgroupV1Manager } from '../../src/cgroups/v1';
import { containerDeviceRules } from '../../src/cgroups/devices';
import type { LinuxResources } from '../../src/spec';
import { cgroupFrozen } from '../../src/cgroups/state';

const fakes: FakeCgroupFs[] = [];
after(() => fakes.forEach((f) => f.cleanup()));

function setup(opts: { hugetlbV1?: boolean } = {}) {
  const fs = new FakeCgroupFs();
  fakes.push(fs);
  const paths: Record<string, string> = {};
  const mounts: Record<string, string> = {};
  for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'name=systemd']) {
    const mount = fs.addV1(c === 'name=systemd' ? 'systemd' : c, c);
    mounts[c] = mount;
    paths[c] = join(mount, 'parent', 'ctr');
  }
  if (opts.hugetlbV1) {
    mounts.hugetlb = fs.addV1('hugetlb', 'hugetlb');
    paths.hugetlb = join(mounts.hugetlb, 'parent', 'ctr');
  }
  mounts[''] = fs.addV2('unified', ['hugetlb']);
  paths[''] = join(mounts[''], 'parent', 'ctr');
  const warnings: string[] = [];
  const killed: Array<[number, number]> = [];
  const m = new CgroupV1Manager(paths, mounts, { fs, warn: (w) => warnings.push(w), hugePageSizes: () => ['1GB', '2MB'], kill: (p, s) => killed.push([p, s]) });
  const read = (c: string, f: string) => readFileSync(join(paths[c]!, f), 'utf8').trim();
  return { fs, m, paths, mounts, warnings, killed, read };
}

const spec = (resources: LinuxResources) => ({ ociVersion: '1.3.0', linux: { resources } });

test('create: a directory in every hierarchy (cgroup2 too), cpuset inherited, limits read back', () => {
  const { fs, m, read, paths } = setup();
  const resources: LinuxResources = {
    memory: { limit: 7340032, swap: 7340032, reservation: 4194304, swappiness: 10, kernelTCP: 1048576, disableOOMKiller: true },
    cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, idle: 1, cpus: '1', mems: '0', realtimePeriod: 1000000, realtimeRuntime: 950 },
    pids: { limit: 42 },
    blockIO: { weight: 300, weightDevice: [{ major: 254, minor: 0, weight: 200 }], throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 100 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
  };
  m.create({ resources, devices: containerDeviceRules(spec(resources)) });
  for (const dir of new Set(Object.values(paths))) assert.ok(fs.exists(dir), dir);
  assert.equal(read('memory', 'memory.limit_in_bytes'), '7340032');
  assert.equal(read('memory', 'memory.memsw.limit_in_bytes'), '7340032');
  assert.equal(read('memory', 'memory.soft_limit_in_bytes'), '4194304');
  assert.equal(read('memory', 'memory.swappiness'), '10');
  assert.equal(read('memory', 'memory.kmem.tcp.limit_in_bytes'), '1048576');
  assert.equal(read('memory', 'memory.oom_control'), '1');
  assert.equal(read('cpu', 'cpu.shares'), '512');
  assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
  assert.equal(read('cpu', 'cpu.cfs_period_us'), '100000');
  assert.equal(read('cpu', 'cpu.cfs_burst_us'), '1000');
  assert.equal(read('cpu', 'cpu.idle'), '1');
  assert.equal(read('cpu', 'cpu.rt_runtime_us'), '950');
  assert.equal(read('cpuset', 'cpuset.cpus'), '1');
  assert.equal(read('pids', 'pids.max'), '42');
  assert.equal(read('blkio', 'blkio.bfq.weight'), '300');
  assert.equal(read('blkio', 'blkio.bfq.weight_device'), '254:0 200');
  assert.equal(read('blkio', 'blkio.throttle.read_bps_device'), '254:0 1048576');
  assert.equal(read('blkio', 'blkio.throttle.write_iops_device'), '254:0 100');
  // hugetlb is on cgroup2 in this layout: enabled along the path, limit and reservation there
  assert.equal(read('', 'hugetlb.2MB.max'), '4194304');
  assert.equal(read('', 'hugetlb.2MB.rsvd.max'), '4194304');
  // the parent cpuset got the root's cpus/mems before the child could
  assert.equal(readFileSync(join(paths.cpuset!, '..', 'cpuset.mems'), 'utf8').trim(), '0');
  assert.match(read('devices', 'devices.list'), /^b \*:\* m\nc \*:\* m\nc 1:3 rwm\n/);
  assert.deepEqual(m.record().resources?.memory?.limit, 7340032);
  assert.equal(m.record().resources?.devices, undefined);
});

test('create: devices written deny-all first then allows; memory+swap in runc\'s order', () => {
  const { fs, m, paths } = setup();
  const resources: LinuxResources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 240, minor: 0, access: 'r' }], memory: { limit: 8388608, swap: 16777216 } };
  m.create({ resources, devices: containerDeviceRules(spec(resources)) });
  const dev = fs.writesIn(paths.devices!);
  assert.deepEqual(dev[0], ['devices.deny', 'a *:* rwm']);
  assert.deepEqual(dev.slice(1, 4), [['devices.allow', 'b *:* m'], ['devices.allow', 'c *:* m'], ['devices.allow', 'c 1:3 rwm']]);
  assert.ok(dev.some(([f, v]) => f === 'devices.allow' && v === 'c 240:0 r'));
  // a fresh cgroup's limit is above the new swap limit: memory first, then memory+swap
  assert.deepEqual(fs.writesIn(paths.memory!).map(([f]) => f), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
  // raising both later: swap first (memory may never exceed memory+swap)
  m.update({ resources: { memory: { limit: 33554432, swap: 67108864 } } }, { memory: { limit: 33554432, swap: 67108864 } });
  assert.deepEqual(fs.writesIn(paths.memory!).slice(2).map(([f]) => f), ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes']);
});

test('errors name the setting and the file; a failed create removes every directory it made', () => {
  const { fs, m } = setup();
  const before = fs.allDirs();
  assert.throws(() => m.create({ resources: { network: { classID: 0x100001 } } }), /linux\.resources\.network\.classID: cannot set net_cls limit: the net_cls cgroup controller is not mounted/);
  assert.deepEqual(fs.allDirs(), before, 'nothing left behind');
  const s2 = setup();
  s2.fs.failWrite((p) => p.endsWith('pids.max'), 'EINVAL');
  assert.throws(() => s2.m.create({ resources: { pids: { limit: 5 } } }), /^Error: linux\.resources\.pids: write "5" to .*\/pids\/parent\/ctr\/pids\.max: EINVAL/);
  assert.ok(!s2.fs.allDirs().some((d) => d.includes('parent')), 'the parents made for the container are removed too');
  const s3 = setup();
  assert.throws(() => s3.m.create({ resources: { memory: { swappiness: 101 } } }), /swappiness: invalid value 101/);
  const s4 = setup();
  assert.throws(() => s4.m.create({ resources: { hugepageLimits: [{ pageSize: '4MB', limit: 1 }] } }), /hugepageLimits\[0\]\.pageSize: huge page size "4MB" is not supported by this kernel \(available: 1GB, 2MB\)/);
  const s5 = setup();
  assert.throws(() => s5.m.create({ resources: { unified: { 'memory.high': '1' } } }), /unified: "memory.high" can't be set: no such file in the cgroup2 hierarchy of this hybrid host/);
  const s6 = setup();
  assert.throws(() => s6.m.create({ resources: { blockIO: { leafWeight: 10 } } }), /blkio\.leaf_weight: ENOENT: the file does not exist/);
  const s7 = setup();
  s7.fs.failWrite((p) => p.endsWith('cpu.shares'), 'EINVAL');
  assert.throws(() => s7.m.create({ resources: { cpu: { shares: 1 } } }), /cpu\.shares/);
});

test('kernel memory is ignored with a warning (as runc); hugetlb as v1 controller when mounted', () => {
  const { m, warnings } = setup();
  m.create({ resources: { memory: { kernel: 1048576 } } });
  assert.match(warnings.join('\n'), /memory\.kernel: kernel memory limits are ignored/);
  const h = setup({ hugetlbV1: true });
  // (the fake v1 hugetlb cgroup has no interface files: the error names the missing one)
  assert.throws(() => h.m.create({ resources: { hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] } }), /hugetlb\.2MB\.limit_in_bytes: ENOENT/);
});

test('join, pids (recursive), freeze/thaw with state, killAll freezes around the signals, destroy', () => {
  const { fs, m, paths, killed } = setup();
  m.create({ resources: {} });
  m.join(1234);
  for (const dir of new Set(Object.values(paths))) assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim(), '1234', dir);
  fs.mkdir(join(paths.devices!, 'sub'));
  fs.write(join(paths.devices!, 'sub'), 'cgroup.procs', '99');
  assert.deepEqual(m.pids(), [99, 1234]);
  m.freeze();
  assert.equal(m.isFrozen(), true);
  assert.equal(cgroupFrozen(m.record(), fs), true);
  m.thaw();
  assert.equal(m.isFrozen(), false);
  m.killAll(15);
  assert.deepEqual(killed, [[99, 15], [1234, 15]]);
  assert.deepEqual(fs.writesIn(paths.freezer!).slice(-2), [['freezer.state', 'FROZEN'], ['freezer.state', 'THAWED']]);
  // a paused container stays paused after a non-fatal signal; SIGKILL thaws it so it can die
  m.freeze();
  m.killAll(15);
  assert.equal(m.isFrozen(), true);
  m.killAll(9);
  assert.equal(m.isFrozen(), false);
  assert.throws(() => m.destroy(), /EBUSY/);
  for (const d of new Set(Object.values(paths))) writeFileSync(join(d, 'cgroup.procs'), '');
  writeFileSync(join(paths.devices!, 'sub', 'cgroup.procs'), '');
  m.destroy();
  for (const dir of new Set(Object.values(paths))) assert.equal(fs.exists(dir), false, dir);
});

test('stats: runc\'s shape from the v1 files', () => {
  const { m, paths } = setup();
  m.create({ resources: { memory: { limit: 7340032 }, pids: { limit: 10 } } });
  const w = (c: string, f: string, v: string) => writeFileSync(join(paths[c]!, f), v);
  w('memory', 'memory.usage_in_bytes', '4096\n');
  w('memory', 'memory.stat', 'cache 8192\nrss 4096\n');
  w('cpuacct', 'cpuacct.usage', '5000\n');
  w('cpuacct', 'cpuacct.stat', 'user 3\nsystem 2\n');
  w('pids', 'pids.current', '2\n');
  const s = m.stats();
  assert.equal(s.memory.usage.usage, 4096);
  assert.equal(s.memory.usage.limit, 7340032);
  assert.equal(s.memory.cache, 8192);
  assert.equal(s.memory.raw?.rss, 4096);
  assert.equal(s.cpu.usage.total, 5000);
  assert.equal(s.cpu.usage.user, 30_000_000);
  assert.equal(s.cpu.usage.kernel, 20_000_000);
  assert.deepEqual(s.pids, { current: 2, limit: 10 });
  assert.equal(m.oomKillCount(), 0);
});

test('update: a new BFQ default weight is followed by the per-device weights it resets (v1 as v2: the kernel path is shared)', () => {
  const { fs, m, paths } = setup();
  const created: LinuxResources = { blockIO: { weight: 300, weightDevice: [{ major: 254, minor: 0, weight: 200 }] } };
  m.create({ resources: created });
  const before = fs.writesIn(paths.blkio!).length;
  m.update({ resources: { blockIO: { weight: 500 } } }, { blockIO: { weight: 500, weightDevice: [{ major: 254, minor: 0, weight: 200 }] } });
  assert.deepEqual(
    fs.writesIn(paths.blkio!).slice(before).filter(([f]) => f.startsWith('blkio.bfq')),
    [['blkio.bfq.weight', '500'], ['blkio.bfq.weight_device', '254:0 200']],
  );
});
