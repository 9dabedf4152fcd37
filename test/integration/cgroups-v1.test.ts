// Real containers with cgroups on this machine's layout (cgroup v1 hybrid): limits read back
// from the cgroup files after create and update, the 7 MB container, pause/resume, ps,
// events, kill --all, devices, failures that must leave no cgroup behind. Every container's
// cgroup is under /tsrun-test-<pid>/ and the after() hook checks nothing is left.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tsrunToFiles, uniqueId, type Result } from '../helpers/tsrun';
import { makeBundle, stateRoot } from '../helpers/bundle';
import { need } from '../helpers/need';
import { detectLayout } from '../../src/cgroups/layout';
import { waitFor } from '../helpers/wait';
import { cgroupConfig, eventsUntilOom, removeCgroupTree } from '../helpers/cgroups';

const root = stateRoot('cgroups-v1');
const PARENT = `/tsrun-test-${process.pid}`;
const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
/** Mount point of each v1 controller, and '' for cgroup2. */
const MOUNTS: Record<string, string> = {};
for (const h of layout.v1) for (const c of h.controllers) MOUNTS[c] = h.mountPoint;
if (layout.unified) MOUNTS[''] = layout.unified.mountPoint;

const rt = (args: string[], options: Parameters<typeof tsrun>[1] = {}): Result => tsrun(['--root', root, ...args], options);
const rtFiles = (args: string[]): Result => tsrunToFiles(['--root', root, ...args]);

/** The container's cgroup directory in a hierarchy. */
const cg = (controller: string, path: string) => join(MOUNTS[controller]!, path);
const readCg = (controller: string, path: string, file: string) => readFileSync(join(cg(controller, path), file), 'utf8').trim();


after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  const left = Object.values(MOUNTS).filter((m) => existsSync(join(m, PARENT)) && readdirSync(join(m, PARENT)).some((n) => statSync(join(m, PARENT, n)).isDirectory()));
  for (const m of new Set(Object.values(MOUNTS))) {
    try {
      removeCgroupTree(join(m, PARENT));
    } catch {
      // reported below
    }
  }
  assert.deepEqual(left, [], 'container cgroups left behind');
  assert.deepEqual([...new Set(Object.values(MOUNTS))].filter((m) => existsSync(join(m, PARENT))), [], 'test parent cgroups left behind');
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
});

const config = cgroupConfig;

function pidsOf(controller: string, path: string): number[] {
  return readCg(controller, path, 'cgroup.procs').split('\n').filter((l) => l !== '').map(Number).sort((a, b) => a - b);
}


/** A real block device (major:minor) for the blkio throttles. */
function blockDevice(): { major: number; minor: number } {
  const dev = readdirSync('/sys/block').filter((d) => !d.startsWith('loop') && !d.startsWith('zram') && !d.startsWith('ram')).map((d) => readFileSync(`/sys/block/${d}/dev`, 'utf8').trim())[0];
  need(dev, 'a block device in /sys/block for the blkio throttle test');
  const [major, minor] = dev!.split(':').map(Number);
  return { major: major!, minor: minor! };
}

test('layout: this machine is cgroup v1 hybrid with cgroup2 at /sys/fs/cgroup/unified', () => {
  need(layout.mode === 'hybrid', `a cgroup v1 hybrid host (found ${layout.mode})`);
  for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids']) need(MOUNTS[c], `the ${c} v1 controller`);
});

