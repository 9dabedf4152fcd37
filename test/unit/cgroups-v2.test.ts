// The cgroup v2 driver against a fake cgroup2 tree with every controller (this machine's real
// cgroup2 hierarchy only has hugetlb: see test/integration/cgroups-v2.test.ts for what runs
// on the real one).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { FakeCgroupFs } from '../helpers/fake-cgroupfs';
import { CgroupV2Manager, blkioToIoWeight, sharesToWeight, swapToV2 } from '../../src/cgroups/v2';
import { containerDeviceRules } from '../../src/cgroups/devices';
import { BPF_PROG_ATTACH, BPF_PROG_LOAD, BPF_PROG_QUERY } from '../../src/cgroups/bpf';
import { FakeSyscalls } from '../../src/linux/fake';
import { cgroupFrozen } from '../../src/cgroups/state';
import { CgroupFileError } from '../../src/cgroups/fs';
import type { LinuxResources } from '../../src/spec';

const fakes: FakeCgroupFs[] = [];
after(() => fakes.forEach((f) => f.cleanup()));

function setup(controllers = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids']) {
  const fs = new FakeCgroupFs();
  fakes.push(fs);
  const mount = fs.addV2('cgroup', controllers);
  const dir = join(mount, 'kubepods', 'pod1', 'ctr');
  const sys = new FakeSyscalls();
  sys.stub('bpf', (cmd, attr) => {
    if (cmd !== BPF_PROG_QUERY) return 50;
    attr.writeUInt32LE(0, 24);
    return 0;
  });
  const warnings: string[] = [];
  const killed: number[] = [];
  const m = new CgroupV2Manager(dir, mount, { fs, warn: (w) => warnings.push(w), hugePageSizes: () => ['2MB'], kill: (p) => killed.push(p), sys: () => sys });
  const read = (f: string) => readFileSync(join(dir, f), 'utf8').trim();
  return { fs, m, dir, mount, sys, warnings, killed, read };
}

test('conversions: shares → cpu.weight, blkio weight → io.weight, OCI swap (memory+swap) → memory.swap.max', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(blkioToIoWeight(10), 1);
  assert.equal(blkioToIoWeight(1000), 10000);
  assert.equal(swapToV2(16, 8), 8);
  assert.equal(swapToV2(-1, 8), -1);
  assert.equal(swapToV2(0, -1), -1);
  assert.equal(swapToV2(0, 8), null);
  assert.throws(() => swapToV2(4, 8), /memory\+swap limit should be >= memory limit/);
  assert.throws(() => swapToV2(8, 0), /without a memory limit/);
});

test('create: controllers enabled down the path, every limit read back, devices through a BPF program', () => {
  const { fs, m, dir, mount, sys, read } = setup();
  const resources: LinuxResources = {
    memory: { limit: 7340032, swap: 7340032, reservation: 1048576 },
    cpu: { shares: 1024, quota: 20000, period: 50000, burst: 500, idle: 0, cpus: '0', mems: '0' },
    pids: { limit: 64 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1000 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }],
    unified: { 'memory.high': '6291456' },
    devices: [{ allow: false, access: 'rwm' }],
  };
  m.create({ resources, devices: containerDeviceRules({ ociVersion: '1.3.0', linux: { resources } }) });
  assert.equal(readFileSync(join(mount, 'cgroup.subtree_control'), 'utf8').trim(), 'cpuset cpu io memory hugetlb pids');
  assert.equal(readFileSync(join(mount, 'kubepods', 'pod1', 'cgroup.subtree_control'), 'utf8').trim(), 'cpuset cpu io memory hugetlb pids');
  assert.equal(read('cgroup.subtree_control'), '', 'the leaf enables nothing (it holds processes)');
  assert.equal(read('memory.max'), '7340032');
  assert.equal(read('memory.swap.max'), '0', 'swap = memory+swap - memory');
  assert.equal(read('memory.low'), '1048576');
  assert.equal(read('cpu.weight'), '39');
  assert.equal(read('cpu.max'), '20000 50000');
  assert.equal(read('cpu.max.burst'), '500');
  assert.equal(read('cpuset.cpus'), '0');
  assert.equal(read('pids.max'), '64');
  assert.equal(read('io.weight'), String(blkioToIoWeight(500)));
  assert.equal(read('io.max'), '254:0 rbps=1000');
  assert.equal(read('hugetlb.2MB.max'), '2097152');
  assert.equal(read('hugetlb.2MB.rsvd.max'), '2097152');
  assert.equal(read('memory.high'), '6291456');
  assert.deepEqual(sys.callsTo('bpf').map((c) => c[0]), [BPF_PROG_QUERY, BPF_PROG_LOAD, BPF_PROG_ATTACH]);
  assert.equal(sys.callsTo('open')[0]![0], dir);
  assert.ok(fs.exists(dir));
});

