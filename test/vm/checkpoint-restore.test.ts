// Runs INSIDE the VM of scripts/vm/run (Debian's kernel 6.1, where criu 3.17 can dump),
// started by test/integration/checkpoint-restore.test.ts; `make test` does not run it on the
// host. Real round trips: a busybox counter dumped and restored (with and without
// --leave-running, pre-dump chains, a foreground restore's exit code, stdio pipes), its bind
// mount, its own network namespace, a network namespace joined by path, hooks, cgroups, and
// failed restores that leave nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueId, tempDir, TSRUN } from '../helpers/tsrun';
import { stateRoot } from '../helpers/bundle';
import { waitFor } from '../helpers/wait';
import { CriuTestRoot, count, cgroupDir } from '../helpers/criu';

const root = stateRoot('criu-vm');
const work = tempDir('criu-vm');
// tsrun under TCG: seconds a command
const c = new CriuTestRoot(root, work.path, 180_000);
const rt = c.rt.bind(c);
const state = c.state.bind(c);
const counterBundle = c.counterBundle.bind(c);

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes('criu-root'), 'a criu-root mount left behind');
  work.cleanup();
});

test('checkpoint stops and deletes the container; restore continues the counter', async () => {
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

test('checkpoint --leave-running keeps the container; a second container restores from the images', async () => {
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
    // ignore: criu leaves cgroups alone; the tasks are in the container's cgroup because
    // criu itself was moved there before it restored them.
    const r = rt(['restore', '-d', '--manage-cgroups-mode', 'ignore', '--bundle', bundle, '--image-path', images, id2]);
    assert.equal(r.code, 0, r.stderr);
    try {
      const s2 = state(id2);
      assert.equal(s2.status, 'running');
      assert.ok(readFileSync(join(cgroupDir(id2), 'cgroup.procs'), 'utf8').split('\n').includes(String(s2.pid)), 'restored init not in the cgroup');
      await waitFor(() => count(data) >= 4, 'the restored counter to continue from its dumped value', 60_000);
    } finally {
      rt(['delete', '--force', id2]);
    }
  } finally {
    rt(['delete', '--force', id]);
  }
});

test('a foreground restore waits and exits with the container\'s status, then deletes it', async () => {
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

test('--pre-dump, then a dump with --parent-path, restores', async () => {
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
    // criu's boolean options are accepted and passed through (the images then need them too).
    const opts = ['--tcp-established', '--ext-unix-sk', '--file-locks', '--shell-job'];
    const c = rt(['checkpoint', ...opts, '--auto-dedup', '--empty-ns', 'network', '--manage-cgroups-mode', 'soft', '--parent-path', '../parent', '--image-path', join(images, 'final'), id]);
    assert.equal(c.code, 0, c.stderr);
    assert.ok(existsSync(join(images, 'final', 'parent')), 'criu links the parent images');
    const dumped = count(data);
    const r = rt(['restore', '-d', ...opts, '--bundle', bundle, '--image-path', join(images, 'final'), id]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => count(data) > dumped + 1, 'the counter to continue', 60_000);
  } finally {
    rt(['delete', '--force', id]);
  }
});

test('stdio pipes of the dumped container are those of the restoring caller', async () => {
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

test('a restore criu fails leaves no state, cgroup or process', async () => {
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

test('a network namespace joined by path is external: the restored container is back in it', async () => {
  const ns = `criu-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  const nsPath = `/run/netns/${ns}`;
  const id = uniqueId('extnet');
  try {
    const { bundle, data } = counterBundle('extnet');
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.linux.namespaces = config.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: nsPath } : n));
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
    await waitFor(() => count(data) >= 2, 'the counter to start', 60_000);
    const inode = statSync(nsPath).ino;
    const images = join(work.path, 'img-extnet');
    const ck = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(ck.code, 0, ck.stderr);
    const dumped = count(data);
    const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, id]);
    assert.equal(r.code, 0, r.stderr);
    const s = state(id);
    assert.equal(readlinkSync(`/proc/${s.pid}/ns/net`), `net:[${inode}]`, 'the restored init is not in the joined network namespace');
    await waitFor(() => count(data) > dumped, 'the counter to continue', 60_000);
  } finally {
    rt(['delete', '--force', id]);
    spawnSync('ip', ['netns', 'delete', ns]);
  }
});
