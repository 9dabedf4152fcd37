// The libc layer's calls for terminals and console sockets that the rest of linux-syscalls
// does not cover: termios (TCGETS/TCSETS) and listening unix sockets (bind/listen/accept4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as C from '../../src/linux/constants';
import { isErrno } from '../../src/linux/errors';
import { linux } from '../../src/linux/syscalls';
import { FakeSyscalls } from '../../src/linux/fake';

const sys = linux();

test('termios: TCGETS reads the flags stty shows, TCSETS changes them', () => {
  const master = sys.open('/dev/ptmx', C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
  try {
    sys.unlockpt(master);
    const t = sys.getTermios(master);
    assert.equal(t.cc.length, 19);
    assert.ok(t.oflag & C.ONLCR, 'a new pty maps NL to CR-NL');
    assert.equal(t.cc[0], 3, 'VINTR is ^C');
    sys.setTermios(master, { ...t, oflag: t.oflag & ~C.ONLCR });
    const peer = sys.openPtsPeer(master, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
    try {
      assert.equal(sys.getTermios(peer).oflag & C.ONLCR, 0, 'the slave shares the setting');
      assert.deepEqual({ ...sys.getTermios(peer), oflag: t.oflag }, t);
    } finally {
      sys.close(peer);
    }
    const f = sys.open('/etc/hostname', C.O_RDONLY | C.O_CLOEXEC);
    try {
      assert.throws(() => sys.getTermios(f), (e: unknown) => isErrno(e, 'ENOTTY') && /TCGETS/.test((e as Error).message));
    } finally {
      sys.close(f);
    }
  } finally {
    sys.close(master);
  }
});

test('unixListen + accept: a connection carries data and fds; non-blocking accept says EAGAIN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-listen-'));
  const path = join(dir, 'console.sock');
  const listener = sys.unixListen(path, { nonBlocking: true });
  try {
    assert.ok(statSync(path).isSocket());
    assert.throws(() => sys.accept(listener), (e: unknown) => isErrno(e, 'EAGAIN'));
    // connect + send complete before anyone accepts (the shim accepts after the runtime exits).
    const client = sys.unixConnect(path);
    const file = sys.open('/etc/hostname', C.O_RDONLY | C.O_CLOEXEC);
    sys.sendFds(client, Buffer.from('/dev/ptmx'), [file]);
    sys.close(file);
    sys.close(client);
    const conn = sys.accept(listener);
    try {
      const got = sys.recvFds(conn, 4096, 4);
      assert.equal(got.data.toString(), '/dev/ptmx');
      assert.equal(got.fds.length, 1);
      assert.equal(readFileSync(`/proc/self/fd/${got.fds[0]}`, 'utf8'), readFileSync('/etc/hostname', 'utf8'));
      closeSync(got.fds[0] as number);
      assert.equal(sys.recvFds(conn).data.length, 0, 'then EOF');
    } finally {
      sys.close(conn);
    }
    assert.throws(() => sys.unixListen(path), (e: unknown) => isErrno(e, 'EADDRINUSE') && (e as Error).message.includes(path));
    assert.throws(() => sys.unixListen('/' + 'x'.repeat(200)), (e: unknown) => isErrno(e, 'ENAMETOOLONG'));
  } finally {
    sys.close(listener);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the fake records the new calls', () => {
  const fake = new FakeSyscalls();
  const fd = fake.unixListen('/run/x.sock', { nonBlocking: true });
  fake.accept(fd);
  fake.setTermios(3, fake.getTermios(3));
  assert.deepEqual(fake.calls.map((c) => c.name), ['unixListen', 'accept', 'getTermios', 'setTermios']);
});
