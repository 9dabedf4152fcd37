// Every namespace type through bin/tsrun: new ones (incl. time with offsets and cgroup),
// joined ones by path (a second container in the first one's namespaces), and --no-pivot.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tsrun, tsrunToFiles, uniqueId, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot, hostMountCount } from '../helpers/bundle';

const root = stateRoot('namespaces');
const mountsBefore = hostMountCount();
const rt = (args: string[]): Result => tsrun(['--root', root, ...args]);

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  assert.equal(hostMountCount(), mountsBefore, 'host mount table changed');
});

function hostUptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

test('a time namespace with boottime and monotonic offsets', () => {
  const config = baseConfig(['sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time']);
  (config.linux.namespaces as Array<{ type: string }>).push({ type: 'time' });
  config.linux.timeOffsets = { boottime: { secs: 86400, nanosecs: 0 }, monotonic: { secs: 3600, nanosecs: 0 } };
  const before = hostUptime();
  const r = rt(['run', '--bundle', makeBundle(config), uniqueId('time')]);
  assert.equal(r.code, 0, r.stderr);
  const [uptime, mono, boot, ns] = r.stdout.trim().split('\n');
  const shift = Number(uptime?.split(' ')[0]) - before;
  assert.ok(shift > 86390 && shift < 86410, `uptime inside moved by ${shift}s`);
  assert.match(mono ?? '', /^monotonic\s+3600\s+0$/);
  assert.match(boot ?? '', /^boottime\s+86400\s+0$/);
  assert.notEqual(ns, readlinkSync('/proc/self/ns/time'));
});

test('time offsets without a new time namespace are refused', () => {
  const config = baseConfig(['true']);
  config.linux.timeOffsets = { boottime: { secs: 1, nanosecs: 0 } };
  const r = rt(['run', '--bundle', makeBundle(config), uniqueId('timebad')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /time offsets need a new time namespace/);
});

test('a cgroup namespace: the container sees its own cgroup as the root', () => {
  const config = baseConfig(['sh', '-c', 'cat /proc/self/cgroup; readlink /proc/self/ns/cgroup']);
  (config.linux.namespaces as Array<{ type: string }>).push({ type: 'cgroup' });
  const r = rt(['run', '--bundle', makeBundle(config), uniqueId('cgns')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const ns = lines.pop();
  assert.notEqual(ns, readlinkSync('/proc/self/ns/cgroup'));
  for (const line of lines) assert.match(line, /:\/$/, `cgroup path inside is the namespace root: ${line}`);
});

test('namespaces joined by path: a second container shares the first one\'s pid, net, ipc and uts', () => {
  const first = uniqueId('first');
  const a = baseConfig(['sleep', '1000']);
  assert.equal(tsrunToFiles(['--root', root, 'run', '--detach', '--bundle', makeBundle(a), first]).code, 0);
  const pid = JSON.parse(rt(['state', first]).stdout).pid as number;

  const b = baseConfig(['sh', '-c', 'for n in pid net ipc uts; do readlink /proc/self/ns/$n; done; hostname; ps -o comm | grep -c sleep']);
  delete (b as Record<string, unknown>).hostname; // the joined UTS namespace keeps its name
  b.linux.namespaces = [
    { type: 'pid', path: `/proc/${pid}/ns/pid` },
    { type: 'network', path: `/proc/${pid}/ns/net` },
    { type: 'ipc', path: `/proc/${pid}/ns/ipc` },
    { type: 'uts', path: `/proc/${pid}/ns/uts` },
    { type: 'mount' },
  ];
  const r = rt(['run', '--bundle', makeBundle(b), uniqueId('second')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  ['pid', 'net', 'ipc', 'uts'].forEach((ns, i) => assert.equal(lines[i], readlinkSync(`/proc/${pid}/ns/${ns}`), ns));
  assert.equal(lines[4], 'tsrun-demo', 'hostname of the first container');
  assert.equal(lines[5], '1', 'the first container\'s sleep is visible in the shared pid namespace');
  assert.equal(rt(['delete', '--force', first]).code, 0);
});

test('--no-pivot: the rootfs is moved to / and chrooted; the host is still not visible', () => {
  const r = rt(['run', '--no-pivot', '--bundle', makeBundle(baseConfig(['sh', '-c', 'echo $(ls /)'])), uniqueId('nopivot')]);
  assert.equal(r.code, 0, r.stderr);
  const [listing] = r.stdout.trim().split('\n');
  assert.match(listing ?? '', /\bbin\b.*\bproc\b/);
  assert.doesNotMatch(listing ?? '', /\bwork\b|\bnode_modules\b/);
});

test('duplicate namespace types and mappings without a user namespace are refused', () => {
  const dup = baseConfig(['true']);
  (dup.linux.namespaces as Array<{ type: string }>).push({ type: 'pid' });
  const r1 = rt(['run', '--bundle', makeBundle(dup), uniqueId('dup')]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /duplicate namespace type \\?"pid\\?"/);
  const maps = baseConfig(['true']);
  maps.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  maps.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  const r2 = rt(['run', '--bundle', makeBundle(maps), uniqueId('maps')]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /mappings are only allowed with a new user namespace/);
});