test('create applies every limit (read back from the cgroup files), update changes them, delete removes the cgroup', () => {
  const id = uniqueId('limits');
  const path = `${PARENT}/${id}`;
  const dev = blockDevice();
  const resources = {
    memory: { limit: 33554432, swap: 67108864, reservation: 16777216, swappiness: 20, kernelTCP: 8388608 },
    cpu: { shares: 512, quota: 25000, period: 50000, cpus: '0', mems: '0' },
    pids: { limit: 64 },
    blockIO: { weight: 300, throttleReadBpsDevice: [{ ...dev, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...dev, rate: 100 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 240, minor: 0, access: 'r' }],
  };
  const c = rtFiles(['create', '--bundle', makeBundle(config(['sleep', '1000'], path, resources)), id]);
  assert.equal(c.code, 0, c.stderr);
  const pid = JSON.parse(rt(['state', id]).stdout).pid as number;
  assert.equal(readCg('memory', path, 'memory.limit_in_bytes'), '33554432');
  assert.equal(readCg('memory', path, 'memory.memsw.limit_in_bytes'), '67108864');
  assert.equal(readCg('memory', path, 'memory.soft_limit_in_bytes'), '16777216');
  assert.equal(readCg('memory', path, 'memory.swappiness'), '20');
  assert.equal(readCg('memory', path, 'memory.kmem.tcp.limit_in_bytes'), '8388608');
  assert.equal(readCg('cpu', path, 'cpu.shares'), '512');
  assert.equal(readCg('cpu', path, 'cpu.cfs_quota_us'), '25000');
  assert.equal(readCg('cpu', path, 'cpu.cfs_period_us'), '50000');
  assert.equal(readCg('cpuset', path, 'cpuset.cpus'), '0');
  assert.equal(readCg('pids', path, 'pids.max'), '64');
  assert.equal(readCg('blkio', path, 'blkio.bfq.weight'), '300');
  assert.equal(readCg('blkio', path, 'blkio.throttle.read_bps_device'), `${dev.major}:${dev.minor} 1048576`);
  assert.equal(readCg('blkio', path, 'blkio.throttle.write_iops_device'), `${dev.major}:${dev.minor} 100`);
  assert.equal(readCg('', path, 'hugetlb.2MB.max'), '4194304', 'hugetlb is bound to cgroup2 on this host');
  const devices = readCg('devices', path, 'devices.list').split('\n');
  assert.ok(devices.includes('c 240:0 r') && devices.includes('c 1:3 rwm') && !devices.includes('a *:* rwm'), devices.join(' | '));
  // the init is in the cgroup of every hierarchy, the cgroup2 one included (as runc on this host)
  for (const ctl of Object.keys(MOUNTS)) assert.deepEqual(pidsOf(ctl, path), [pid], `cgroup.procs of ${ctl || 'cgroup2'}`);
  const state = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8'));
  assert.equal(state.cgroup.driver, 'v1');
  assert.equal(state.cgroup.paths.memory, cg('memory', path));

  // runc's flags
  const u = rt(['update', '--memory', '64m', '--memory-swap', '128m', '--cpu-shares', '256', '--cpu-quota', '30000', '--pids-limit', '32', '--blkio-weight', '500', id]);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(readCg('memory', path, 'memory.limit_in_bytes'), '67108864');
  assert.equal(readCg('memory', path, 'memory.memsw.limit_in_bytes'), '134217728');
  assert.equal(readCg('cpu', path, 'cpu.shares'), '256');
  assert.equal(readCg('cpu', path, 'cpu.cfs_quota_us'), '30000');
  assert.equal(readCg('cpu', path, 'cpu.cfs_period_us'), '50000', 'period unchanged');
  assert.equal(readCg('pids', path, 'pids.max'), '32');
  assert.equal(readCg('blkio', path, 'blkio.bfq.weight'), '500');
  // docker's JSON on stdin: zeros mean unchanged
  const docker = '{"memory":{"limit":50331648,"reservation":0,"swap":100663296,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}';
  const j = rt(['update', '--resources', '-', id], { input: docker });
  assert.equal(j.code, 0, j.stderr);
  assert.equal(readCg('memory', path, 'memory.limit_in_bytes'), '50331648');
  assert.equal(readCg('memory', path, 'memory.memsw.limit_in_bytes'), '100663296');
  assert.equal(readCg('cpu', path, 'cpu.shares'), '256');
  assert.equal(readCg('blkio', path, 'blkio.bfq.weight'), '500');
  const merged = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')).cgroup.resources;
  assert.deepEqual(merged.memory, { limit: 50331648, swap: 100663296, reservation: 16777216, swappiness: 20, kernelTCP: 8388608 });
  // a bad value fails with the file named, and changes nothing else
  const bad = rt(['update', '--memory', '100m', id]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /memory\.limit_in_bytes.*cannot exceed the memory\+swap limit/);

  assert.equal(rt(['delete', '--force', id]).code, 0);
  for (const ctl of Object.keys(MOUNTS)) assert.equal(existsSync(cg(ctl, path)), false, `${ctl || 'cgroup2'} directory removed`);
});

test('the 7 MB container: starts and echoes; OOM-killed (137) when it holds 7.5 MB', () => {
  const limits = { memory: { limit: 7340032, swap: 7340032 } };
  const ok = rt(['run', '--bundle', makeBundle(config(['echo', 'ok'], `${PARENT}/seven-ok`, limits)), uniqueId('seven')]);
  assert.equal(ok.stderr, '');
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'ok\n');
  // 7.5 MB into a tmpfs (/dev/shm) is charged to the container's memory cgroup
  const id = uniqueId('oom');
  const hog = rt(['run', '--keep', '--bundle', makeBundle(config(['sh', '-c', 'head -c 7864320 /dev/urandom > /dev/shm/x; echo survived'], `${PARENT}/seven-oom`, limits)), id]);
  assert.equal(hog.code, 137, hog.stderr);
  assert.doesNotMatch(hog.stdout, /survived/);
  const oom = /oom_kill (\d+)/.exec(readCg('memory', `${PARENT}/seven-oom`, 'memory.oom_control'));
  assert.ok(Number(oom?.[1]) >= 1, 'the kernel OOM killer did it');
  assert.equal(rt(['delete', id]).code, 0);
  assert.equal(existsSync(cg('memory', `${PARENT}/seven-oom`)), false);
});