test('update: quota alone keeps the period; swap alone converts with the current memory limit; checkBeforeUpdate', () => {
  const { m, read } = setup();
  m.create({ resources: { cpu: { quota: 20000, period: 50000 }, memory: { limit: 8388608, checkBeforeUpdate: true } } });
  m.update({ resources: { cpu: { quota: 30000 } } }, { cpu: { quota: 30000, period: 50000 }, memory: { limit: 8388608, checkBeforeUpdate: true } });
  assert.equal(read('cpu.max'), '30000 50000');
  m.update({ resources: { memory: { swap: 16777216 } } }, { memory: { limit: 8388608, swap: 16777216, checkBeforeUpdate: true } });
  assert.equal(read('memory.swap.max'), '8388608');
  writeFileSync(join(m.record().paths['']!, 'memory.current'), '5000000\n');
  assert.throws(
    () => m.update({ resources: { memory: { limit: 4194304 } } }, { memory: { limit: 4194304, checkBeforeUpdate: true } }),
    /the new limit 4194304 is below the current usage 5000000 \(checkBeforeUpdate\)/,
  );
  assert.equal(read('memory.max'), '8388608', 'unchanged');
});

test('update: a memory limit alone rewrites memory.swap.max from the memory+swap total (found in the v2 VM lane)', () => {
  const { m, read } = setup();
  m.create({ resources: { memory: { limit: 67108864, swap: 134217728 } } });
  assert.equal(read('memory.swap.max'), '67108864');
  m.update({ resources: { memory: { limit: 50331648 } } }, { memory: { limit: 50331648, swap: 134217728 } });
  assert.equal(read('memory.max'), '50331648');
  assert.equal(read('memory.swap.max'), String(134217728 - 50331648), 'the total stays 128 MiB');
  // a total below the new limit is refused as at create, before anything is written
  assert.throws(() => m.update({ resources: { memory: { limit: 268435456 } } }, { memory: { limit: 268435456, swap: 134217728 } }), /memory\+swap limit should be >= memory limit/);
  assert.equal(read('memory.max'), '50331648');
  // without a swap setting nothing but memory.max is written
  const plain = setup();
  plain.m.create({ resources: { memory: { limit: 67108864 } } });
  plain.m.update({ resources: { memory: { limit: 33554432 } } }, { memory: { limit: 33554432 } });
  assert.deepEqual(plain.fs.writesIn(plain.dir).filter(([f]) => f.startsWith('memory.')), [['memory.max', '67108864'], ['memory.max', '33554432']]);
});

test('update: a new BFQ default weight is followed by the per-device weights it resets (found in the v2 VM lane)', () => {
  const { fs, m, dir } = setup();
  m.create({ resources: {} });
  writeFileSync(join(dir, 'io.bfq.weight'), 'default 100\n');
  const current: LinuxResources = { blockIO: { weight: 500, weightDevice: [{ major: 254, minor: 0, weight: 200 }] } };
  m.update({ resources: { blockIO: { weight: 500 } } }, current);
  assert.deepEqual(fs.writesIn(dir).filter(([f]) => f.startsWith('io.')), [['io.bfq.weight', '500'], ['io.bfq.weight', '254:0 200']]);
  // a delta with its own device weights writes those (and only those)
  m.update({ resources: { blockIO: { weight: 300, weightDevice: [{ major: 254, minor: 0, weight: 700 }] } } }, { blockIO: { weight: 300, weightDevice: [{ major: 254, minor: 0, weight: 700 }] } });
  assert.deepEqual(fs.writesIn(dir).filter(([f]) => f.startsWith('io.')).slice(2), [['io.bfq.weight', '300'], ['io.bfq.weight', '254:0 700']]);
});

