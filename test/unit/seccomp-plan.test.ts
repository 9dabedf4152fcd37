// planSeccomp: linux.seccomp → libseccomp numbers, validated (pure: no koffi, no libseccomp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxSeccomp } from '../../src/spec';
import {
  ACTIONS,
  ARCHES,
  OPERATORS,
  SCMP_ACT_ALLOW,
  SCMP_ACT_ERRNO,
  SCMP_ACT_KILL_PROCESS,
  SCMP_ACT_KILL_THREAD,
  SCMP_ACT_LOG,
  SCMP_ACT_NOTIFY,
  SCMP_ACT_TRACE,
  SCMP_ACT_TRAP,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  SeccompConfigError,
  actionName,
  planSeccomp,
  type SeccompPlan,
} from '../../src/seccomp/profile';
import { libseccompLoaded } from '../../src/seccomp/ffi';

function plan(s: LinuxSeccomp, flagSupported?: (f: number) => boolean): SeccompPlan {
  const p = planSeccomp(s, { flagSupported });
  assert.ok(p);
  return p;
}

function rejects(s: unknown, message: RegExp): void {
  assert.throws(() => planSeccomp(s as LinuxSeccomp), (err: unknown) => {
    assert.ok(err instanceof SeccompConfigError, `not a SeccompConfigError: ${String(err)}`);
    assert.match((err as Error).message, message);
    return true;
  });
}

test('no profile, no plan; planning loads neither koffi nor libseccomp', () => {
  assert.equal(planSeccomp(undefined), undefined);
  plan({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(libseccompLoaded(), false);
});

test('every action maps to libseccomp\'s value (KILL is KILL_THREAD, ERRNO/TRACE default to EPERM)', () => {
  const expect: Record<string, number> = {
    SCMP_ACT_KILL: SCMP_ACT_KILL_THREAD,
    SCMP_ACT_KILL_THREAD: SCMP_ACT_KILL_THREAD,
    SCMP_ACT_KILL_PROCESS: SCMP_ACT_KILL_PROCESS,
    SCMP_ACT_TRAP: SCMP_ACT_TRAP,
    SCMP_ACT_ERRNO: SCMP_ACT_ERRNO(1),
    SCMP_ACT_TRACE: SCMP_ACT_TRACE(1),
    SCMP_ACT_LOG: SCMP_ACT_LOG,
    SCMP_ACT_NOTIFY: SCMP_ACT_NOTIFY,
    SCMP_ACT_ALLOW: SCMP_ACT_ALLOW,
  };
  assert.deepEqual(Object.keys(ACTIONS).sort(), Object.keys(expect).sort());
  for (const [name, value] of Object.entries(expect)) {
    const p = plan({ defaultAction: 'SCMP_ACT_LOG', listenerPath: '/x.sock', syscalls: [{ names: ['getpid'], action: name as never }] });
    if (name === 'SCMP_ACT_LOG') assert.equal(p.rules.length, 0, 'same as default: dropped');
    else assert.equal(p.rules[0]!.action, value, name);
  }
  // the numbers are libseccomp's (seccomp.h)
  assert.equal(SCMP_ACT_KILL_PROCESS, 0x80000000);
  assert.equal(SCMP_ACT_TRAP, 0x00030000);
  assert.equal(SCMP_ACT_ERRNO(38), 0x00050026);
  assert.equal(SCMP_ACT_TRACE(7), 0x7ff00007);
  assert.equal(SCMP_ACT_NOTIFY, 0x7fc00000);
  assert.equal(SCMP_ACT_LOG, 0x7ffc0000);
  assert.equal(SCMP_ACT_ALLOW, 0x7fff0000);
});

test('errnoRet and defaultErrnoRet set the errno (ERRNO) and the trace message (TRACE)', () => {
  const p = plan({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    syscalls: [
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 42 },
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  assert.equal(p.defaultAction, SCMP_ACT_ERRNO(38));
  assert.deepEqual(p.rules.map((r) => [r.name, actionName(r.action)]), [
    ['mkdir', 'SCMP_ACT_ERRNO(13)'],
    ['ptrace', 'SCMP_ACT_TRACE(42)'],
    ['read', 'SCMP_ACT_ALLOW'],
  ]);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ERRNO' }).defaultAction, SCMP_ACT_ERRNO(1));
  assert.equal(plan({ defaultAction: 'SCMP_ACT_TRACE' }).defaultAction, SCMP_ACT_TRACE(1));
});

test('one rule per name; a rule equal to the default action is dropped (runc), its name kept for the stub', () => {
  const p = plan({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }, // = default ERRNO(EPERM)
      { names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 }, // differs by the errno
    ],
  });
  assert.deepEqual(p.rules.map((r) => r.name), ['read', 'write', 'rmdir']);
  assert.deepEqual(p.names, ['read', 'write', 'mkdir', 'rmdir']);
});

test('conditions on distinct arguments are one rule (AND); a repeated index splits them (runc)', () => {
  const and = plan({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [
      { index: 0, value: 16, op: 'SCMP_CMP_EQ' },
      { index: 2, value: 9, op: 'SCMP_CMP_NE' },
    ] }],
  });
  assert.equal(and.rules.length, 1);
  assert.deepEqual(and.rules[0]!.conditions, [
    { index: 0, op: OPERATORS.SCMP_CMP_EQ, value: 16n, valueTwo: 0n },
    { index: 2, op: OPERATORS.SCMP_CMP_NE, value: 9n, valueTwo: 0n },
  ]);

  const split = plan({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['personality', 'kill'], action: 'SCMP_ACT_ERRNO', args: [
      { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
      { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
      { index: 1, value: 3, op: 'SCMP_CMP_GT' },
    ] }],
  });
  assert.deepEqual(split.rules.map((r) => [r.name, r.conditions.map((c) => `${c.index}:${c.value}`)]), [
    ['personality', ['0:1']], ['personality', ['0:2']], ['personality', ['1:3']],
    ['kill', ['0:1']], ['kill', ['0:2']], ['kill', ['1:3']],
  ]);
});

