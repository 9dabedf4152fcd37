// Runs INSIDE the cgroup v2 VM (scripts/vm/run), started by test/integration/cgroup-v2-vm.test.ts;
// `make test` does not run it on the host. Real containers on a pure cgroup v2 kernel: limits
// read back from the cgroup files after create and update (flags and --resources JSON), the
// 7 MB container, pause/resume with cgroup.freeze, ps, kill --all, events, failed creates and
// delete leaving no cgroup. Every container's cgroup is under /tsrun-test-<pid>/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tsrunToFiles, uniqueId, type Result } from '../helpers/tsrun';
import { makeBundle, stateRoot } from '../helpers/bundle';
import { need } from '../helpers/need';
import { waitFor } from '../helpers/wait';
import { cgroupConfig, eventsUntilOom, removeCgroupTree } from '../helpers/cgroups';
import { detectLayout } from '../../src/cgroups/layout';

const MOUNT = '/sys/fs/cgroup';
const root = stateRoot('cgroup-v2-vm');
const PARENT = `/tsrun-test-${process.pid}`;
const T = { timeout: 90_000 }; // tsrun under TCG: a few seconds a command

const rt = (args: string[], options: Parameters<typeof tsrun>[1] = {}): Result => tsrun(['--root', root, ...args], { ...T, ...options });
const rtFiles = (args: string[]): Result => tsrunToFiles(['--root', root, ...args], T);
const cg = (path: string) => join(MOUNT, path);
const readCg = (path: string, file: string) => readFileSync(join(cg(path), file), 'utf8').trim();
const procs = (path: string) => readCg(path, 'cgroup.procs').split('\n').filter((l) => l !== '').map(Number).sort((a, b) => a - b);
const keyValue = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1]);


after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  const left = existsSync(cg(PARENT)) ? readdirSync(cg(PARENT)).filter((n) => statSync(join(cg(PARENT), n)).isDirectory()) : [];
  removeCgroupTree(cg(PARENT));
  assert.deepEqual(left, [], 'container cgroups left behind');
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
});

const config = cgroupConfig;

/** The VM's virtio disk (scripts/vm/run: /dev/vda), set to the BFQ scheduler for per-device weights. */
function disk(): { major: number; minor: number } {
  need(existsSync('/sys/block/vda/dev'), 'the VM disk /dev/vda');
  writeFileSync('/sys/block/vda/queue/scheduler', 'bfq');
  const [major, minor] = readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number);
  return { major: major!, minor: minor! };
}

