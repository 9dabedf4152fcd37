// `checkpoint` and `restore` with CRIU, on the host: the command line (podman's
// `checkpoint --help` probe, refused flags, bad values), errors for unknown or non-running
// containers, criu missing, a failed dump that quotes criu's log and leaves the container
// running, failed restores that leave nothing. A dump cannot succeed on every host (criu 3.17
// does not understand the vDSO of kernels like 6.18), so the real round trips are
// test/vm/checkpoint-restore.test.ts, run by the last test here in the VM of scripts/vm
// (Debian's kernel 6.1); each of its tests becomes a subtest here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, uniqueId, tempDir, REPO, TSRUN } from '../helpers/tsrun';
import { stateRoot } from '../helpers/bundle';
import { waitFor } from '../helpers/wait';
import { need } from '../helpers/need';
import { reportGuestSuite, runInVm, vmMissing } from '../helpers/vm';
import { CriuTestRoot, count, cgroupDir } from '../helpers/criu';

const root = stateRoot('criu');
const work = tempDir('criu');
const c = new CriuTestRoot(root, work.path, 30_000);
const rt = c.rt.bind(c);
const state = c.state.bind(c);
const counterBundle = c.counterBundle.bind(c);
const SUITE = 'build/test/vm/checkpoint-restore.test.js';
/** What criu needs beyond the VM's built-in modules (socket diag, nf_tables for its checks, conntrack). */
const MODULES = 'nf_tables,nfnetlink,unix_diag,inet_diag,tcp_diag,udp_diag,raw_diag,netlink_diag,af_packet_diag,nf_conntrack_netlink';

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  // (The mount count is not compared: other test runs may mount meanwhile; ours are named.)
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes('criu-root'), 'a criu-root mount left behind');
  work.cleanup();
});

