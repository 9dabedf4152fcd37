// `checkpoint` and `restore` with CRIU.
//
// On the host: the command line (podman's `checkpoint --help` probe, refused flags, bad
// values), errors for unknown or non-running containers, criu missing, a failed dump that
// quotes criu's log and leaves the container running, a failed restore that leaves nothing.
// A dump cannot succeed on every host (criu 3.17 does not understand the vDSO of kernels like
// 6.18), so the real round trips run in the scripts/vm guest (Debian's kernel 6.1): the last
// host test boots it and runs this same file there with TSRUN_CRIU_GUEST=1, which selects the
// guest tests below (a busybox counter dumped and restored, with and without --leave-running,
// a bind mount and its own network namespace, hooks, a foreground restore's exit code).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tsrunToFiles, uniqueId, tempDir, REPO, TSRUN, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot } from '../helpers/bundle';
import { waitFor } from '../helpers/wait';
import { need } from '../helpers/need';

const GUEST = process.env.TSRUN_CRIU_GUEST === '1';
const root = stateRoot(GUEST ? 'criu-guest' : 'criu');
const work = tempDir('criu');
// Commands are slow in the TCG guest (seconds each).
const TIMEOUT = GUEST ? 180_000 : 30_000;

function rt(args: string[], env?: NodeJS.ProcessEnv): Result {
  return tsrunToFiles(['--root', root, ...args], { timeout: TIMEOUT, ...(env ? { env } : {}) });
}

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  // (The mount count is not compared: other test runs may mount meanwhile; ours are named.)
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes('criu-root'), 'a criu-root mount left behind');
  work.cleanup();
});