test('pause/resume: state paused with the freezer FROZEN, then running again; exec and second resume refused', () => {
  const id = uniqueId('pause');
  const path = `${PARENT}/${id}`;
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sleep', '1000'], path)), id]).code, 0);
  const p = rt(['pause', id]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(rt(['state', id]).stdout).status, 'paused');
  assert.equal(readCg('freezer', path, 'freezer.state'), 'FROZEN');
  assert.match(JSON.stringify(JSON.parse(rt(['list', '--format', 'json']).stdout)), new RegExp(`"id":"${id}"[^}]*"status":"paused"`));
  assert.match(rt(['exec', id, 'true']).stderr, /cannot exec in a paused container/);
  assert.equal(rt(['pause', id]).code, 1);
  const r = rt(['resume', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readCg('freezer', path, 'freezer.state'), 'THAWED');
  assert.equal(JSON.parse(rt(['state', id]).stdout).status, 'running');
  assert.match(rt(['resume', id]).stderr, /container not paused/);
  // delete --force of a paused container: thawed so that SIGKILL works
  assert.equal(rt(['pause', id]).code, 0);
  assert.equal(rt(['delete', '--force', id]).code, 0);
  assert.equal(existsSync(cg('freezer', path)), false);
});

test('ps: JSON is the bare array of the cgroup\'s host pids with nothing on stderr; the table is ps -ef\'s', async () => {
  const id = uniqueId('ps');
  const path = `${PARENT}/${id}`;
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sh', '-c', 'sleep 1000 & exec sleep 999'], path)), id]).code, 0);
  await waitFor(() => pidsOf('pids', path).length === 2, 'two processes');
  const r = rt(['ps', '--format', 'json', id]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.stdout), pidsOf('pids', path));
  // exec'd processes join the cgroup too
  const e = rtFiles(['exec', '--detach', id, 'sleep', '998']);
  assert.equal(e.code, 0, e.stderr);
  assert.equal((JSON.parse(rt(['ps', '--format', 'json', id]).stdout) as number[]).length, 3);
  const t = rt(['ps', id]);
  const lines = t.stdout.trim().split('\n');
  assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  assert.equal(lines.length, 4);
  assert.ok(lines.some((l) => / sleep 999$/.test(l)) && lines.some((l) => / sleep 998$/.test(l)));
  assert.equal(rt(['delete', '--force', id]).code, 0);
});