test('checkpoint --help exits 0 (podman\'s probe) and lists runc\'s flags', () => {
  const r = tsrun(['checkpoint', '--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const flag of ['--image-path', '--work-path', '--parent-path', '--leave-running', '--tcp-established', '--ext-unix-sk', '--shell-job', '--file-locks', '--pre-dump', '--manage-cgroups-mode', '--empty-ns', '--auto-dedup', '--lazy-pages', '--page-server', '--status-fd']) {
    assert.ok(r.stdout.includes(flag), `${flag} missing from checkpoint --help`);
  }
  const h = tsrun(['restore', '--help']);
  assert.equal(h.code, 0, h.stderr);
  for (const flag of ['--bundle', '--image-path', '--work-path', '--console-socket', '--detach', '--pid-file', '--no-subreaper', '--no-pivot', '--lsm-profile', '--lsm-mount-context']) {
    assert.ok(h.stdout.includes(flag), `${flag} missing from restore --help`);
  }
});

test('flags tsrun does not implement are refused with the reason, before anything happens', () => {
  const cases: Array<[string[], RegExp]> = [
    [['checkpoint', '--lazy-pages', 'x'], /--lazy-pages: lazy migration .* not supported/],
    [['checkpoint', '--page-server', '10.0.0.1:27', 'x'], /--page-server: .* not supported/],
    [['checkpoint', '--status-fd', '3', 'x'], /--status-fd: .*--lazy-pages is not supported/],
    [['checkpoint', '--manage-cgroups-mode', 'bogus', 'x'], /invalid --manage-cgroups-mode value \\?"bogus\\?"/],
    [['checkpoint', '--empty-ns', 'ipc', 'x'], /--empty-ns: namespace \\?"ipc\\?" is not supported/],
    [['restore', '--lazy-pages', 'x'], /--lazy-pages: .* not supported/],
    [['restore', '--lsm-profile', 'apparmor:foo', 'x'], /--lsm-profile: .* not supported/],
    [['restore', '--lsm-mount-context', 'system_u:object_r:container_file_t:s0', 'x'], /--lsm-mount-context: .* not supported/],
    [['restore', '--no-pivot', 'x'], /--no-pivot: criu restores the mount namespace itself/],
  ];
  for (const [args, message] of cases) {
    const r = rt(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  // The "off" values runc also accepts.
  const off = rt(['checkpoint', '--lazy-pages=false', '--status-fd', '-1', 'nosuch']);
  assert.match(off.stderr, /container does not exist/);
});

test('checkpoint: unknown, created and stopped containers are refused', async () => {
  assert.match(rt(['checkpoint', '--image-path', join(work.path, 'none'), 'nosuch']).stderr, /container does not exist/);
  const id = uniqueId('created');
  const { bundle } = counterBundle('created');
  assert.equal(rt(['create', '--bundle', bundle, id]).code, 0);
  const r = rt(['checkpoint', '--image-path', join(work.path, 'img-created'), id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /container cannot be checkpointed in created state/);
  assert.equal(rt(['kill', id, 'KILL']).code, 0);
  await waitFor(() => state(id).status === 'stopped', 'the container to stop');
  const s = rt(['checkpoint', '--image-path', join(work.path, 'img-stopped'), id]);
  assert.match(s.stderr, /container cannot be checkpointed in stopped state/);
  assert.equal(rt(['delete', '--force', id]).code, 0);
});

test('criu missing: a clear error, and the container keeps running', async () => {
  const id = uniqueId('nocriu');
  const { bundle, data } = counterBundle('nocriu');
  assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
  try {
    await waitFor(() => count(data) >= 1, 'the counter to start');
    const r = rt(['checkpoint', '--image-path', join(work.path, 'img-nocriu'), id], { ...process.env, PATH: '/nonexistent' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /criu not found in PATH \(\/nonexistent\): checkpoint and restore need CRIU/);
    assert.equal(state(id).status, 'running');
  } finally {
    rt(['delete', '--force', id]);
  }
});

test('a failed dump quotes criu\'s log and leaves the container running and intact', async () => {
  need(existsSync('/usr/sbin/criu') || spawnSync('criu', ['--version']).status === 0, 'criu (Debian package criu)');
  const id = uniqueId('dumpfail');
  const { bundle, data } = counterBundle('dumpfail');
  // The container's stdout is a unix socket whose peer is this process: criu refuses such an
  // external socket without --ext-unix-sk on any kernel (and on kernels whose vDSO it does
  // not understand it fails before).
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.args = ['sh', '-c', `i=0; while :; do i=$((i+1)); echo $i > /data/count; sleep 0.2; done`];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const child = spawn(TSRUN, ['--root', root, 'run', '-d', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  try {
    await waitFor(() => count(data) >= 1, 'the counter to start');
    const before = state(id);
    const images = join(work.path, 'img-dumpfail');
    const r = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /criu DUMP failed/);
    assert.ok(r.stderr.includes(`from criu's log ${join(images, 'dump.log')}`), r.stderr);
    assert.match(r.stderr, /Error \(criu\//, 'the error lines of the log are quoted');
    const after = state(id);
    assert.equal(after.status, 'running');
    assert.equal(after.pid, before.pid);
    const n = count(data);
    await waitFor(() => count(data) > n, 'the counter to go on after the failed dump');
  } finally {
    rt(['delete', '--force', id]);
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
});

test('restore: a missing or empty image directory fails and leaves no state, cgroup or mount', () => {
  const { bundle } = counterBundle('restorefail');
  const missing = rt(['restore', '-d', '--bundle', bundle, '--image-path', join(work.path, 'nosuch'), uniqueId('rmiss')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--image-path .*nosuch: not a checkpoint of a container/);
  const empty = join(work.path, 'img-empty');
  mkdirSync(empty, { recursive: true });
  writeFileSync(join(empty, 'descriptors.json'), '["/dev/null","/dev/null","/dev/null"]');
  const id = uniqueId('rempty');
  const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', empty, id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /criu (RESTORE failed|not found)/);
  assert.ok(!existsSync(join(root, id)), 'state directory left behind');
  assert.ok(!existsSync(cgroupDir(id)), 'cgroup left behind');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes('criu-root'), 'criu-root mount left behind');
});

test('delete --force of a restore killed while criu-root was bound: the bound rootfs is detached and left alone, the state removed', () => {
  const id = uniqueId('killed');
  const rootfs = join(work.path, 'rootfs-killed');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'keep'), 'x');
  const criuRoot = join(root, id, 'criu-root');
  mkdirSync(criuRoot, { recursive: true });
  const m = spawnSync('mount', ['--bind', rootfs, criuRoot]);
  assert.equal(m.status, 0, String(m.stderr));
  const r = rt(['delete', '--force', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(rootfs, 'etc', 'keep')), 'the recursive removal went into the bound rootfs');
  assert.ok(!existsSync(join(root, id)));
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(criuRoot), 'criu-root still mounted');
});

test('round trips in the kernel 6.1 VM (scripts/vm), where criu 3.17 can dump', { timeout: 1_500_000 }, async (t) => {
  const missing = vmMissing();
  need(missing === undefined, `the VM lane needs ${missing}`);
  need(spawnSync('sh', ['-c', 'command -v criu']).status === 0, 'criu (Debian package criu)');
  need(existsSync(TSRUN), `${TSRUN} (make build)`);
  need(existsSync(join(REPO, SUITE)), `${SUITE} (make build/test/.stamp)`);
  const r = await runInVm(['sh', '-c', `criu check && exec node --test --test-reporter=tap --test-concurrency=1 ${SUITE}`], { timeoutSec: 1200, vmArgs: ['--modules', MODULES] });
  await reportGuestSuite(t, r, 10);
  t.diagnostic(`VM: ${r.seconds.toFixed(1)} s`);
});
