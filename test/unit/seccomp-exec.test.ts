// Where execUserProcess loads the seccomp filter (FakeSyscalls + a fake seccomp(2)): last,
// right before execve, with no_new_privs; after the user change but before capset without it
// (CAP_SYS_ADMIN raised from permitted when the user change cleared it); the NOTIFY listener
// fd goes to the agent right after the load. Also prepareSeccomp with fakes (the message for
// the agent) and connectSeccompAgent (the runtime's connection to listenerPath).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinuxSeccomp, Process } from '../../src/spec';
import { execUserProcess, type ExecOptions } from '../../src/init/process';
import { FakeExecveError, FakeSyscalls } from '../../src/linux/fake';
import { SyscallError } from '../../src/linux/errors';
import { connectSeccompAgent, loadSeccomp, prepareSeccomp, type PreparedSeccomp } from '../../src/seccomp';
import type { PreparedProgram, SeccompKernel } from '../../src/seccomp/ffi';
import { libseccomp } from '../../src/seccomp/ffi';

const CAP_SYS_ADMIN = 21n;

interface FakeKernel extends SeccompKernel {
  loads: Array<{ at: number; flags: number; len: number }>;
}

function fakeKernel(sys: FakeSyscalls, opts: { fail?: string; listenerFd?: number } = {}): FakeKernel {
  const loads: FakeKernel['loads'] = [];
  return {
    loads,
    flagsSupported: () => true,
    actionAvailable: () => true,
    prepareProgram: (program: Buffer): PreparedProgram => ({ len: program.length / 8, filter: program }),
    setModeFilter(flags: number, prog: PreparedProgram): number {
      if (opts.fail) throw SyscallError.of('seccomp', opts.fail, 'SECCOMP_SET_MODE_FILTER');
      // A filter without no_new_privs needs CAP_SYS_ADMIN in the effective set (kernel rule).
      if (!sys.noNewPrivs && ((sys.caps.effective >> CAP_SYS_ADMIN) & 1n) === 0n) throw SyscallError.of('seccomp', 'EACCES', 'SECCOMP_SET_MODE_FILTER');
      loads.push({ at: sys.calls.length, flags, len: prog.len });
      return opts.listenerFd ?? 0;
    },
  };
}

function prepared(kernel: SeccompKernel, listener?: PreparedSeccomp['listener']): PreparedSeccomp {
  const p: PreparedSeccomp = { flags: 4, program: kernel.prepareProgram(Buffer.alloc(16)), kernel, skipped: [] };
  if (listener) p.listener = listener;
  return p;
}

function withEnv(fn: (options: ExecOptions) => void): () => void {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-test-seccomp-'));
    try {
      const root = join(dir, 'root');
      const procSelf = join(dir, 'proc-self');
      mkdirSync(join(root, 'etc'), { recursive: true });
      mkdirSync(procSelf);
      writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      writeFileSync(join(procSelf, 'setgroups'), 'allow\n');
      writeFileSync(join(procSelf, 'status'), 'Name:\tnode\nSigIgn:\t0000000001001000\n');
      fn({ preserveFds: 0, root, procSelf });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function proc(noNewPrivileges: boolean, uid = 1000): Process {
  const caps = ['CAP_KILL'];
  return {
    args: ['sh'],
    cwd: '/',
    user: { uid, gid: uid },
    noNewPrivileges,
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
  };
}

function run(sys: FakeSyscalls, p: Process, options: ExecOptions): void {
  try {
    execUserProcess(sys, p, '/bin/sh', options);
  } catch (err) {
    if (err instanceof FakeExecveError) return;
    throw err;
  }
  assert.fail('execUserProcess returned');
}

function indexOf(sys: FakeSyscalls, name: string, from = 0): number {
  const i = sys.calls.findIndex((c, n) => n >= from && c.name === name);
  assert.ok(i >= 0, `no ${name} in ${sys.names().join(' ')}`);
  return i;
}

test('noNewPrivileges: the filter is loaded last, after the signal reset; only execve follows', withEnv((options) => {
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys);
  run(sys, proc(true), { ...options, seccomp: prepared(kernel) });
  assert.equal(kernel.loads.length, 1);
  const at = kernel.loads[0]!.at;
  assert.equal(sys.calls[at - 1]!.name, 'unblockAllSignals', sys.names().join(' '));
  assert.deepEqual(sys.calls.slice(at).map((c) => c.name), ['execve']);
  assert.equal(kernel.loads[0]!.flags, 4);
}));

test('without noNewPrivileges: loaded after the user change, the cwd check and the signal reset, before capset, with CAP_SYS_ADMIN raised', withEnv((options) => {
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys);
  run(sys, proc(false), { ...options, seccomp: prepared(kernel) });
  assert.equal(kernel.loads.length, 1);
  const at = kernel.loads[0]!.at;
  assert.ok(indexOf(sys, 'setresuid') < at, 'after setresuid');
  assert.ok(indexOf(sys, 'setKeepCaps', indexOf(sys, 'setresuid')) < at, 'after keep-caps is cleared');
  // raised: capget + capset(effective = permitted) right before the load
  assert.deepEqual(sys.calls.slice(at - 2, at).map((c) => c.name), ['capget', 'capset']);
  const raised = sys.calls[at - 1]!.args[0] as { effective: bigint; permitted: bigint };
  assert.equal(raised.effective, raised.permitted);
  // the signals were reset before; then only the container's capabilities and execve
  assert.ok(indexOf(sys, 'unblockAllSignals') < at, 'signals reset before the load');
  assert.deepEqual(sys.calls.slice(at).map((c) => c.name), ['capget', 'capset', 'capAmbientClearAll', 'execve']);
  assert.equal(sys.caps.effective, 1n << 5n, 'only CAP_KILL left');
}));