/** A container counting in /data/count (a bind mount of a host directory), stdio closed first. */
function counterBundle(name: string, opts: { until?: number; exitCode?: number } = {}): { bundle: string; data: string } {
  const data = join(work.path, `data-${name}`);
  mkdirSync(data, { recursive: true });
  const loop = opts.until === undefined ? 'while :; do' : `while [ $i -lt ${opts.until} ]; do`;
  const script = `exec </dev/null >/dev/null 2>&1; i=0; ${loop} i=$((i+1)); echo $i > /data/count; sleep 0.2; done; exit ${opts.exitCode ?? 0}`;
  const config = baseConfig(['sh', '-c', script]);
  config.process.terminal = false;
  (config.mounts as unknown[]).push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'rw'] });
  // A prestart hook records the state it was given (create's, then restore's).
  (config as Record<string, unknown>).hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${data}/prestart.json`] }] };
  return { bundle: makeBundle(config), data };
}

function count(data: string): number {
  return Number(readFileSync(join(data, 'count'), 'utf8').trim());
}

function state(id: string): { status: string; pid: number } {
  const r = rt(['state', id]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function cgroupDir(id: string): string {
  return `/sys/fs/cgroup/${id}`;
}

if (!GUEST) {
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

  test('round trips in the kernel 6.1 VM (scripts/vm), where criu 3.17 can dump', () => {
    need(existsSync(join(REPO, 'scripts', 'vm', 'run')), 'scripts/vm/run (the VM lane)');
    need(spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0, 'qemu-system-x86_64 (Debian package qemu-system-x86)');
    need(spawnSync('sh', ['-c', 'command -v criu']).status === 0, 'criu (Debian package criu)');
    const testFile = join(REPO, 'build', 'test', 'integration', 'checkpoint-restore.test.js');
    // The guest has no kmod and the host's /lib/modules: the modules criu needs are loaded
    // from the VM kernel's tree (test/helpers/vm-modules.sh).
    const modules = 'crc32c_generic nf_tables unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag nf_conntrack_netlink';
    const script = `test/helpers/vm-modules.sh ${modules} && criu check && exec node --test --test-concurrency=1 ${testFile}`;
    const r = spawnSync(join(REPO, 'scripts', 'vm', 'run'), ['--timeout', '1500', '--env', 'TSRUN_CRIU_GUEST=1', '--', 'bash', '-c', script], {
      cwd: REPO, encoding: 'utf8', timeout: 1_600_000, maxBuffer: 64 << 20,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `the guest tests failed (status ${r.status}):\n${output.slice(-6000)}`);
    assert.match(r.stdout, /# pass [1-9]/, output.slice(-3000));
    assert.match(r.stdout, /# fail 0/, output.slice(-3000));
  });
} else {
  test('guest: checkpoint stops and deletes the container; restore continues the counter', async () => {
    const id = uniqueId('rt');
    const { bundle, data } = counterBundle('rt');
    assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
    await waitFor(() => count(data) >= 3, 'the counter to reach 3', 60_000);
    const images = join(work.path, 'img-rt');
    const c = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(c.code, 0, c.stderr);
    // Dumped, killed and deleted, as runc does without --leave-running.
    assert.match(rt(['state', id]).stderr, /container does not exist/);
    assert.ok(!existsSync(cgroupDir(id)), 'the cgroup of the checkpointed container remains');
    const dumped = count(data);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(count(data), dumped, 'the counter went on after the checkpoint');

    const pidFile = join(work.path, 'rt.pid');
    const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, '--pid-file', pidFile, id]);
    assert.equal(r.code, 0, r.stderr);
    const s = state(id);
    assert.equal(s.status, 'running');
    assert.equal(readFileSync(pidFile, 'utf8'), String(s.pid));
    assert.notEqual(s.pid, 0);
    await waitFor(() => count(data) > dumped + 2, 'the counter to continue after restore', 60_000);
    assert.ok(count(data) > dumped, `counter restarted: ${count(data)} after ${dumped}`);
    // Its own network namespace, the restored init in the container's cgroup, the hook's state.
    assert.notEqual(readlinkSync(`/proc/${s.pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    assert.ok(readFileSync(join(cgroupDir(id), 'cgroup.procs'), 'utf8').split('\n').includes(String(s.pid)), 'restored init not in the cgroup');
    assert.equal(JSON.parse(readFileSync(join(data, 'prestart.json'), 'utf8')).pid, s.pid, 'the prestart hook did not see the restored pid');
    const ps = rt(['ps', '--format', 'json', id]);
    assert.ok(JSON.parse(ps.stdout).includes(s.pid), ps.stdout);

    assert.equal(rt(['kill', id, 'KILL']).code, 0);
    await waitFor(() => state(id).status === 'stopped', 'the restored container to stop', 60_000);
    assert.equal(rt(['delete', id]).code, 0);
    assert.ok(!existsSync(join(root, id)));
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after delete');
  });

  test('guest: checkpoint --leave-running keeps the container; a second container restores from the images', async () => {
    const id = uniqueId('lr');
    const { bundle, data } = counterBundle('lr');
    assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
    try {
      await waitFor(() => count(data) >= 3, 'the counter to reach 3', 60_000);
      const before = state(id);
      const images = join(work.path, 'img-lr');
      const work2 = join(work.path, 'work-lr');
      const c = rt(['checkpoint', '--leave-running', '--image-path', images, '--work-path', work2, id]);
      assert.equal(c.code, 0, c.stderr);
      assert.ok(existsSync(join(work2, 'dump.log')), 'the log goes to --work-path');
      const after = state(id);
      assert.equal(after.status, 'running');
      assert.equal(after.pid, before.pid);
      const n = count(data);
      await waitFor(() => count(data) > n, 'the counter to go on', 60_000);
      assert.equal(rt(['delete', '--force', id]).code, 0);

      // The images are restored into another id, with the dump-time value then counting on.
      const id2 = uniqueId('lr2');
      writeFileSync(join(data, 'count'), '0\n');
      const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, id2]);
      assert.equal(r.code, 0, r.stderr);
      try {
        assert.equal(state(id2).status, 'running');
        await waitFor(() => count(data) >= 4, 'the restored counter to continue from its dumped value', 60_000);
      } finally {
        rt(['delete', '--force', id2]);
      }
    } finally {
      rt(['delete', '--force', id]);
    }
  });

  test('guest: a foreground restore waits and exits with the container\'s status, then deletes it', async () => {
    const id = uniqueId('fg');
    const { bundle, data } = counterBundle('fg', { until: 80, exitCode: 7 });
    assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
    await waitFor(() => count(data) >= 3, 'the counter to reach 3', 60_000);
    const images = join(work.path, 'img-fg');
    const c = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(c.code, 0, c.stderr);
    assert.ok(count(data) < 80, 'the container ended before it was dumped');
    const r = rt(['restore', '--bundle', bundle, '--image-path', images, id]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(count(data), 80);
    assert.ok(!existsSync(join(root, id)), 'state left after the foreground restore');
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after the foreground restore');
  });

  test('guest: --pre-dump, then a dump with --parent-path, restores', async () => {
    const id = uniqueId('pre');
    const { bundle, data } = counterBundle('pre');
    assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
    try {
      await waitFor(() => count(data) >= 2, 'the counter to start', 60_000);
      const images = join(work.path, 'img-pre');
      const pre = rt(['checkpoint', '--pre-dump', '--image-path', join(images, 'parent'), id]);
      assert.equal(pre.code, 0, pre.stderr);
      assert.equal(state(id).status, 'running', 'a pre-dump leaves the container running');
      assert.ok(readdirSync(join(images, 'parent')).some((f) => f.startsWith('pages-')), 'no memory pages in the pre-dump');
      const bad = rt(['checkpoint', '--parent-path', '/abs', '--image-path', join(images, 'final'), id]);
      assert.match(bad.stderr, /--parent-path must be relative/);
      const c = rt(['checkpoint', '--parent-path', '../parent', '--image-path', join(images, 'final'), id]);
      assert.equal(c.code, 0, c.stderr);
      assert.ok(existsSync(join(images, 'final', 'parent')), 'criu links the parent images');
      const dumped = count(data);
      const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', join(images, 'final'), id]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(() => count(data) > dumped + 1, 'the counter to continue', 60_000);
    } finally {
      rt(['delete', '--force', id]);
    }
  });

  test('guest: stdio pipes of the dumped container are those of the restoring caller', async () => {
    const id = uniqueId('pipe');
    const { bundle, data } = counterBundle('pipe');
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.process.args = ['sh', '-c', 'exec </dev/null 2>&1; i=0; while :; do i=$((i+1)); echo $i > /data/count; echo "n=$i"; sleep 0.2; done'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    // stdout a real pipe to `cat` (shell pipes; node's 'pipe' stdio would be unix sockets).
    const piped = (args: string, out: string) =>
      spawn('sh', ['-c', `${TSRUN} --root ${root} ${args} 2>${out}.err | cat > ${out}`], { stdio: 'ignore' });
    const out1 = join(work.path, 'pipe-1.out');
    const first = piped(`run -d --bundle ${bundle} ${id}`, out1);
    try {
      await waitFor(() => /n=3/.test(readFileSync(out1, 'utf8')), 'the container to write to its pipe', 60_000);
      const images = join(work.path, 'img-pipe');
      const c = rt(['checkpoint', '--image-path', images, id]);
      assert.equal(c.code, 0, c.stderr);
      assert.match(readFileSync(join(images, 'descriptors.json'), 'utf8'), /"pipe:\[\d+\]"/);
      const dumped = count(data);
      const out2 = join(work.path, 'pipe-2.out');
      piped(`restore -d --bundle ${bundle} --image-path ${images} ${id}`, out2);
      await waitFor(() => readFileSync(out2, 'utf8').includes(`n=${dumped + 2}`), 'the restored container to write to the new pipe', 60_000);
      assert.ok(!readFileSync(out2, 'utf8').includes('n=1\n'), 'the restored counter started over');
    } finally {
      rt(['delete', '--force', id]);
      first.kill();
    }
  });

  test('guest: a restore criu fails leaves no state, cgroup or process', async () => {
    const id = uniqueId('rf');
    const { bundle, data } = counterBundle('rf');
    assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
    await waitFor(() => count(data) >= 2, 'the counter to start', 60_000);
    const images = join(work.path, 'img-rf');
    const c = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(c.code, 0, c.stderr);
    // The bind mount's source is gone: criu cannot mount the external /data (and the hook,
    // which writes there, is dropped so that criu is what fails).
    renameSync(data, `${data}.moved`);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    delete config.hooks;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /criu RESTORE failed.*from criu's log .*restore\.log/s);
    assert.ok(!existsSync(join(root, id)), 'state left after a failed restore');
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after a failed restore');
    const n = Number(readFileSync(join(`${data}.moved`, 'count'), 'utf8'));
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(Number(readFileSync(join(`${data}.moved`, 'count'), 'utf8')), n, 'a process of the failed restore runs');
  });
}
