// FakeSyscalls (the test double) and the helpers written against the Syscalls interface,
// exercised without any native code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeExecveError, FakeSyscalls } from '../../src/linux/fake';
import { SyscallError, isErrno } from '../../src/linux/errors';
import { capsFromNames, capsToMask, dropBoundingSet, maskToCaps, setCapabilities } from '../../src/linux/capabilities';
import {
  decodeWaitStatus,
  describeCloneFlags,
  devMajor,
  devMinor,
  makedev,
  prepareExecFds,
  resetSignalsForExec,
} from '../../src/linux/syscalls';
import { libcLoaded } from '../../src/linux/libc';
import { CLOSE_RANGE_CLOEXEC, CLONE_NEWNS, CLONE_NEWUTS, MS_PRIVATE, MS_REC, RLIMIT_NOFILE, RLIM_INFINITY } from '../../src/linux/constants';

function koffiInRequireCache(): boolean {
  return Object.keys(require.cache).some((k) => k.includes('/koffi/'));
}

test('records every call with its arguments, in order', () => {
  const sys = new FakeSyscalls();
  sys.unshare(CLONE_NEWNS | CLONE_NEWUTS);
  sys.mount(null, '/', null, MS_REC | MS_PRIVATE, null);
  const fd = sys.open('/x/rootfs', 0);
  sys.fchdir(fd);
  sys.close(fd);
  assert.deepEqual(sys.names(), ['unshare', 'mount', 'open', 'fchdir', 'close']);
  assert.deepEqual(sys.callsTo('mount'), [[null, '/', null, MS_REC | MS_PRIVATE, null]]);
  assert.deepEqual(sys.calls[0], { name: 'unshare', args: [CLONE_NEWNS | CLONE_NEWUTS] });
  assert.equal(fd, 100);
  assert.equal(sys.openFds.size, 0);
});

test('failOn injects a SyscallError shaped like the real one', () => {
  const sys = new FakeSyscalls();
  sys.failOn('mount', '/x/proc', 'EPERM');
  sys.mount('proc', '/x/dev', 'proc', 0, null); // other target: fine
  assert.throws(
    () => sys.mount('proc', '/x/proc', 'proc', 0, null),
    (e: unknown) => {
      assert.ok(e instanceof SyscallError);
      assert.equal(e.code, 'EPERM');
      assert.equal(e.errno, 1);
      assert.equal(e.call, 'mount');
      assert.equal(e.subject, '/x/proc');
      assert.match(e.message, /^mount \/x\/proc: EPERM: Operation not permitted$/);
      return true;
    },
  );
  // still failing (no `times`), and the failed call was recorded too
  assert.throws(() => sys.mount(null, '/x/proc', null, 0, null), /EPERM/);
  assert.equal(sys.callsTo('mount').length, 3);
});

test('failOn with a predicate and a count; pivotRoot uses the syscall name', () => {
  const sys = new FakeSyscalls();
  sys.failOn('kill', (args) => args[0] === 77, 'ESRCH', { times: 1 });
  assert.throws(() => sys.kill(77, 15), (e: unknown) => isErrno(e, 'ESRCH'));
  sys.kill(77, 15); // only once
  sys.kill(78, 15);
  sys.failOn('pivotRoot', undefined, 'EINVAL');
  assert.throws(() => sys.pivotRoot('.', '.'), /^SyscallError: pivot_root \.: EINVAL: Invalid argument$/);
  assert.throws(() => sys.failOn('open', undefined, 'EBOGUS'), TypeError);
});

test('stub replaces results', async () => {
  const sys = new FakeSyscalls();
  sys.stub('waitpid', (pid) => decodeWaitStatus(pid, 7 << 8));
  assert.equal(sys.waitpid(55)?.exitCode, 7);
  sys.stub('waitpidAsync', (pid) => Promise.resolve(decodeWaitStatus(pid, 9)));
  const ws = await sys.waitpidAsync(56);
  assert.equal(ws.signal, 9);
  assert.equal(ws.pid, 56);
  sys.stub('open', () => 3, '/etc/hosts', { times: 1 });
  assert.equal(sys.open('/etc/hosts', 0), 3);
  assert.equal(sys.open('/etc/hosts', 0), 100);
});