test('operators, MASKED_EQ\'s two values, 64-bit values', () => {
  assert.deepEqual(OPERATORS, { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 });
  const p = plan({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [
      { index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
      { index: 1, value: 18446744073709551615, op: 'SCMP_CMP_LE' },
      { index: 2, value: 2 ** 53 + 2, op: 'SCMP_CMP_GE' },
    ] }],
  });
  assert.deepEqual(p.rules[0]!.conditions.map((c) => [c.op, c.value, c.valueTwo]), [
    [7, 2114060288n, 0n],
    [3, 2n ** 64n - 1n, 0n],
    [5, 2n ** 53n + 2n, 0n],
  ]);
});

test('architectures: OCI names → libseccomp names, duplicates dropped', () => {
  const p = plan({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86'] });
  assert.deepEqual(p.architectures, ['x86_64', 'x86', 'x32']);
  assert.equal(ARCHES.SCMP_ARCH_AARCH64, 'aarch64');
  assert.equal(ARCHES.SCMP_ARCH_RISCV64, 'riscv64');
});

test('flags: absent → SPEC_ALLOW if the kernel has it (runc); [] → none; TSYNC accepted and ignored', () => {
  const all = (): boolean => true;
  const none = (): boolean => false;
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ALLOW' }, all).flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ALLOW' }, none).flags, 0);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ALLOW', flags: [] }, all).flags, 0);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }, none).flags, 0);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }, all).flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  assert.throws(
    () => plan({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'] }, (f) => f !== SECCOMP_FILTER_FLAG_LOG),
    /^Error: linux\.seccomp\.flags\[0\]: SECCOMP_FILTER_FLAG_LOG is not supported by this kernel$/,
  );
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_BOGUS'] }, /^linux\.seccomp\.flags\[0\]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS"/);
});

test('flags: WAIT_KILLABLE_RECV only with a listener; NOTIFY adds NEW_LISTENER', () => {
  const wk = ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] as LinuxSeccomp['flags'];
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ALLOW', flags: wk }).flags, 0);
  const n = plan({ defaultAction: 'SCMP_ACT_ALLOW', flags: wk, listenerPath: '/run/agent.sock', listenerMetadata: 'm', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
  assert.equal(n.flags, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_NEW_LISTENER);
  assert.equal(n.notify, true);
  assert.equal(n.listenerPath, '/run/agent.sock');
  assert.equal(n.listenerMetadata, 'm');
});

test('the -ENOSYS stub is planned for non-permissive defaults only (runc)', () => {
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ERRNO' }).enosysStub, true);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_KILL_PROCESS' }).enosysStub, true);
  assert.equal(plan({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 }).enosysStub, false);
  for (const a of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'] as const) assert.equal(plan({ defaultAction: a }).enosysStub, false, a);
});

test('bad profiles are refused, naming the field', () => {
  const deny = (x: object): unknown => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', ...x }] });
  rejects({ defaultAction: 'SCMP_ACT_DENY' }, /^linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_DENY"/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'allow' }] }, /^linux\.seccomp\.syscalls\[0\]\.action: unknown action "allow"/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /^linux\.seccomp\.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno/);
  rejects(deny({ action: 'SCMP_ACT_KILL', errnoRet: 1 }), /^linux\.seccomp\.syscalls\[0\]\.errnoRet: SCMP_ACT_KILL takes no errno: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE$/);
  rejects(deny({ errnoRet: 70000 }), /^linux\.seccomp\.syscalls\[0\]\.errnoRet: 70000 is out of range \(0 to 65535\)$/);
  rejects(deny({ args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }), /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: 6 is out of range/);
  rejects(deny({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' }] }), /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_FOO"/);
  rejects(deny({ args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }), /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: -1 is out of range/);
  rejects(deny({ args: [{ index: 0, value: '1', op: 'SCMP_CMP_EQ' }] }), /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: must be an unsigned 64-bit integer/);
  rejects(deny({ names: [''] }), /^linux\.seccomp\.syscalls\[0\]\.names\[0\]: empty string is not a valid syscall$/);
  rejects(deny({ names: [] }), /^linux\.seccomp\.syscalls\[0\]\.names: must name at least one system call$/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_I386'] }, /^linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_I386"$/);
  rejects({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' }, /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action$/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /^linux\.seccomp\.listenerPath: SCMP_ACT_NOTIFY needs a listenerPath/);
  rejects(
    { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/a', syscalls: [{ names: ['mkdir', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] },
    /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall/,
  );
});
