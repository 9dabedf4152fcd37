// --systemd-cgroup with real containers against a FAKE systemd (test/helpers/fake-systemd.ts: a
// peer on a private dbus-daemon owning org.freedesktop.systemd1, reached through
// DBUS_SYSTEM_BUS_ADDRESS). What is real: bin/tsrun, the D-Bus traffic through dbus-daemon, the
// containers and their cgroups on this host. What is not: the fake only records the unit
// properties and makes the unit's directories in some hierarchies as systemd would; the real
// systemd is exercised by cgroups-systemd-real.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TSRUN, uniqueId, type Result } from '../helpers/tsrun';
import { makeBundle, stateRoot } from '../helpers/bundle';
import { startPrivateBus, type PrivateBus } from '../helpers/dbus-bus';
import { startFakeSystemd, type FakeSystemd } from '../helpers/fake-systemd';
import { detectLayout } from '../../src/cgroups/layout';
import { Variant } from '../../src/dbus/marshal';
import { cgroupConfig } from '../helpers/cgroups';

const root = stateRoot('systemd-fake');
const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
const MOUNTS: Record<string, string> = {};
for (const h of layout.v1) for (const c of h.controllers) MOUNTS[c] = h.mountPoint;
if (layout.unified) MOUNTS[''] = layout.unified.mountPoint;
const SLICE = `tsrun-t${process.pid}.slice`;
const SLICE_DIR = `/tsrun.slice/${SLICE}`;

let bus: PrivateBus;
let fake: FakeSystemd;

/** bin/tsrun without blocking the event loop (the fake systemd answers from this process). */
function rt(args: string[], env: NodeJS.ProcessEnv = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus.address }): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-out-'));
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  const child = spawn(TSRUN, ['--root', root, ...args], { stdio: ['ignore', out, err], env });
  return new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      resolve({ code, signal, stdout: readFileSync(join(dir, 'stdout'), 'utf8'), stderr: readFileSync(join(dir, 'stderr'), 'utf8') });
      rmSync(dir, { recursive: true, force: true });
    });
  });
}

const config = cgroupConfig;

/**
 * Every unit directory left below the test slice in any hierarchy. (The slice directories
 * themselves stay where tsrun's file driver made them for hierarchies systemd does not manage,
 * as with runc; the after() hook removes them.)
 */
function leftovers(): string[] {
  const out: string[] = [];
  for (const m of new Set(Object.values(MOUNTS))) {
    const walk = (d: string, top: boolean) => {
      if (!existsSync(d)) return;
      if (!top) out.push(d);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name), false);
    };
    walk(join(m, SLICE_DIR), true);
  }
  return out;
}

function rmdirQuiet(d: string): void {
  try {
    rmdirSync(d);
  } catch {
    // gone, or not empty (another test's slice): reported by leftovers()
  }
}

const propsOf = (call: { body: unknown[] }) => new Map(call.body[2] as Array<[string, Variant]>);
const callsOf = (member: string) => fake.calls.filter((c) => c.member === member);

before(async () => {
  bus = await startPrivateBus();
  fake = await startFakeSystemd(bus.address);
});

after(async () => {
  for (const id of readdirSync(root)) await rt(['delete', '--force', id]);
  const left = leftovers();
  for (const d of [...left].reverse()) rmdirQuiet(d);
  for (const m of new Set(Object.values(MOUNTS))) {
    rmdirQuiet(join(m, SLICE_DIR));
    rmdirQuiet(join(m, '/tsrun.slice'));
  }
  fake?.stop();
  await bus?.stop();
  assert.deepEqual(left, [], 'cgroups left behind');
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
});