test('default waitpid without children is ECHILD (sync and async)', async () => {
  const sys = new FakeSyscalls();
  assert.throws(() => sys.waitpid(-1), (e: unknown) => isErrno(e, 'ECHILD'));
  await assert.rejects(sys.waitpidAsync(-1), (e: unknown) => isErrno(e, 'ECHILD'));
});

test('execve never returns: FakeExecveError, or the scripted error', () => {
  const sys = new FakeSyscalls();
  assert.throws(
    () => sys.execve('/bin/sh', ['sh', '-c', 'true'], ['A=1']),
    (e: unknown) => e instanceof FakeExecveError && e.path === '/bin/sh' && e.argv[2] === 'true' && e.envp[0] === 'A=1',
  );
  sys.failOn('execve', '/missing', 'ENOENT');
  assert.throws(() => sys.execve('/missing', ['x'], []), /^SyscallError: execve \/missing: ENOENT/);
});

test('state: umask, rlimits, hostname, prctl flags', () => {
  const sys = new FakeSyscalls();
  assert.equal(sys.umask(0o077), 0o022);
  assert.equal(sys.umask(0o022), 0o077);
  assert.deepEqual(sys.getrlimit(RLIMIT_NOFILE), { soft: RLIM_INFINITY, hard: RLIM_INFINITY });
  sys.setrlimit(RLIMIT_NOFILE, 1024, 4096);
  assert.deepEqual(sys.prlimit(0, RLIMIT_NOFILE), { soft: 1024n, hard: 4096n });
  sys.sethostname('box');
  assert.equal(sys.hostname, 'box');
  sys.setNoNewPrivs();
  sys.setChildSubreaper(true);
  assert.ok(sys.noNewPrivs && sys.subreaper);
});

