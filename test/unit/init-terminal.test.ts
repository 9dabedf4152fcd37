// src/init/terminal.ts against the fake libc: the order runc uses (allocate, size, bind
// /dev/console, send the master, then stdio and the controlling terminal), the single
// SCM_RIGHTS message, and cleanup on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSyscalls } from '../../src/linux/fake';
import { AT_FDCWD, MS_BIND, O_NOCTTY, O_RDWR, S_IFCHR } from '../../src/linux/constants';
import { makedev } from '../../src/linux/syscalls';
import { setupConsole } from '../../src/init/terminal';

function fakeWithPty(): FakeSyscalls {
  const sys = new FakeSyscalls();
  // /dev/ptmx is the ptmx device; everything else looks like a directory.
  sys.stub('statx', () => ({ ...sys.statDefault, mode: S_IFCHR | 0o666, rdev: makedev(5, 2) }), (args) => args[0] === AT_FDCWD && args[1] === '/dev/ptmx');
  sys.stub('ptsNumber', () => 5);
  return sys;
}

const proc = { cwd: '/', args: ['sh'], terminal: true, consoleSize: { height: 24, width: 81 } };

test('setupConsole: pty from /dev/ptmx, size, /dev/console, one message, then stdio and ctty', () => {
  const sys = fakeWithPty();
  setupConsole(sys, 7, proc, { mountConsole: true });
  const names = sys.names().filter((n) => !['statx', 'openat2', 'close', 'umask', 'openat', 'mkdirat', 'readlinkat'].includes(n));
  // (the second open is the root "/" that /dev/console is resolved in)
  assert.deepEqual(names, ['open', 'unlockpt', 'ptsNumber', 'openPtsPeer', 'setWinsize', 'open', 'mount', 'sendFds', 'dup3', 'dup3', 'dup3', 'setsid', 'setControllingTerminal']);
  assert.equal((sys.callsTo('open')[1] as [string])[0], '/');
  const [path, flags] = sys.callsTo('open')[0] as [string, number];
  assert.equal(path, '/dev/ptmx');
  assert.equal(flags & (O_RDWR | O_NOCTTY), O_RDWR | O_NOCTTY);
  const master = 100;
  assert.deepEqual(sys.callsTo('setWinsize')[0], [master, { rows: 24, cols: 81 }]);
  const [source, target, , mflags] = sys.callsTo('mount')[0] as [string, string, null, number];
  assert.equal(mflags, MS_BIND);
  assert.match(source, /^\/proc\/self\/fd\/\d+$/);
  assert.match(target, /^\/proc\/self\/fd\/\d+$/);
  const [sock, data, fds] = sys.callsTo('sendFds')[0] as [number, Buffer, number[]];
  assert.equal(sock, 7);
  assert.equal(data.toString(), '/dev/ptmx');
  assert.deepEqual(fds, [master], 'exactly one fd: the master');
  const slave = 101; // the fake's second fd
  assert.deepEqual(sys.callsTo('dup3'), [[slave, 0, 0], [slave, 1, 0], [slave, 2, 0]]);
  assert.deepEqual(sys.callsTo('setControllingTerminal')[0], [0, undefined]);
  const closed = sys.callsTo('close').map((a) => a[0]);
  for (const fd of [master, slave, 7]) assert.ok(closed.includes(fd), `fd ${fd} closed`);
});

test('setupConsole for exec: no /dev/console, no size when consoleSize is absent', () => {
  const sys = fakeWithPty();
  setupConsole(sys, 7, { cwd: '/', args: ['sh'], terminal: true }, { mountConsole: false });
  assert.equal(sys.callsTo('mount').length, 0);
  assert.equal(sys.callsTo('setWinsize').length, 0);
  assert.equal(sys.callsTo('sendFds').length, 1);
});

test('setupConsole: a /dev/ptmx that is not a device is refused; a failed send closes everything', () => {
  const notDev = new FakeSyscalls();
  notDev.stub('statx', () => ({ ...notDev.statDefault, mode: S_IFCHR | 0o666, rdev: makedev(8, 0) }), (args) => args[1] === '/dev/ptmx');
  assert.throws(() => setupConsole(notDev, 7, proc, { mountConsole: false }), /\/dev\/ptmx is not the ptmx device/);
  assert.equal(notDev.callsTo('open').length, 0, 'never opened');
  assert.equal(notDev.callsTo('sendFds').length, 0);
  assert.deepEqual(notDev.callsTo('close'), [[7]], 'the console socket is closed');

  const sys = fakeWithPty();
  sys.failOn('sendFds', undefined, 'EPIPE');
  assert.throws(() => setupConsole(sys, 7, proc, { mountConsole: false }), /setting up the console: send the pty master to the console socket: .*EPIPE/);
  const closed = sys.callsTo('close').map((a) => a[0]);
  for (const fd of [100, 101, 7]) assert.ok(closed.includes(fd), `fd ${fd} closed`);
  assert.equal(sys.callsTo('dup3').length, 0, 'stdio untouched');
});
