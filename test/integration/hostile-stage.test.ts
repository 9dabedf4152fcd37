// The clone stage's hardening (native/stage.c), run for real as root:
//  - it is not dumpable from its first instruction, and its child (born in the container's pid
//    namespace) neither, until it execs (read inside the child with hostile/dumpable-probe.c);
//  - --exec-fd F: the program is the file open on F (a sealed view of Node, see
//    src/runtime/seal.ts), and F does not reach the program;
//  - --readonly-host: the child sees the host's mounts read-only, in a copy of its own; the
//    host's mount table is untouched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Battery, compileHelper, waitFor } from '../helpers/hostile';
import { REPO } from '../helpers/tsrun';
import { need } from '../helpers/need';

const STAGE = join(REPO, 'dist', 'tsrun-stage');
const battery = new Battery('stage');
const O_PATH = 0o10000000;

after(async () => {
  const left = await battery.cleanup();
  assert.deepEqual(left, [], 'left behind by the stage battery');
});

interface StageRun {
  pid: number;
  go: () => void;
  done: Promise<{ out: string; err: string; sync: string }>;
}

/** Starts the stage (sync socket on fd 3, `extra` fds after it) and waits for "pid N". */
async function startStage(args: string[], extra: number[] = []): Promise<StageRun> {
  const child = spawn(STAGE, args, { cwd: battery.work, stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...extra] });
  const sock = child.stdio[3] as Socket;
  let sync = '';
  let out = '';
  let err = '';
  sock.setEncoding('utf8').on('data', (d: string) => (sync += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const closed = Promise.all([child.stdout, child.stderr, sock].map((s) => new Promise<void>((r) => s!.on('close', () => r()))));
  await waitFor('the stage to report the child', () => /^pid \d+\n/.test(sync) || child.exitCode !== null);
  const m = /^pid (\d+)\n/.exec(sync);
  if (!m) throw new Error(`stage: ${sync} ${err}`);
  return { pid: Number(m[1]), go: () => sock.end('G'), done: closed.then(() => ({ out, err, sync })) };
}

test('usage: --exec-fd must be an open fd other than the sync one; --readonly-host excludes a new mount namespace', () => {
  for (const args of [['--exec-fd', '9'], ['--exec-fd', '3'], ['--exec-fd', 'x'], ['--readonly-host', '--clone', 'mnt']]) {
    const r = spawnSync(STAGE, ['--sync', '3', ...args, '--', '/bin/true'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^tsrun-stage: /, args.join(' '));
  }
});

test('the stage\'s child is not dumpable while it waits (it is in the new pid namespace already)', async () => {
  need(process.arch === 'x64', 'x86_64 (dumpable-probe)');
  const prober = compileHelper('dumpable-probe', battery.work, false);
  const run = await startStage(['--sync', '3', '--clone', 'pid,mnt', '--', '/bin/true']);
  try {
    const r = spawnSync(prober, [String(run.pid)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
  } finally {
    run.go();
    await run.done;
  }
});

test('--exec-fd: the program comes from the fd (argv[0] is only a name), and does not inherit it', async () => {
  for (const [binary, args, check] of [
    ['/bin/cat', ['any-name', '/proc/self/cmdline'], (out: string) => assert.equal(out, 'any-name\0/proc/self/cmdline\0')],
    ['/bin/ls', ['ls', '-l', '/proc/self/fd/'], (out: string) => {
      const targets = out.split('\n').filter((l) => l.includes(' -> ')).map((l) => l.slice(l.indexOf(' -> ') + 4));
      assert.ok(targets.length >= 4, out);
      assert.ok(!targets.some((t) => t.includes('/ls') || t.includes('/coreutils')), `the executable's fd reached the program:\n${out}`);
    }],
  ] as Array<[string, string[], (out: string) => void]>) {
    const fd = openSync(binary, O_PATH);
    try {
      const run = await startStage(['--sync', '3', '--exec-fd', '4', '--clone', 'uts', '--', ...args], [fd]);
      run.go();
      const { out, err, sync } = await run.done;
      assert.equal(sync.replace(/^pid \d+\n/, ''), '', err);
      check(out);
    } finally {
      closeSync(fd);
    }
  }
});

test('--readonly-host: every mount the child sees is read-only, in a copy; the host\'s are as they were', async () => {
  const run = await startStage(['--sync', '3', '--readonly-host', '--clone', 'pid', '--', '/bin/sh', '-c',
    `touch ${join(battery.work, 'x')} 2>&1; awk '{print $6}' /proc/self/mountinfo | grep -vc '^ro' ; readlink /proc/self/ns/mnt`]);
  run.go();
  const { out } = await run.done;
  const [touch, writable, ns] = out.trim().split('\n');
  assert.match(touch ?? '', /Read-only file system/);
  assert.equal(writable, '0', 'a mount of the child is writable');
  assert.notEqual(ns, readlinkSync('/proc/self/ns/mnt'), 'a mount namespace of its own');
  // The host's own root mount is still writable (and nothing was made read-only here).
  const hostRoot = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  assert.match(hostRoot?.split(' ')[5] ?? '', /^rw/);
});