test('setCapabilities applies bounding, then capset, then ambient', () => {
  const sys = new FakeSyscalls({ lastCap: 40 });
  const { caps, unknown } = capsFromNames(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE', 'CAP_KILL', 'CAP_BOGUS', 'CAP_CHOWN']);
  assert.deepEqual(caps, [0, 10, 5]);
  assert.deepEqual(unknown, ['CAP_BOGUS']);
  sys.clearCalls();
  const r = setCapabilities(
    sys,
    { bounding: caps, effective: [0, 10], permitted: caps, inheritable: [10], ambient: [10], },
    40,
  );
  assert.deepEqual(r.ignored, []);
  const names = sys.names();
  const firstCapset = names.indexOf('capset');
  assert.ok(names.lastIndexOf('capbsetDrop') < firstCapset, 'bounding before capset');
  assert.ok(names.indexOf('capAmbientRaise') > firstCapset, 'ambient after capset');
  assert.equal(sys.callsTo('capbsetDrop').length, 41 - 3);
  assert.deepEqual([...sys.bounding].sort((a, b) => a - b), [0, 5, 10]);
  assert.deepEqual(maskToCaps(sys.caps.effective), [0, 10]);
  assert.deepEqual(maskToCaps(sys.caps.permitted), [0, 5, 10]);
  assert.deepEqual(maskToCaps(sys.caps.inheritable), [10]);
  assert.deepEqual([...sys.ambient], [10]);
});

test('setCapabilities leaves out capabilities above the kernel last cap', () => {
  const sys = new FakeSyscalls({ lastCap: 37 });
  const r = setCapabilities(sys, { bounding: [0, 38, 40], effective: [0, 39], permitted: [0, 39] }, 37);
  assert.deepEqual(r.ignored, [38, 39, 40]);
  assert.deepEqual(maskToCaps(sys.caps.permitted), [0]);
});

test('ambient raise of a capability not inheritable fails like the kernel (EPERM)', () => {
  const sys = new FakeSyscalls({ lastCap: 40 });
  assert.throws(
    () => setCapabilities(sys, { bounding: [10], effective: [10], permitted: [10], inheritable: [], ambient: [10] }, 40),
    (e: unknown) => isErrno(e, 'EPERM') && (e as SyscallError).call === 'prctl',
  );
});

test('dropBoundingSet skips capabilities already absent', () => {
  const sys = new FakeSyscalls({ lastCap: 9 });
  sys.bounding.delete(2);
  dropBoundingSet(sys, [0, 8], 9);
  assert.deepEqual(sys.callsTo('capbsetDrop'), [[1], [3], [4], [5], [6], [7], [9]]);
  // without CAP_SETPCAP in the effective set, dropping fails as in the kernel
  const weak = new FakeSyscalls({ lastCap: 9 });
  weak.caps.effective = 1n;
  assert.throws(() => dropBoundingSet(weak, [0], 9), (e: unknown) => isErrno(e, 'EPERM'));
});

test('capsToMask / maskToCaps round trip beyond 32 bits', () => {
  assert.equal(capsToMask([0, 1, 40]), (1n << 40n) | 3n);
  assert.deepEqual(maskToCaps((1n << 40n) | (1n << 33n) | 1n), [0, 33, 40]);
  assert.deepEqual(maskToCaps(0n), []);
});

test('resetSignalsForExec resets exactly the ignored signals', () => {
  const sys = new FakeSyscalls();
  // SIGPIPE (13) and SIGXFSZ (25) ignored, as in every Node process
  resetSignalsForExec(sys, 'Name:\tnode\nSigIgn:\t0000000001001000\nSigCgt:\t0000000100004602\n');
  assert.deepEqual(sys.callsTo('signalDefault'), [[13], [25]]);
  assert.deepEqual(sys.names().slice(-1), ['unblockAllSignals']);
});

test('prepareExecFds keeps stdio (+ preserved fds) and marks the rest close-on-exec', () => {
  const sys = new FakeSyscalls();
  sys.failOn('setCloexec', (args) => args[0] === 1, 'EBADF'); // a closed stdout is tolerated
  prepareExecFds(sys, 2);
  assert.deepEqual(sys.callsTo('setCloexec'), [[0, false], [1, false], [2, false], [3, false], [4, false]]);
  assert.deepEqual(sys.callsTo('closeRange'), [[5, 0xffffffff, CLOSE_RANGE_CLOEXEC]]);
  const other = new FakeSyscalls().failOn('setCloexec', 0, 'EIO');
  assert.throws(() => prepareExecFds(other), (e: unknown) => isErrno(e, 'EIO'));
});

test('describeCloneFlags', () => {
  assert.equal(describeCloneFlags(CLONE_NEWNS | CLONE_NEWUTS), 'CLONE_NEWNS|CLONE_NEWUTS');
  assert.equal(describeCloneFlags(0x80000000), '0x80000000');
  assert.equal(describeCloneFlags(0), '0x0');
});

test('decodeWaitStatus', () => {
  assert.deepEqual(decodeWaitStatus(5, 3 << 8), {
    pid: 5, status: 768, exitCode: 3, signal: null, coreDumped: false, stopSignal: null, continued: false,
  });
  const killed = decodeWaitStatus(5, 9);
  assert.equal(killed.signal, 9);
  assert.equal(killed.exitCode, null);
  assert.equal(decodeWaitStatus(5, 0x80 | 11).coreDumped, true);
  assert.equal(decodeWaitStatus(5, (19 << 8) | 0x7f).stopSignal, 19);
  assert.equal(decodeWaitStatus(5, 0xffff).continued, true);
  assert.equal(decodeWaitStatus(5, 0).exitCode, 0);
});

test('makedev / major / minor follow glibc (incl. majors > 4095)', () => {
  assert.equal(makedev(1, 3), 0x103n);
  assert.equal(makedev(259, 0), 0x10300n);
  assert.equal(makedev(4096, 0), 0x100000000000n);
  assert.equal(makedev(0, 256), 0x100000n);
  for (const [ma, mi] of [[0, 0], [8, 17], [4095, 255], [4096, 256], [0xfffff, 0xfffff]] as const) {
    const d = makedev(ma, mi);
    assert.equal(devMajor(d), ma);
    assert.equal(devMinor(d), mi);
  }
  assert.equal(devMajor(0x10300), 259);
});

test('nothing here loaded koffi', () => {
  assert.equal(libcLoaded(), false);
  assert.equal(koffiInRequireCache(), false);
});