test('cpu.idle: 1 written after the weight (refused for an idle group), 0 before it, and leaving idle rewrites the weight (found in the v2 VM lane)', () => {
  const { fs, m, dir } = setup();
  m.create({ resources: { cpu: { shares: 512, idle: 1 } } });
  assert.deepEqual(fs.writesIn(dir).filter(([f]) => f.startsWith('cpu.')), [['cpu.weight', '20'], ['cpu.idle', '1']]);
  m.update({ resources: { cpu: { idle: 0 } } }, { cpu: { shares: 512, idle: 0 } });
  assert.deepEqual(fs.writesIn(dir).filter(([f]) => f.startsWith('cpu.')).slice(2), [['cpu.idle', '0'], ['cpu.weight', '20']]);
});

test('per-device write errors name the setting and the device\'s problem (found in the v2 VM lane: "ENOTSUP: operation not supported on socket")', () => {
  const { fs, m } = setup();
  m.create({ resources: {} });
  const dir = m.record().paths['']!;
  writeFileSync(join(dir, 'io.bfq.weight'), 'default 100\n');
  const write = fs.write.bind(fs);
  fs.write = (d: string, file: string, value: string) => {
    if (value.startsWith('8:0 ')) throw new CgroupFileError(join(d, file), 'ENOTSUP', `write ${JSON.stringify(value)} to ${join(d, file)}: ENOTSUP: operation not supported on socket`);
    if (value.startsWith('8:16 ')) throw new CgroupFileError(join(d, file), 'ENODEV', `write ${JSON.stringify(value)} to ${join(d, file)}: ENODEV: no such device`);
    write(d, file, value);
  };
  assert.throws(
    () => m.update({ resources: { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 500 }] } } }, {}),
    /^Error: linux\.resources\.blockIO\.weightDevice: write "8:0 500" to .*io\.bfq\.weight: ENOTSUP: operation not supported on socket \(device 8:0 does not use the BFQ I\/O scheduler: \/sys\/dev\/block\/8:0\/queue\/scheduler\)$/,
  );
  assert.throws(
    () => m.update({ resources: { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 16, rate: 10 }] } } }, {}),
    /^Error: linux\.resources\.blockIO\.throttleReadBpsDevice: write "8:16 rbps=10" to .*io\.max: ENODEV: no such device \(there is no block device 8:16\)$/,
  );
});

test('what cgroup v2 cannot do is an error or a warning naming the setting; nothing is left behind', () => {
  const s = setup(['pids']);
  assert.throws(() => s.m.create({ resources: { memory: { limit: 1048576 } } }), /linux\.resources\.memory\.limit: cannot write memory\.max: the memory controller is not enabled .* \(available: pids\)/);
  assert.deepEqual(s.fs.allDirs(), ['cgroup'], 'the directories made are removed');
  const r = setup();
  assert.throws(() => r.m.create({ resources: { cpu: { realtimeRuntime: 1000 } } }), /no realtime CPU bandwidth control/);
  assert.throws(() => setup().m.create({ resources: { network: { classID: 1 } } }), /net_cls\/net_prio do not exist on cgroup v2/);
  assert.throws(() => setup().m.create({ resources: { unified: { 'rdma.max': 'x' } } }), /"rdma.max" can't be set: controller "rdma" not available/);
  assert.throws(() => setup().m.create({ resources: { unified: { '../x': '1' } } }), /must be a file name/);
  const w = setup();
  w.m.create({ resources: { memory: { swappiness: 10, disableOOMKiller: true, kernel: 1 } } });
  assert.equal(w.warnings.length, 3);
});

test('freeze/thaw (cgroup.freeze + cgroup.events), kill-all through cgroup.kill, pids, destroy', () => {
  const { fs, m, dir, killed } = setup();
  m.create({ resources: {} });
  m.join(4321);
  assert.deepEqual(m.pids(), [4321]);
  m.freeze();
  assert.equal(m.isFrozen(), true);
  assert.equal(cgroupFrozen(m.record(), fs), true);
  m.thaw();
  assert.equal(m.isFrozen(), false);
  m.killAll(9);
  assert.deepEqual(fs.writesIn(dir).slice(-1), [['cgroup.kill', '1']]);
  assert.deepEqual(killed, [], 'SIGKILL goes through cgroup.kill');
  m.killAll(15);
  assert.deepEqual(killed, [4321]);
  writeFileSync(join(dir, 'cgroup.procs'), '');
  m.destroy();
  assert.equal(fs.exists(dir), false);
  assert.equal(m.record().driver, 'v2');
});
