// process.terminal with --console-socket, as containerd's shim and conmon use it: the runtime
// connects to the caller's listening socket and the container's init (or exec'd process) sends
// the pty master with ONE message: the data "/dev/ptmx" and exactly one SCM_RIGHTS fd; the
// slave is the container's /dev/pts/N, its stdio, controlling terminal and /dev/console.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tsrunToFiles, tempDir, uniqueId, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot, hostMountCount } from '../helpers/bundle';
import { ConsoleSocket, PtyReader, receiveMaster } from '../helpers/pty';
import { waitFor } from '../helpers/wait';

const root = stateRoot('terminal-console');
const mountsBefore = hostMountCount();
const dirs: Array<() => void> = [];

function rt(args: string[]): Result {
  return tsrun(['--root', root, ...args]);
}

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  for (const cleanup of dirs) cleanup();
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  assert.equal(hostMountCount(), mountsBefore, 'host mount table changed');
});

function socketDir(): string {
  const d = tempDir('consock');
  dirs.push(d.cleanup);
  return d.path;
}

function terminalConfig(args: string[], consoleSize?: { height: number; width: number }) {
  const config = baseConfig(args);
  config.process.terminal = true;
  if (consoleSize) config.process.consoleSize = consoleSize;
  return config;
}


const status = (id: string): string => JSON.parse(rt(['state', id]).stdout).status;

test('create --console-socket: one fd, data "/dev/ptmx", a pty master; the container is a shell on it', async () => {
  const sock = ConsoleSocket.in(socketDir());
  const id = uniqueId('tty');
  const bundle = makeBundle(terminalConfig(['sh'], { height: 24, width: 81 }));
  const pidFile = join(bundle, 'init.pid');
  // Pipes, as the shim gives: create must return and they must reach EOF (the container may
  // not keep them: its stdio is the pty). spawnSync waits for EOF on both.
  const c = rt(['create', '--bundle', bundle, '--pid-file', pidFile, '--console-socket', sock.path, id]);
  assert.equal(c.signal, null, 'create returned and its stdout/stderr reached EOF');
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, '');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.equal(JSON.parse(rt(['state', id]).stdout).pid, pid);
  // The master was sent before create returned, before anyone accepted the connection.
  const master = receiveMaster(sock);
  sock.close();
  // The init's stdio is already the pty (no pipe of create's is kept).
  for (const fd of [0, 1, 2]) assert.match(readlinkQuiet(`/proc/${pid}/fd/${fd}`), /^\/dev\/pts\/\d+$/);

  const term = new PtyReader(master);
  try {
    assert.equal(rt(['start', id]).code, 0);
    term.write('tty; stty size; [ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T /dev/pts/0)" ] && echo console-is-pts0\n');
    term.write('echo x >/dev/tty && echo has-ctty; for f in 0 1 2; do readlink /proc/$$/fd/$f; done | grep -c "^/dev/pts/0$"; echo step-$((40+2))\n');
    await term.waitFor(/^step-42$/m);
    assert.match(term.text, /^\/dev\/pts\/0$/m, 'tty inside is /dev/pts/0');
    assert.match(term.text, /^24 81$/m, 'consoleSize honoured');
    assert.match(term.text, /^console-is-pts0$/m, '/dev/console is the pty');
    assert.match(term.text, /^has-ctty$/m, 'the pty is the controlling terminal');
    assert.match(term.text, /^3$/m, 'stdin, stdout and stderr are the pty');
    term.write('echo hi\n');
    await term.waitFor(/echo hi\n(.*\n)?hi\n/);
    term.write('exit 3\n');
    await term.waitEnd();
  } finally {
    term.close();
  }
  await waitFor(() => status(id) === 'stopped');
  assert.equal(rt(['delete', id]).code, 0);
});