test('layout: a pure cgroup v2 kernel with every controller enabled at the root', () => {
  const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  need(layout.mode === 'v2', `a pure cgroup v2 machine (found ${layout.mode})`);
  const enabled = readCg('/', 'cgroup.subtree_control').split(' ');
  for (const c of ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids']) need(enabled.includes(c), `the ${c} controller in the root's subtree_control`);
  need(Number(readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', 'utf8')) > 0, '2 MB huge pages in the VM');
});

test('create writes every limit (read back from the cgroup files); update with flags and with --resources JSON; delete removes the cgroup', () => {
  const id = uniqueId('limits');
  const path = `${PARENT}/${id}`;
  const dev = disk();
  const d = `${dev.major}:${dev.minor}`;
  const resources = {
    memory: { limit: 33554432, swap: 67108864, reservation: 16777216 },
    cpu: { shares: 512, quota: 25000, period: 50000, burst: 10000, cpus: '0', mems: '0' },
    pids: { limit: 64 },
    blockIO: { weight: 300, weightDevice: [{ ...dev, weight: 200 }], throttleReadBpsDevice: [{ ...dev, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...dev, rate: 100 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
  };
  const c = rtFiles(['create', '--bundle', makeBundle(config(['sleep', '1000'], path, resources)), id]);
  assert.equal(c.code, 0, c.stderr);
  const pid = JSON.parse(rt(['state', id]).stdout).pid as number;
  assert.deepEqual(procs(path), [pid]);
  const state = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8'));
  assert.equal(state.cgroup.driver, 'v2');
  assert.equal(state.cgroup.paths[''], cg(path));
  const files = () => ({
    'memory.max': readCg(path, 'memory.max'),
    'memory.swap.max': readCg(path, 'memory.swap.max'),
    'memory.low': readCg(path, 'memory.low'),
    'cpu.weight': readCg(path, 'cpu.weight'),
    'cpu.max': readCg(path, 'cpu.max'),
    'cpu.max.burst': readCg(path, 'cpu.max.burst'),
    'cpuset.cpus': readCg(path, 'cpuset.cpus'),
    'cpuset.mems': readCg(path, 'cpuset.mems'),
    'pids.max': readCg(path, 'pids.max'),
    'io.bfq.weight': readCg(path, 'io.bfq.weight'),
    'io.max': readCg(path, 'io.max'),
    'hugetlb.2MB.max': readCg(path, 'hugetlb.2MB.max'),
    'hugetlb.2MB.rsvd.max': readCg(path, 'hugetlb.2MB.rsvd.max'),
  });
  assert.deepEqual(files(), {
    'memory.max': '33554432',
    'memory.swap.max': '33554432', // OCI swap is memory+swap
    'memory.low': '16777216',
    'cpu.weight': '20', // runc's shares→weight: 1 + (512-2)*9999/262142
    'cpu.max': '25000 50000',
    'cpu.max.burst': '10000',
    'cpuset.cpus': '0',
    'cpuset.mems': '0',
    'pids.max': '64',
    'io.bfq.weight': `default 300\n${d} 200`,
    'io.max': `${d} rbps=1048576 wbps=max riops=max wiops=100`,
    'hugetlb.2MB.max': '4194304',
    'hugetlb.2MB.rsvd.max': '4194304',
  });

  // runc's flags
  const u = rt(['update', '--memory', '64m', '--memory-swap', '128m', '--memory-reservation', '32m', '--cpu-share', '1024', '--cpu-quota', '30000', '--cpuset-cpus', '1', '--pids-limit', '32', '--blkio-weight', '500', id]);
  assert.equal(u.code, 0, u.stderr);
  assert.deepEqual(files(), {
    'memory.max': '67108864',
    'memory.swap.max': '67108864',
    'memory.low': '33554432',
    'cpu.weight': '39',
    'cpu.max': '30000 50000', // the period is kept
    'cpu.max.burst': '10000',
    'cpuset.cpus': '1',
    'cpuset.mems': '0',
    'pids.max': '32',
    'io.bfq.weight': `default 500\n${d} 200`,
    'io.max': `${d} rbps=1048576 wbps=max riops=max wiops=100`,
    'hugetlb.2MB.max': '4194304',
    'hugetlb.2MB.rsvd.max': '4194304',
  });
  // a new memory limit alone keeps the memory+swap total of the container (runc re-applies it)
  const m = rt(['update', '--memory', '48m', id]);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(readCg(path, 'memory.max'), '50331648');
  assert.equal(readCg(path, 'memory.swap.max'), String(134217728 - 50331648));
  // docker's JSON on stdin (zeros mean unchanged) and the rest of LinuxResources
  const json = {
    memory: { limit: 0, reservation: 0, swap: -1, kernel: 0 },
    cpu: { shares: 0, quota: -1, period: 0, burst: 0, idle: 1 },
    blockIO: { weight: 0, weightDevice: [{ ...dev, weight: 700 }], throttleWriteBpsDevice: [{ ...dev, rate: 2097152 }], throttleReadIOPSDevice: [{ ...dev, rate: 50 }] },
    pids: { limit: -1 },
    hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }],
    unified: { 'memory.high': '41943040' },
  };
  const j = rt(['update', '--resources', '-', id], { input: JSON.stringify(json) });
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(files(), {
    'memory.max': '50331648',
    'memory.swap.max': 'max',
    'memory.low': '33554432',
    'cpu.weight': '0', // what the kernel reports for an idle group
    'cpu.max': 'max 50000',
    'cpu.max.burst': '0',
    'cpuset.cpus': '1',
    'cpuset.mems': '0',
    'pids.max': 'max',
    'io.bfq.weight': `default 500\n${d} 700`,
    'io.max': `${d} rbps=1048576 wbps=2097152 riops=50 wiops=100`,
    'hugetlb.2MB.max': '2097152',
    'hugetlb.2MB.rsvd.max': '2097152',
  });
  assert.equal(readCg(path, 'cpu.idle'), '1');
  assert.equal(readCg(path, 'memory.high'), '41943040');
  const notIdle = rt(['update', '--resources', '-', id], { input: '{"cpu":{"idle":0}}' });
  assert.equal(notIdle.code, 0, notIdle.stderr);
  assert.equal(readCg(path, 'cpu.idle'), '0');
  assert.equal(readCg(path, 'cpu.weight'), '39', 'the weight is back');
  // bad values fail naming the setting, and change nothing
  const bad = rt(['update', '--memory', '256m', '--memory-swap', '128m', id]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /memory\+swap limit should be >= memory limit/);
  assert.equal(readCg(path, 'memory.max'), '50331648');
  const rtBad = rt(['update', '--cpu-rt-runtime', '1000', id]);
  assert.equal(rtBad.code, 1);
  assert.match(rtBad.stderr, /cgroup v2 has no realtime CPU bandwidth control/);

  assert.equal(rt(['delete', '--force', id]).code, 0);
  assert.equal(existsSync(cg(path)), false, 'cgroup removed');
});

test('io.weight without BFQ (io.cost): the blkio weights converted as runc does', () => {
  const dev = disk();
  // BFQ away: the disk back to no scheduler, the module unloaded; io.cost enabled on the disk
  writeFileSync('/sys/block/vda/queue/scheduler', 'none');
  const rm = spawnSync('busybox', ['rmmod', 'bfq'], { encoding: 'utf8' });
  assert.equal(rm.status, 0, `rmmod bfq: ${rm.stderr}`);
  writeFileSync(join(MOUNT, 'io.cost.qos'), `${dev.major}:${dev.minor} enable=1`);
  const id = uniqueId('ioweight');
  const path = `${PARENT}/${id}`;
  const c = rtFiles(['create', '--bundle', makeBundle(config(['sleep', '1000'], path, { blockIO: { weight: 300, weightDevice: [{ ...dev, weight: 200 }] } })), id]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(existsSync(join(cg(path), 'io.bfq.weight')), false);
  // 1 + (w-10)*9999/990: 300 → 2930, 200 → 1920
  assert.equal(readCg(path, 'io.weight'), `default 2930\n${dev.major}:${dev.minor} 1920`);
  const u = rt(['update', '--blkio-weight', '1000', id]);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(readCg(path, 'io.weight'), `default 10000\n${dev.major}:${dev.minor} 1920`);
  assert.equal(rt(['delete', '--force', id]).code, 0);
  assert.equal(existsSync(cg(path)), false);
});

test('the 7 MB container: starts and echoes; OOM-killed (137) when it holds 7.5 MB', () => {
  const limits = { memory: { limit: 7340032, swap: 7340032 } };
  const ok = rt(['run', '--bundle', makeBundle(config(['echo', 'ok'], `${PARENT}/seven-ok`, limits)), uniqueId('seven')]);
  assert.equal(ok.stderr, '');
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'ok\n');
  const id = uniqueId('oom');
  // the container's init itself reads 7.5 MB into memory (with a shell and a helper process the
  // OOM killer may pick either one: its choice is the kernel's, not tsrun's)
  const hog = rt(['run', '--keep', '--bundle', makeBundle(config(['dd', 'if=/dev/urandom', 'of=/dev/null', 'bs=7864320', 'count=1'], `${PARENT}/seven-oom`, limits)), id]);
  assert.equal(hog.code, 137, hog.stderr);
  assert.ok(keyValue(readCg(`${PARENT}/seven-oom`, 'memory.events'), 'oom_kill') >= 1, 'the kernel OOM killer did it');
  assert.equal(readCg(`${PARENT}/seven-oom`, 'memory.max'), '7340032');
  assert.equal(rt(['delete', id]).code, 0);
  assert.equal(existsSync(cg(`${PARENT}/seven-oom`)), false);
  assert.equal(existsSync(cg(`${PARENT}/seven-ok`)), false);
});

test('pause/resume: state paused with cgroup.freeze set and cgroup.events frozen; running again after resume', () => {
  const id = uniqueId('pause');
  const path = `${PARENT}/${id}`;
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sleep', '1000'], path)), id]).code, 0);
  const p = rt(['pause', id]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(rt(['state', id]).stdout).status, 'paused');
  assert.equal(readCg(path, 'cgroup.freeze'), '1');
  assert.equal(keyValue(readCg(path, 'cgroup.events'), 'frozen'), 1);
  assert.match(rt(['exec', id, 'true']).stderr, /cannot exec in a paused container/);
  const r = rt(['resume', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readCg(path, 'cgroup.freeze'), '0');
  assert.equal(keyValue(readCg(path, 'cgroup.events'), 'frozen'), 0);
  assert.equal(JSON.parse(rt(['state', id]).stdout).status, 'running');
  // delete --force of a paused container
  assert.equal(rt(['pause', id]).code, 0);
  assert.equal(rt(['delete', '--force', id]).code, 0);
  assert.equal(existsSync(cg(path)), false);
});

test('ps and exec: JSON is the cgroup\'s pids; an exec\'d process joins the cgroup', async () => {
  const id = uniqueId('ps');
  const path = `${PARENT}/${id}`;
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sh', '-c', 'sleep 1000 & exec sleep 999'], path)), id]).code, 0);
  await waitFor(() => procs(path).length === 2, 'two processes');
  const r = rt(['ps', '--format', 'json', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), procs(path));
  const e = rtFiles(['exec', '--detach', id, 'sleep', '998']);
  assert.equal(e.code, 0, e.stderr);
  assert.equal((JSON.parse(rt(['ps', '--format', 'json', id]).stdout) as number[]).length, 3);
  assert.equal(procs(path).length, 3);
  assert.equal(rt(['delete', '--force', id]).code, 0);
  assert.equal(existsSync(cg(path)), false);
});

test('kill --all signals every process of the cgroup (host pid namespace); the default cgroup path is /<id>', async () => {
  const id = uniqueId('killall');
  const path = `/${id}`; // no cgroupsPath: runc's default on v2, below the parent of our own cgroup ("/")
  const c = config(['sh', '-c', 'sleep 1000 & sleep 1000 & wait'], undefined);
  c.linux.namespaces = (c.linux.namespaces as Array<{ type: string }>).filter((n) => n.type !== 'pid');
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(c), id]).code, 0);
  await waitFor(() => procs(path).length === 3, 'three processes');
  const pids = procs(path);
  const k = rt(['kill', '--all', id, 'TERM']);
  assert.equal(k.code, 0, k.stderr);
  await waitFor(() => pids.every((p) => !existsSync(`/proc/${p}/stat`) || /\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'))), 'every process killed');
  assert.equal(readCg(path, 'cgroup.freeze'), '0', 'thawed again');
  assert.equal(rt(['delete', id]).code, 0);
  assert.equal(existsSync(cg(path)), false);
});

test('events: a stats record with the v2 numbers; streaming with --interval; OOM events', async () => {
  const id = uniqueId('events');
  const path = `${PARENT}/${id}`;
  const hog = 'while :; do (echo 1000 > /proc/self/oom_score_adj; x=$(head -c 8000000 /dev/urandom | tr -d "\\000")); sleep 0.5; done';
  const started = rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sh', '-c', hog], path, { memory: { limit: 7340032, swap: 7340032 }, pids: { limit: 20 }, cpu: { cpus: '0' } })), id]);
  assert.equal(started.code, 0, started.stderr);
  const s = rt(['events', '--stats', id]);
  assert.equal(s.code, 0, s.stderr);
  const ev = JSON.parse(s.stdout);
  assert.equal(ev.type, 'stats');
  assert.equal(ev.id, id);
  assert.equal(ev.data.memory.usage.limit, 7340032);
  assert.equal(ev.data.memory.swap.limit, 7340032, 'memory+swap, as runc reports it');
  assert.ok(ev.data.memory.usage.usage > 0 && ev.data.memory.usage.usage <= 7340032, JSON.stringify(ev.data.memory.usage));
  assert.ok(Object.keys(ev.data.memory.raw).includes('anon'), 'memory.stat keys');
  assert.equal(ev.data.pids.limit, 20);
  assert.ok(ev.data.pids.current >= 1);
  assert.ok(ev.data.cpu.usage.total > 0 && ev.data.cpu.usage.user + ev.data.cpu.usage.kernel > 0, JSON.stringify(ev.data.cpu.usage));
  assert.deepEqual(ev.data.cpuset?.cpus, [0]);
  assert.ok('2MB' in ev.data.hugetlb, 'hugetlb sizes');

  const events = await eventsUntilOom(root, id, '500ms', 60_000);
  assert.ok(events.some((e) => e.type === 'oom' && e.id === id && e.data === undefined));
  assert.equal(rt(['delete', '--force', id]).code, 0);
});

test('the container sees its own cgroup at /sys/fs/cgroup (cgroup namespace, read-only)', () => {
  const c = config(['sh', '-c', 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup; echo 1 > /sys/fs/cgroup/pids.max 2>/dev/null || echo read-only'], `${PARENT}/view`, { memory: { limit: 16777216 } });
  (c.mounts as object[]).push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  (c.linux.namespaces as object[]).push({ type: 'cgroup' });
  const r = rt(['run', '--bundle', makeBundle(c), uniqueId('view')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '16777216\n0::/\nread-only\n');
});

test('a container that makes its own child cgroups: ps sees their processes, pause freezes them, delete --force removes the tree', async () => {
  const id = uniqueId('nested');
  const path = `${PARENT}/${id}`;
  const script = String.raw`mkdir /sys/fs/cgroup/child && sh -c 'echo $$ > /sys/fs/cgroup/child/cgroup.procs; exec sleep 1000' & exec sleep 999`;
  const c = config(['sh', '-c', script], path);
  (c.mounts as object[]).push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'rw'] });
  (c.linux.namespaces as object[]).push({ type: 'cgroup' });
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(c), id]).code, 0);
  await waitFor(() => existsSync(cg(`${path}/child`)) && procs(`${path}/child`).length >= 1, 'a process in the child cgroup');
  const all = JSON.parse(rt(['ps', '--format', 'json', id]).stdout) as number[];
  for (const p of [...procs(path), ...procs(`${path}/child`)]) assert.ok(all.includes(p), `ps lists ${p}: ${JSON.stringify(all)}`);
  assert.equal(rt(['pause', id]).code, 0);
  assert.equal(keyValue(readCg(`${path}/child`, 'cgroup.events'), 'frozen'), 1, 'the child is frozen too');
  assert.equal(rt(['delete', '--force', id]).code, 0);
  assert.equal(existsSync(cg(path)), false, 'the container cgroup and its child are gone');
});

test('failed creates leave no cgroup: a resource v2 cannot set, a missing binary', () => {
  const id1 = uniqueId('nocls');
  const r1 = rtFiles(['create', '--bundle', makeBundle(config(['true'], `${PARENT}/${id1}`, { pids: { limit: 10 }, network: { classID: 1048577 } })), id1]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /net_cls\/net_prio do not exist on cgroup v2/);
  const id2 = uniqueId('nobin');
  const r2 = rtFiles(['create', '--bundle', makeBundle(config(['/no/such/binary'], `${PARENT}/${id2}`, { pids: { limit: 10 } })), id2]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /no such file or directory/);
  const id3 = uniqueId('badrt');
  const r3 = rtFiles(['create', '--bundle', makeBundle(config(['true'], `${PARENT}/${id3}`, { cpu: { realtimeRuntime: 1000 } })), id3]);
  assert.equal(r3.code, 1);
  for (const id of [id1, id2, id3]) {
    assert.equal(existsSync(join(root, id)), false, `state of ${id}`);
    assert.equal(existsSync(cg(`${PARENT}/${id}`)), false, `cgroup of ${id}`);
  }
});