test('kill --all signals every process of the cgroup (a container sharing the host pid namespace)', async () => {
  const id = uniqueId('killall');
  const path = `${PARENT}/${id}`;
  const c = config(['sh', '-c', 'sleep 1000 & sleep 1000 & wait'], path);
  c.linux.namespaces = (c.linux.namespaces as Array<{ type: string }>).filter((n) => n.type !== 'pid');
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(c), id]).code, 0);
  await waitFor(() => pidsOf('pids', path).length === 3, 'three processes');
  const pids = pidsOf('pids', path);
  const k = rt(['kill', '--all', id, '9']);
  assert.equal(k.code, 0, k.stderr);
  await waitFor(() => pids.every((p) => !existsSync(`/proc/${p}/stat`) || /\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'))), 'every process killed');
  assert.equal(readCg('freezer', path, 'freezer.state'), 'THAWED');
  assert.equal(rt(['delete', id]).code, 0);
  assert.equal(existsSync(cg('pids', path)), false);
});

test('kill --all of a stopped container still kills what its init left in the cgroup (as runc; the shim relies on it)', async () => {
  const id = uniqueId('killall-stopped');
  const path = `${PARENT}/${id}`;
  const c = config(['sh', '-c', 'sleep 1000 & exit 0'], path);
  c.linux.namespaces = (c.linux.namespaces as Array<{ type: string }>).filter((n) => n.type !== 'pid');
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(c), id]).code, 0);
  await waitFor(() => JSON.parse(rt(['state', id]).stdout).status === 'stopped', 'the init exited');
  const left = pidsOf('pids', path);
  assert.equal(left.length, 1, 'the background sleep outlived the init');
  const k = rt(['kill', '--all', id, 'KILL']);
  assert.equal(k.code, 0, k.stderr);
  await waitFor(() => pidsOf('pids', path).length === 0, 'the leftover process killed');
  assert.match(rt(['kill', id, 'KILL']).stderr, /container not running/, 'without --all a stopped container is still refused');
  assert.equal(rt(['delete', id]).code, 0);
  assert.equal(rt(['kill', '--all', id, 'KILL']).code, 1, 'a deleted container is not found');
});