test('create starts a transient scope with the init and the limits systemd knows; files, update, pause, delete', async () => {
  assert.equal(layout.mode, 'hybrid', 'this test expects the cgroup v1 hybrid host');
  const id = uniqueId('scope');
  const unit = `tsrun-${id}.scope`;
  const resources = { memory: { limit: 64 << 20 }, pids: { limit: 50 }, cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0' }, blockIO: { weight: 300 } };
  const created = await rt(['--systemd-cgroup', 'create', '--bundle', makeBundle(config(['sleep', '1000'], `${SLICE}:tsrun:${id}`, resources)), id]);
  assert.equal(created.code, 0, created.stderr);
  const state = JSON.parse((await rt(['state', id])).stdout) as { pid: number; status: string };
  assert.equal(state.status, 'created');

  // The StartTransientUnit call, as runc makes it on a v1 host.
  const start = callsOf('StartTransientUnit').find((c) => c.body[0] === unit);
  assert.ok(start, `StartTransientUnit ${unit}; calls: ${fake.calls.map((c) => c.member).join(' ')}`);
  assert.equal(start.body[1], 'replace');
  const p = propsOf(start);
  assert.deepEqual(p.get('Slice'), new Variant('s', SLICE));
  assert.deepEqual(p.get('PIDs'), new Variant('au', [state.pid]));
  assert.deepEqual(p.get('Delegate'), new Variant('b', true));
  assert.deepEqual(p.get('Description'), new Variant('s', `tsrun container ${id}`));
  assert.deepEqual(p.get('DefaultDependencies'), new Variant('b', false));
  assert.deepEqual(p.get('MemoryLimit'), new Variant('t', 64n << 20n));
  assert.deepEqual(p.get('TasksMax'), new Variant('t', 50n));
  assert.deepEqual(p.get('CPUShares'), new Variant('t', 512n));
  assert.deepEqual(p.get('CPUQuotaPeriodUSec'), new Variant('t', 100_000n));
  assert.deepEqual(p.get('CPUQuotaPerSecUSec'), new Variant('t', 500_000n));
  assert.deepEqual(p.get('BlockIOWeight'), new Variant('t', 300n));
  assert.deepEqual(p.get('AllowedCPUs'), new Variant('ay', Buffer.from([1])));
  assert.deepEqual(p.get('DevicePolicy'), new Variant('s', 'strict'));
  const allow = p.get('DeviceAllow')!.value as Array<[string, string]>;
  assert.ok(allow.some(([d, a]) => d === '/dev/char/1:3' && a === 'rwm'), `/dev/null allowed: ${JSON.stringify(allow)}`);
  assert.ok(allow.some(([d]) => d === 'char-pts'), `the pts major by name: ${JSON.stringify(allow)}`);
  assert.ok(callsOf('Subscribe').length > 0, 'subscribed to JobRemoved');

  // The directories: systemd's (name=systemd, memory, pids, cgroup2) and tsrun's (the others),
  // the init in all of them, the files written by the file driver.
  const rec = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as { cgroup: { driver: string; paths: Record<string, string>; systemd: { unit: string; slice: string } } };
  assert.deepEqual(rec.cgroup.systemd, { unit, slice: SLICE });
  const dir = (c: string) => join(MOUNTS[c]!, SLICE_DIR, unit);
  for (const c of ['name=systemd', 'memory', 'pids', 'cpu', 'cpuset', 'devices', 'freezer', 'blkio', '']) {
    assert.equal(rec.cgroup.paths[c], dir(c), `${c || 'cgroup2'} path recorded`);
    assert.ok(readFileSync(join(dir(c), 'cgroup.procs'), 'utf8').split('\n').includes(String(state.pid)), `init in ${dir(c)}`);
  }
  const read = (c: string, f: string) => readFileSync(join(dir(c), f), 'utf8').trim();
  assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 << 20));
  assert.equal(read('pids', 'pids.max'), '50');
  assert.equal(read('cpu', 'cpu.shares'), '512');
  assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
  assert.equal(read('cpuset', 'cpuset.cpus'), '0');
  assert.match(read('devices', 'devices.list'), /^c 1:3 rwm$/m);

  assert.equal((await rt(['start', id])).code, 0);
  const ps = await rt(['ps', '--format', 'json', id]);
  assert.deepEqual(JSON.parse(ps.stdout), [state.pid]);

  // update: SetUnitProperties, then the files.
  const upd = await rt(['update', '--memory', String(128 << 20), '--pids-limit', '60', id]);
  assert.equal(upd.code, 0, upd.stderr);
  const set = callsOf('SetUnitProperties').find((c) => c.body[0] === unit);
  assert.ok(set, 'SetUnitProperties called');
  assert.equal(set.body[1], true, 'runtime properties');
  assert.deepEqual(propsOf(set).get('MemoryLimit'), new Variant('t', 128n << 20n));
  assert.deepEqual(propsOf(set).get('TasksMax'), new Variant('t', 60n));
  assert.equal(read('memory', 'memory.limit_in_bytes'), String(128 << 20));
  assert.equal(read('pids', 'pids.max'), '60');

  // pause/resume and stats through the file driver on the unit's directories.
  assert.equal((await rt(['pause', id])).code, 0);
  assert.equal(read('freezer', 'freezer.state'), 'FROZEN');
  assert.equal(JSON.parse((await rt(['state', id])).stdout).status, 'paused');
  assert.equal((await rt(['resume', id])).code, 0);
  const events = await rt(['events', '--stats', id]);
  assert.equal(JSON.parse(events.stdout).data.memory.usage.limit, 128 << 20);

  // delete: processes killed, StopUnit + ResetFailedUnit, every directory gone.
  const del = await rt(['delete', '--force', id]);
  assert.equal(del.code, 0, del.stderr);
  assert.ok(callsOf('StopUnit').some((c) => c.body[0] === unit), 'StopUnit called');
  assert.ok(callsOf('ResetFailedUnit').some((c) => c.body[0] === unit), 'ResetFailedUnit called');
  for (const c of Object.keys(MOUNTS)) assert.equal(existsSync(dir(c)), false, `${dir(c)} removed`);
  assert.equal(fake.units.has(unit), false);
});