test('without noNewPrivileges and without process.capabilities: the sets are put back after the load', withEnv((options) => {
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys);
  const p = proc(false);
  delete p.capabilities;
  const before = { ...sys.caps };
  run(sys, p, { ...options, seccomp: prepared(kernel) });
  assert.equal(kernel.loads.length, 1);
  assert.equal(sys.caps.effective, 0n, 'effective cleared by the uid change, as without seccomp');
  assert.equal(sys.caps.permitted, before.permitted);
}));

test('root keeps CAP_SYS_ADMIN: no raise needed', withEnv((options) => {
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys);
  run(sys, proc(false, 0), { ...options, seccomp: prepared(kernel) });
  const at = kernel.loads[0]!.at;
  assert.equal(sys.calls[at - 1]!.name, 'capget');
}));

test('a refused load names the cause (EACCES: CAP_SYS_ADMIN)', withEnv((options) => {
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys, { fail: 'EACCES' });
  assert.throws(
    () => run(sys, proc(true), { ...options, seccomp: prepared(kernel) }),
    /^Error: error loading seccomp filter into kernel: seccomp SECCOMP_SET_MODE_FILTER: EACCES: Permission denied \(without process\.noNewPrivileges, loading a seccomp filter needs CAP_SYS_ADMIN\)$/,
  );
  assert.equal(sys.callsTo('execve').length, 0);
}));

test('NOTIFY: the listener fd and the state go to the agent right after the load, then both fds are closed', withEnv((options) => {
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys, { listenerFd: 77 });
  const message = Buffer.from('{"x":1}');
  run(sys, proc(true), { ...options, seccomp: prepared(kernel, { socket: 66, path: '/run/agent.sock', message }) });
  const at = kernel.loads[0]!.at;
  assert.deepEqual(sys.calls.slice(at).map((c) => [c.name, ...c.args]), [
    ['sendFds', 66, message, [77]],
    ['close', 77],
    ['close', 66],
    ['execve', '/bin/sh', ['sh'], ['HOME=/']],
  ]);
}));

test('NOTIFY: a failed send is an error naming the agent', () => {
  const sys = new FakeSyscalls();
  sys.failOn('sendFds', undefined, 'EPIPE');
  const kernel = fakeKernel(sys, { listenerFd: 77 });
  sys.noNewPrivs = true;
  assert.throws(() => loadSeccomp(sys, prepared(kernel, { socket: 66, path: '/run/agent.sock', message: Buffer.from('x') })), /^Error: cannot send seccomp fd to \/run\/agent\.sock: sendmsg fd 66: EPIPE/);
  assert.deepEqual(sys.callsTo('close'), [[77], [66]]);
});

test('prepareSeccomp: compiles with libseccomp; with NOTIFY, the message for the agent on the passed socket', () => {
  libseccomp(); // needs libseccomp2
  const sys = new FakeSyscalls();
  const kernel = fakeKernel(sys);
  const state = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 4321, bundle: '/b', annotations: { a: 'b' } };
  const notify: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', listenerMetadata: 'meta', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  const p = prepareSeccomp(notify, { socket: 9, processState: () => ({ pid: 4321, state }) }, { kernel });
  assert.ok(p && p.listener);
  assert.equal(p.listener.socket, 9);
  assert.equal(p.listener.path, '/run/agent.sock');
  assert.deepEqual(JSON.parse(p.listener.message.toString()), { ociVersion: '1.3.0', fds: ['seccompFd'], pid: 4321, metadata: 'meta', state });
  assert.equal(p.flags, 4 | 8, 'SPEC_ALLOW (default) | NEW_LISTENER');
  assert.ok(p.program.len > 0);
  assert.throws(() => prepareSeccomp(notify, undefined, { kernel }), /no connection to the seccomp agent at \/run\/agent\.sock/);
  assert.equal(prepareSeccomp(undefined, undefined, { kernel }), undefined);
  const plain = prepareSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }, undefined, { kernel });
  assert.ok(plain && !plain.listener);
});

test('connectSeccompAgent (runtime side): only for NOTIFY profiles with a listenerPath; runc\'s error wording', () => {
  const sys = new FakeSyscalls();
  const notify: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  assert.equal(connectSeccompAgent(sys, undefined), undefined);
  assert.equal(connectSeccompAgent(sys, { ...notify, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }), undefined, 'no NOTIFY rule: no connection');
  assert.equal(connectSeccompAgent(sys, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: notify.syscalls }), undefined, 'no listenerPath: left to the plan');
  assert.equal(sys.callsTo('unixConnect').length, 0);
  const fd = connectSeccompAgent(sys, notify);
  assert.equal(typeof fd, 'number');
  assert.deepEqual(sys.callsTo('unixConnect'), [['/run/agent.sock']]);
  const sys2 = new FakeSyscalls();
  sys2.failOn('unixConnect', undefined, 'ENOENT');
  assert.throws(
    () => connectSeccompAgent(sys2, { ...notify, listenerPath: '/nope.sock' }),
    /^Error: failed to connect with seccomp agent specified in the seccomp profile \(linux\.seccomp\.listenerPath \/nope\.sock\): connect \/nope\.sock: ENOENT/,
  );
});