test('failed creates leave no cgroup: a refused resource, a missing binary, --systemd-cgroup without systemd', () => {
  const id1 = uniqueId('nocls');
  const r1 = rtFiles(['create', '--bundle', makeBundle(config(['true'], `${PARENT}/${id1}`, { network: { classID: 1048577 } })), id1]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /linux\.resources\.network\.classID: cannot set net_cls limit: the net_cls cgroup controller is not mounted/);
  const id2 = uniqueId('nobin');
  const r2 = rtFiles(['create', '--bundle', makeBundle(config(['/no/such/binary'], `${PARENT}/${id2}`, { pids: { limit: 10 } })), id2]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /no such file or directory/);
  for (const id of [id1, id2]) {
    assert.equal(existsSync(join(root, id)), false);
    for (const ctl of Object.keys(MOUNTS)) assert.equal(existsSync(cg(ctl, `${PARENT}/${id}`)), false, `${ctl || 'cgroup2'}: ${id}`);
  }
  const id3 = uniqueId('systemd');
  const nobus = `/run/tsrun-test-${process.pid}-no-bus`;
  const r3 = tsrunToFiles(['--root', root, '--systemd-cgroup', 'create', '--bundle', makeBundle(config(['true'], 'system.slice:tsrun:x')), id3], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${nobus}` } });
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, new RegExp(`systemd is not reachable at ${nobus}`));
  assert.equal(existsSync(join(root, id3)), false);
});

test('devices: deny-all keeps the defaults (/dev/null); a device not allowed cannot be opened, an allowed one can', () => {
  const script = 'mknod /dev/x c 240 0 && (head -c1 /dev/x; echo "rc=$?") 2>&1; echo null=$(head -c1 /dev/null | wc -c)';
  const withMknod = (c: ReturnType<typeof config>) => {
    const caps = c.process.capabilities as Record<string, string[]>;
    for (const set of ['bounding', 'effective', 'permitted']) caps[set] = [...(caps[set] ?? []), 'CAP_MKNOD'];
    return c;
  };
  const denied = rt(['run', '--bundle', makeBundle(withMknod(config(['sh', '-c', script], `${PARENT}/dev-deny`, { devices: [{ allow: false, access: 'rwm' }] }))), uniqueId('devdeny')]);
  assert.equal(denied.code, 0, denied.stderr);
  assert.match(denied.stdout, /Operation not permitted/);
  assert.match(denied.stdout, /null=0/);
  // allowed: the open reaches the (absent) driver instead: ENXIO
  const allowed = rt(['run', '--bundle', makeBundle(withMknod(config(['sh', '-c', script], `${PARENT}/dev-allow`, { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 240, minor: 0, access: 'rw' }] }))), uniqueId('devallow')]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, /No such device or address/);
});

test('the container sees its own cgroup at /sys/fs/cgroup (read-only bind of its directories), with a cgroup namespace', () => {
  const c = config(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /proc/self/cgroup | grep memory; echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo read-only'], `${PARENT}/view`, { memory: { limit: 16777216 } });
  (c.mounts as object[]).push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  (c.linux.namespaces as object[]).push({ type: 'cgroup' });
  const r = rt(['run', '--bundle', makeBundle(c), uniqueId('view')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '16777216\n4:memory:/\nread-only\n');
});

test('default cgroup path: <our own cgroup>/<id> in each hierarchy (runc), removed by delete', () => {
  const id = uniqueId('dflt');
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sleep', '1000'], undefined)), id]).code, 0);
  const pid = JSON.parse(rt(['state', id]).stdout).pid as number;
  const own = Object.fromEntries(readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((l) => l.split(':')).map(([, c, p]) => [c, p]));
  const theirs = Object.fromEntries(readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':')).map(([, c, p]) => [c, p]));
  for (const c of ['memory', 'pids', 'devices', 'freezer']) assert.equal(theirs[c], join(own[c]!, id), c);
  const dirs = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')).cgroup.paths as Record<string, string>;
  assert.equal(rt(['delete', '--force', id]).code, 0);
  for (const d of Object.values(dirs)) assert.equal(existsSync(d), false, d);
});

test('events: one stats record like runc\'s; streaming with --interval; OOM events', async () => {
  const id = uniqueId('events');
  const path = `${PARENT}/${id}`;
  // The subshell that fills memory makes itself the OOM killer's first choice (oom_score_adj is
  // inherited by head and tr), so the kernel never picks the looping shell, the container's init.
  const hog = 'while :; do (echo 1000 > /proc/self/oom_score_adj; x=$(head -c 8000000 /dev/urandom | tr -d "\\000")); sleep 0.2; done';
  const started = rtFiles(['run', '--detach', '--bundle', makeBundle(config(['sh', '-c', hog], path, { memory: { limit: 7340032, swap: 7340032 }, pids: { limit: 20 } })), id]);
  assert.equal(started.code, 0, started.stderr);
  const s = rt(['events', '--stats', id]);
  assert.equal(s.code, 0, s.stderr);
  const ev = JSON.parse(s.stdout);
  assert.equal(ev.type, 'stats');
  assert.equal(ev.id, id);
  for (const k of ['cpu', 'memory', 'pids', 'blkio', 'hugetlb']) assert.ok(k in ev.data, k);
  assert.equal(ev.data.memory.usage.limit, 7340032);
  assert.equal(ev.data.pids.limit, 20);
  assert.ok(ev.data.pids.current >= 1);
  assert.ok(ev.data.cpu.usage.total > 0);

  const events = await eventsUntilOom(root, id, '300ms', 15_000);
  assert.ok(events.some((e) => e.type === 'oom' && e.id === id && e.data === undefined));
  assert.equal(rt(['delete', '--force', id]).code, 0);
});
