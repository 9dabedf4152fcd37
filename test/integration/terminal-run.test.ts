// process.terminal in the foreground with no console socket: `run` (and `exec -t`) receive the
// pty master themselves and proxy it to their own stdio, as runc does: raw mode on a terminal
// stdin (restored afterwards), the caller's window size (and SIGWINCH) onto the container's
// terminal, and the exit status of the container as tsrun's. Driven through a pty of our own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { linux } from '../../src/linux/syscalls';
import { tsrun, tsrunToFiles, uniqueId, TSRUN, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot, hostMountCount } from '../helpers/bundle';
import { PtyReader, openPty } from '../helpers/pty';

const root = stateRoot('terminal-run');
const mountsBefore = hostMountCount();

function rt(args: string[], options: Parameters<typeof tsrun>[1] = {}): Result {
  return tsrun(['--root', root, ...args], options);
}

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  assert.equal(hostMountCount(), mountsBefore, 'host mount table changed');
});

function terminalConfig(args: string[]) {
  const config = baseConfig(args);
  config.process.terminal = true;
  return config;
}

/**
 * tsrun with its stdin, stdout and stderr on a new pty of ours; the master is read. We keep a
 * slave fd too (closed by `done`), so that the pty outlives tsrun and its settings can be read.
 */
function onPty(args: string[], size: { rows: number; cols: number }) {
  const { master, slave } = openPty(size);
  const before = linux().getTermios(slave);
  const child = spawn(TSRUN, ['--root', root, ...args], { stdio: [slave, slave, slave] });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const term = new PtyReader(master);
  const done = () => {
    term.close();
    closeSync(slave);
    child.kill('SIGKILL');
  };
  return { term, child, exit, before, slave, done };
}

test('run -t in the foreground: a shell through the proxy, window size and SIGWINCH, exit code, terminal restored', async () => {
  const id = uniqueId('run-tty');
  const { term, child, exit, before, slave, done } = onPty(['run', '--bundle', makeBundle(terminalConfig(['sh'])), id], { rows: 33, cols: 111 });
  try {
    // Raw mode while it runs: our pty no longer echoes or works line by line.
    term.write('tty; stty size; echo step-$((40+2))\n');
    await term.waitFor(/^step-42$/m);
    assert.match(term.text, /^\/dev\/pts\/0$/m, 'the container\'s own pty');
    assert.match(term.text, /^33 111$/m, 'our window size');
    const raw = linux().getTermios(slave);
    assert.equal(raw.lflag & 0o2, 0, 'ICANON off while proxying');
    assert.equal(raw.lflag & 0o10, 0, 'ECHO off while proxying');

    // A resize of our terminal reaches the container's at SIGWINCH.
    linux().setWinsize(slave, { rows: 20, cols: 70 });
    child.kill('SIGWINCH');
    await new Promise((r) => setTimeout(r, 200));
    term.write('stty size; echo step-$((40+3))\n');
    await term.waitFor(/^step-43$/m);
    assert.match(term.text, /^20 70$/m, 'resized');

    // ^C goes to the container's foreground job as a byte, not to tsrun.
    term.write('sleep 100\n');
    await new Promise((r) => setTimeout(r, 300));
    term.write('\x03');
    term.write('echo step-$((40+4))\n');
    await term.waitFor(/^step-44$/m);

    term.write('exit 7\n');
    assert.equal(await exit, 7, term.text);
    const restored = linux().getTermios(slave);
    assert.deepEqual(restored, before, 'terminal settings restored');
  } finally {
    done();
  }
  assert.ok(!existsSync(join(root, id)), 'removed after the run');
});

test('run -t with stdin and stdout pipes: input is copied in, output out, exit code passes', () => {
  const id = uniqueId('run-pipe');
  const r = rt(['run', '--bundle', makeBundle(terminalConfig(['sh'])), id], { input: 'echo piped-$((2*3))\nexit 3\n' });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^piped-6\r?$/m);
  assert.ok(!existsSync(join(root, id)));
});

test('run -t: a container killed by SIGKILL gives 137 and tsrun returns', async () => {
  const id = uniqueId('run-kill');
  const child = spawn(TSRUN, ['--root', root, 'run', '--bundle', makeBundle(terminalConfig(['sh', '-c', 'tty; exec sleep 1000'])), id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!/\/dev\/pts\/0/.test(out)) {
    assert.ok(Date.now() < deadline, `no output from the container: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(rt(['kill', id, '9']).code, 0);
  assert.equal(await exit, 137);
  assert.ok(!existsSync(join(root, id)));
});

test('run -t: our terminal hanging up does not kill tsrun; it still reports the exit and deletes', async () => {
  const id = uniqueId('run-hup');
  const script = 'for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.25; done; exit 5';
  const { term, exit, done } = onPty(['run', '--bundle', makeBundle(terminalConfig(['sh', '-c', script])), id], { rows: 24, cols: 80 });
  try {
    await term.waitFor(/tick 1/);
    term.close(); // closing the master hangs our pty up: tsrun's stdio now fails with EIO
    assert.equal(await exit, 5, 'the container\'s status, not a crash (Node aborts at exit when it cannot restore a hung-up terminal)');
  } finally {
    done();
  }
  assert.ok(!existsSync(join(root, id)));
});

test('exec -t in the foreground (no console socket): proxied, exit code passes', async () => {
  const id = uniqueId('exec-fg');
  assert.equal(tsrunToFiles(['--root', root, 'create', '--bundle', makeBundle(baseConfig(['sleep', '1000'])), id]).code, 0);
  assert.equal(tsrunToFiles(['--root', root, 'start', id]).code, 0);
  const { term, exit, done } = onPty(['exec', '-t', id, 'sh'], { rows: 12, cols: 34 });
  try {
    term.write('tty; stty size; echo step-$((40+5))\n');
    await term.waitFor(/^step-45$/m);
    assert.match(term.text, /^\/dev\/pts\/\d+$/m);
    assert.match(term.text, /^12 34$/m);
    term.write('exit 9\n');
    assert.equal(await exit, 9, term.text);
  } finally {
    done();
  }
  assert.equal(JSON.parse(rt(['state', id]).stdout).status, 'running');
  assert.equal(rt(['delete', '--force', id]).code, 0);
});