test('a cgroupsPath not of the form slice:prefix:name is refused; a name ending in .slice makes a slice unit', async () => {
  const id = uniqueId('dflt');
  const bad = await rt(['--systemd-cgroup', 'create', '--bundle', makeBundle(config(['true'], 'not-three-parts')), id]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /linux\.cgroupsPath \\?"not-three-parts\\?": expected \\?"slice:prefix:name\\?" with --systemd-cgroup/);
  assert.equal(existsSync(join(root, id)), false);

  // A slice unit nested under the test slice: Wants= instead of Slice=, no Delegate.
  const sliceName = `${SLICE.replace(/\.slice$/, '')}-${id.replace(/[^a-z0-9]/gi, '')}.slice`;
  const r = await rt(['--systemd-cgroup', 'create', '--bundle', makeBundle(config(['sleep', '1000'], `${SLICE}:ignored:${sliceName}`)), id]);
  assert.equal(r.code, 0, r.stderr);
  const start = callsOf('StartTransientUnit').find((c) => c.body[0] === sliceName);
  assert.ok(start, 'a slice unit started');
  assert.deepEqual(propsOf(start).get('Wants'), new Variant('as', [SLICE]));
  assert.equal(propsOf(start).has('Delegate'), false);
  assert.equal(propsOf(start).has('Slice'), false);
  assert.ok(existsSync(join(MOUNTS.memory!, SLICE_DIR, sliceName)));
  assert.equal((await rt(['delete', '--force', id])).code, 0);
  assert.equal(existsSync(join(MOUNTS.memory!, SLICE_DIR, sliceName)), false);
});

test('a failed systemd job, a missing systemd: clear errors, nothing left behind', async () => {
  const id = uniqueId('failed');
  fake.failNextStart('failed');
  const r = await rt(['--systemd-cgroup', 'create', '--bundle', makeBundle(config(['true'], `${SLICE}:tsrun:${id}`, { pids: { limit: 10 } })), id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`systemd could not start the unit tsrun-${id}\\.scope: its job ended \\\\?"failed\\\\?"`));
  assert.ok(callsOf('ResetFailedUnit').some((c) => c.body[0] === `tsrun-${id}.scope`));
  assert.equal(existsSync(join(root, id)), false);

  const id2 = uniqueId('nobus');
  const socket = join(bus.dir, 'no-systemd-here');
  const r2 = await rt(['--systemd-cgroup', 'create', '--bundle', makeBundle(config(['true'], `${SLICE}:tsrun:${id2}`)), id2], { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` });
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, new RegExp(`systemd is not reachable at ${socket.replace(/[.]/g, '\\.')} \\(connect .*ENOENT\\)`));
  assert.equal(existsSync(join(root, id2)), false);
  assert.deepEqual(leftovers().filter((d) => d.includes(id) || d.includes(id2)), []);
});