test('exec with a console socket: the shim\'s, conmon\'s and the command-line forms', async () => {
  const id = uniqueId('exec-tty');
  const bundle = makeBundle(baseConfig(['sleep', '1000']));
  assert.equal(tsrunToFiles(['--root', root, 'create', '--bundle', bundle, id]).code, 0);
  assert.equal(tsrunToFiles(['--root', root, 'start', id]).code, 0);
  const dir = socketDir();
  const processFile = join(dir, 'process.json');
  writeFileSync(processFile, JSON.stringify({
    terminal: true, consoleSize: { height: 10, width: 50 }, cwd: '/', user: { uid: 0, gid: 0 },
    env: ['PATH=/bin:/sbin:/usr/bin'], args: ['sh', '-c', 'tty; stty size; exit 4'],
  }));
  const forms: Array<[string, (sock: string, pidFile: string) => string[]]> = [
    ['shim', (sock, pidFile) => ['exec', '--process', processFile, '--console-socket', sock, '--detach', '--pid-file', pidFile, id]],
    ['conmon', (sock, pidFile) => ['exec', '--pid-file', pidFile, '--process', processFile, '--detach', '--tty', '--console-socket', sock, id]],
    ['cli', (sock, pidFile) => ['exec', '-t', '--console-socket', sock, '-d', '--pid-file', pidFile, id, 'sh', '-c', 'tty; exit 4']],
  ];
  for (const [name, args] of forms) {
    const sock = ConsoleSocket.in(dir, `${name}.sock`);
    const pidFile = join(dir, `${name}.pid`);
    const r = rt(args(sock.path, pidFile));
    assert.equal(r.signal, null, `${name}: exec returned, its pipes reached EOF`);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(readFileSync(pidFile, 'utf8'), /^\d+$/);
    const term = new PtyReader(receiveMaster(sock));
    sock.close();
    try {
      await term.waitEnd();
      assert.match(term.text, /^\/dev\/pts\/\d+$/m, `${name}: a pty of the container`);
      if (name !== 'cli') assert.match(term.text, /^10 50$/m, `${name}: consoleSize honoured`);
    } finally {
      term.close();
    }
  }
  assert.equal(status(id), 'running');
  assert.equal(rt(['delete', '--force', id]).code, 0);
});

test('terminal settings refused as runc refuses them, before anything is created', () => {
  const dir = socketDir();
  const sock = ConsoleSocket.in(dir);
  try {
    const id = uniqueId('refused');
    let r = rt(['create', '--bundle', makeBundle(terminalConfig(['true'])), id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot allocate tty if tsrun will detach without setting console socket/);
    assert.ok(!existsSync(join(root, id)));

    r = rt(['create', '--bundle', makeBundle(baseConfig(['true'])), '--console-socket', sock.path, id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot use console socket if tsrun will not detach or allocate tty/);
    assert.ok(!existsSync(join(root, id)));
    assert.equal(sock.hasPending(), false, 'nothing connected');

    r = rt(['run', '-d', '--bundle', makeBundle(terminalConfig(['true'])), id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot allocate tty if tsrun will detach without setting console socket/);

    const missing = join(dir, 'missing.sock');
    r = rt(['create', '--bundle', makeBundle(terminalConfig(['true'])), '--console-socket', missing, id]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.ok(!existsSync(join(root, id)));
  } finally {
    sock.close();
  }
});

test('a failing create with a terminal leaves nothing behind', () => {
  const sock = ConsoleSocket.in(socketDir());
  try {
    const id = uniqueId('tty-bad');
    const r = rt(['create', '--bundle', makeBundle(terminalConfig(['/no/such/binary'])), '--console-socket', sock.path, id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stat \/no\/such\/binary: no such file or directory/);
    assert.ok(!existsSync(join(root, id)));
    // The connection was made; whatever came over it, it is closed now and any fd is a master.
    const msg = sock.receive();
    for (const fd of msg.fds) closeSync(fd);
  } finally {
    sock.close();
  }
});

function readlinkQuiet(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
