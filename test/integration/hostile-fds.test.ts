// Hostile-bundle battery: what of tsrun and of its caller a container process can hold.
//  - fds: with extra fds open in the caller (a file, a directory, a pipe, a socket), the
//    container's processes have exactly 0, 1, 2 (+ the --preserve-fds ones) after run,
//    create + start, and exec;
//  - the init is not dumpable until it execs the user's program (read inside the process with
//    hostile/dumpable-probe.c), and the user's program is (execve resets it).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Battery, compileHelper, uniqueId, waitFor } from '../helpers/hostile';
import { need } from '../helpers/need';

const battery = new Battery('fds');
const rootfs = battery.rootfs('fds');

after(async () => {
  const left = await battery.cleanup();
  assert.deepEqual(left, [], 'left behind by the fd battery');
});

/**
 * The fds of a container process, read from the host (/proc/PID/fd of a `sleep` that has
 * exec'd): exact, unlike a shell listing its own fds (a pipeline's pipes, ls's directory fd).
 */
async function fdsOf(pid: number): Promise<string> {
  await waitFor(`process ${pid} to run sleep`, () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));
  const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
  return fds.map((fd) => (fd > 2 ? `${fd}(${safeLink(`/proc/${pid}/fd/${fd}`)})` : String(fd))).join(' ');
}

function safeLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

/** Extra fds 3..7 of the caller: a file, a directory, a socket, /dev/null, the file again. */
async function withCallerFds<T>(fn: (stdio: Array<number | 'ignore' | 'pipe'>, secret: string) => T | Promise<T>): Promise<T> {
  const dir = join(battery.work, 'caller');
  mkdirSync(dir, { recursive: true });
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'preserved-content\n');
  const file = openSync(secret, 'r');
  const dirFd = openSync(dir, 'r');
  const server: Server = createServer();
  const sockPath = join(dir, `s-${process.pid}`);
  await new Promise<void>((r) => server.listen(sockPath, r));
  const client: Socket = connect(sockPath);
  await new Promise<void>((r) => client.on('connect', () => r()));
  const sockFd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  const devNull = openSync('/dev/null', 'w');
  try {
    return await fn(['ignore', 'ignore', 'ignore', file, dirFd, sockFd, devNull, file], secret);
  } finally {
    client.destroy();
    server.close();
    for (const fd of [file, dirFd, devNull]) closeSync(fd);
  }
}

/** pid of a container, from its state. */
function initPid(id: string): number {
  return JSON.parse(battery.rt(['state', id]).stdout).pid as number;
}

test('run --detach: only 0 1 2 reach the container; with --preserve-fds 2, 3 and 4 too (the caller\'s)', async () => {
  await withCallerFds(async (stdio, secret) => {
    for (const preserve of [0, 2]) {
      const id = uniqueId(`run${preserve}`);
      const args = ['run', '--detach', ...(preserve ? ['--preserve-fds', String(preserve)] : []), '--bundle', battery.bundle(battery.config(rootfs, ['sleep', '1000'])), id];
      const r = battery.rt(args, { stdio });
      assert.equal(r.code, 0, r.stderr);
      try {
        assert.equal(await fdsOf(initPid(id)), preserve ? `0 1 2 3(${secret}) 4(${dirname(secret)})` : '0 1 2');
      } finally {
        battery.rt(['delete', '--force', id]);
      }
    }
  });
});

test('create + start (each with extra fds in the caller): only 0 1 2 (+ the preserved one)', async () => {
  await withCallerFds(async (stdio, secret) => {
    for (const preserve of [0, 1]) {
      const id = uniqueId(`cs${preserve}`);
      const c = battery.rt(['create', ...(preserve ? ['--preserve-fds', '1'] : []), '--bundle', battery.bundle(battery.config(rootfs, ['sleep', '1000'])), id], { stdio });
      assert.equal(c.code, 0, c.stderr);
      try {
        const s = battery.rt(['start', id], { stdio });
        assert.equal(s.code, 0, s.stderr);
        assert.equal(await fdsOf(initPid(id)), preserve ? `0 1 2 3(${secret})` : '0 1 2');
      } finally {
        battery.rt(['delete', '--force', id]);
      }
    }
  });
});

test('exec --detach (with extra fds in the caller): only 0 1 2; with --preserve-fds 2, 3 and 4 too', async () => {
  const id = uniqueId('exec');
  assert.equal(battery.rtFiles(['run', '--detach', '--bundle', battery.bundle(battery.config(rootfs, ['sleep', '1000'])), id]).code, 0);
  try {
    await withCallerFds(async (stdio, secret) => {
      for (const preserve of [0, 2]) {
        const pidFile = join(battery.work, `${id}-${preserve}.pid`);
        const args = ['exec', '--detach', '--pid-file', pidFile, ...(preserve ? ['--preserve-fds', String(preserve)] : []), id, 'sleep', '1000'];
        const r = battery.rt(args, { stdio });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await fdsOf(Number(readFileSync(pidFile, 'utf8'))), preserve ? `0 1 2 3(${secret}) 4(${dirname(secret)})` : '0 1 2');
      }
    });
    // In the foreground, as a shell sees it from inside: nothing beyond 0 1 2 but what it opens.
    const r = battery.rt(['exec', id, 'sh', '-c', 'for f in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$f ] && echo leaked $f; done; echo done']);
    assert.equal(r.stdout, 'done\n', r.stderr);
  } finally {
    battery.rt(['delete', '--force', id]);
  }
});

function probe(prober: string, pid: number): string {
  const r = spawnSync(prober, [String(pid)], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `dumpable-probe ${pid}: ${r.stderr}`);
  return r.stdout.trim();
}

test('the init is not dumpable until it execs the user\'s program; that program is', async () => {
  need(process.arch === 'x64', 'x86_64 (dumpable-probe reads registers of an x86_64 process)');
  const prober = compileHelper('dumpable-probe', battery.work, false);
  for (const userns of [false, true]) {
    const config = battery.config(rootfs, ['sleep', '1000']);
    if (userns) {
      config.linux.namespaces.push({ type: 'user' });
      config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }
    const id = uniqueId(userns ? 'dump-userns' : 'dump');
    assert.equal(battery.rtFiles(['create', '--bundle', battery.bundle(config), id]).code, 0);
    try {
      const pid = JSON.parse(battery.rt(['state', id]).stdout).pid as number;
      assert.equal(probe(prober, pid), '0', `the created init ${pid} is dumpable${userns ? ' (user namespace)' : ''}`);
      // The probe left it intact: start still works.
      assert.equal(battery.rt(['start', id]).code, 0);
      await waitFor('the user program', () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));
      assert.equal(probe(prober, pid), '1', 'execve made the user\'s program dumpable again (the control)');
    } finally {
      battery.rt(['delete', '--force', id]);
    }
  }
});
