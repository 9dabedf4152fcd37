// Runs INSIDE the VM of scripts/vm/run (Debian's kernel 6.1, where criu 3.17 can dump),
// started by test/integration/checkpoint-restore.test.ts; `make test` does not run it on the
// host. Real round trips: a busybox counter dumped and restored (with and without
// --leave-running, pre-dump chains, a foreground restore's exit code, stdio pipes, a terminal
// handed to a new --console-socket or proxied by a foreground restore), its bind mount, its own network namespace, a network namespace joined by path, hooks, cgroups, and
// failed restores that leave nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueId, tempDir, TSRUN } from '../helpers/tsrun';
import { stateRoot } from '../helpers/bundle';
import { waitFor } from '../helpers/wait';
import { CriuTestRoot, count, cgroupDir } from '../helpers/criu';
import { ConsoleSocket, PtyReader, openPty, receiveMaster } from '../helpers/pty';

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

/**
 * The counter on a terminal (process.terminal): it prints n=I on the pty each second (and
 * counts in /data/count), echoes "got:LINE" for a line typed meanwhile, exits 5 on "exit".
 */
function terminalBundle(name: string): { bundle: string; data: string } {
  const b = counterBundle(name);
  const config = JSON.parse(readFileSync(join(b.bundle, 'config.json'), 'utf8'));
  config.process.terminal = true;
  config.process.args = ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /data/count; echo "n=$i"; if read -t 1 line; then [ "$line" = exit ] && exit 5; echo "got:$line"; fi; done'];
  writeFileSync(join(b.bundle, 'config.json'), JSON.stringify(config));
  return b;
}

/** A terminal container created with a console socket and started: its master, read. */
async function startOnConsole(id: string, bundle: string, name: string): Promise<PtyReader> {
  const sock = ConsoleSocket.in(work.path, `${name}.sock`);
  try {
    const cr = rt(['create', '--bundle', bundle, '--console-socket', sock.path, id]);
    assert.equal(cr.code, 0, cr.stderr);
    const term = new PtyReader(receiveMaster(sock));
    assert.equal(rt(['start', id]).code, 0);
    await term.waitFor(/^n=2$/m, 60_000);
    return term;
  } finally {
    sock.close();
  }
}

test('a terminal container: restore --console-socket hands over the new pty master, output and input go on through it', async () => {
  const id = uniqueId('tty');
  const { bundle, data } = terminalBundle('tty');
  const terms: PtyReader[] = [];
  try {
    const before = await startOnConsole(id, bundle, 'tty-create');
    terms.push(before);
    before.write('first\n');
    await before.waitFor(/^got:first$/m, 60_000);
    const images = join(work.path, 'img-tty');
    const ck = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(ck.code, 0, ck.stderr);
    // The dumped processes are gone: the old pty has no slave left.
    await before.waitEnd(60_000);
    const dumped = count(data);

    const sock = ConsoleSocket.in(work.path, 'tty-restore.sock');
    let master: number;
    try {
      const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, '--console-socket', sock.path, id]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      master = receiveMaster(sock); // the message as create sends it: "/dev/ptmx" and one fd
    } finally {
      sock.close();
    }
    const after = new PtyReader(master);
    terms.push(after);
    const s = state(id);
    assert.equal(s.status, 'running');
    // The counter goes on from its dumped value on the new terminal, and typing reaches it.
    await after.waitFor(new RegExp(`^n=${dumped + 2}$`, 'm'), 60_000);
    assert.doesNotMatch(after.text, /^n=1$/m, 'the restored counter started over');
    after.write('second\n');
    await after.waitFor(/^got:second$/m, 60_000);
    // Its stdio is the container's pty still (criu made a new pair in its devpts).
    for (const fd of [0, 1, 2]) assert.match(readlinkSync(`/proc/${s.pid}/fd/${fd}`), /^\/dev\/pts\/\d+$/);

    assert.equal(rt(['kill', id, 'KILL']).code, 0);
    await waitFor(() => state(id).status === 'stopped', 'the restored container to stop', 60_000);
    await after.waitEnd(60_000);
    assert.equal(rt(['delete', id]).code, 0);
    assert.ok(!existsSync(join(root, id)), 'state left after delete');
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after delete');

    // The same images with a config without a terminal: refused, nothing left running.
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.process.terminal = false;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    const n = count(data);
    const bad = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, id]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /the checkpoint has a terminal .* but process\.terminal is false/);
    assert.ok(!existsSync(join(root, id)), 'state left after the refused restore');
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after the refused restore');
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(count(data), n, 'a process of the refused restore runs');
  } finally {
    for (const t of terms) t.close();
    rt(['delete', '--force', id]);
  }
});

test('a terminal container restored in the foreground without a console socket: tsrun proxies the pty, as run -t', async () => {
  const id = uniqueId('ttyfg');
  const { bundle, data } = terminalBundle('ttyfg');
  const before = await startOnConsole(id, bundle, 'ttyfg-create');
  let pty: { master: number; slave: number } | undefined;
  let term: PtyReader | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const images = join(work.path, 'img-ttyfg');
    const ck = rt(['checkpoint', '--image-path', images, id]);
    assert.equal(ck.code, 0, ck.stderr);
    await before.waitEnd(60_000);
    const dumped = count(data);
    // tsrun's stdio is a pty of ours, as a user's terminal.
    pty = openPty({ rows: 24, cols: 80 });
    child = spawn(TSRUN, ['--root', root, 'restore', '--bundle', bundle, '--image-path', images, id], { stdio: [pty.slave, pty.slave, pty.slave] });
    const exit = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    term = new PtyReader(pty.master);
    await term.waitFor(new RegExp(`^n=${dumped + 2}$`, 'm'), 60_000);
    assert.doesNotMatch(term.text, /^n=1$/m, 'the restored counter started over');
    assert.equal(state(id).status, 'running');
    term.write('third\n');
    await term.waitFor(/^got:third$/m, 60_000);
    term.write('exit\n');
    assert.equal(await exit, 5, `the foreground restore's exit status; the terminal showed:\n${term.text}`);
    assert.ok(!existsSync(join(root, id)), 'state left after the foreground restore');
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after the foreground restore');
  } finally {
    before.close();
    term?.close();
    child?.kill('SIGKILL');
    if (pty) closeSync(pty.slave);
    rt(['delete', '--force', id]);
  }
});

test('a checkpoint without a terminal restored with process.terminal true is refused, leaving nothing', async () => {
  const id = uniqueId('notty');
  const { bundle, data } = counterBundle('notty');
  assert.equal(rt(['run', '-d', '--bundle', bundle, id]).code, 0);
  await waitFor(() => count(data) >= 2, 'the counter to start', 60_000);
  const images = join(work.path, 'img-notty');
  const ck = rt(['checkpoint', '--image-path', images, id]);
  assert.equal(ck.code, 0, ck.stderr);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = true;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const sock = ConsoleSocket.in(work.path, 'notty.sock');
  try {
    const n = count(data);
    const r = rt(['restore', '-d', '--bundle', bundle, '--image-path', images, '--console-socket', sock.path, id]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /process\.terminal is true in the bundle's config but the checkpoint has no terminal/);
    assert.ok(!existsSync(join(root, id)), 'state left after the refused restore');
    assert.ok(!existsSync(cgroupDir(id)), 'cgroup left after the refused restore');
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(count(data), n, 'a process of the refused restore runs');
  } finally {
    sock.close();
    rt(['delete', '--force', id]);
  }
});
