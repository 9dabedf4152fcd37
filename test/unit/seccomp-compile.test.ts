// compileFilter with the real libseccomp (libseccomp.so.2 must be installed: Debian's
// libseccomp2), its programs run in a BPF interpreter (seccomp-bpf-vm.ts) on synthetic system
// calls: actions, errno values, argument conditions (AND, repeated index = OR), architectures,
// unknown names, runc's -ENOSYS stub; libseccomp missing; the `features` section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxSeccomp } from '../../src/spec';
import { compileFilter, lastSyscalls } from '../../src/seccomp/compile';
import { LibseccompMissingError, libseccomp, seccompKernel } from '../../src/seccomp/ffi';
import { enosysStub, encodeProgram, decodeProgram, SCMP_ARCH_X32 } from '../../src/seccomp/bpf';
import { planSeccomp, SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_TRACE, SCMP_ACT_TRAP, SCMP_ACT_NOTIFY } from '../../src/seccomp/profile';
import { seccompFeatures } from '../../src/seccomp';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_BIT, runFilter, type SeccompData } from './seccomp-bpf-vm';

// x86_64 system call numbers used below
const NR = { read: 0, write: 1, getpid: 39, clone: 56, kill: 62, mkdir: 83, personality: 135, unshare: 272, openat2: 437, faccessat2: 439 };
// i386
const NR32 = { write: 4, mkdir: 39, getpid: 20 };

function need(): void {
  // A test that needs libseccomp fails (never skips) without it.
  libseccomp();
}

function compile(s: LinuxSeccomp): Buffer {
  need();
  const plan = planSeccomp(s, { flagSupported: () => true });
  assert.ok(plan);
  return compileFilter(plan, libseccomp()).program;
}

function verdict(program: Buffer, d: SeccompData): number {
  return runFilter(program, d);
}

test('actions: the default and each rule\'s action come back from the filter', () => {
  const cases: Array<[string, number | undefined, number]> = [
    ['SCMP_ACT_KILL', undefined, SCMP_ACT_KILL_THREAD],
    ['SCMP_ACT_KILL_THREAD', undefined, SCMP_ACT_KILL_THREAD],
    ['SCMP_ACT_KILL_PROCESS', undefined, SCMP_ACT_KILL_PROCESS],
    ['SCMP_ACT_TRAP', undefined, SCMP_ACT_TRAP],
    ['SCMP_ACT_ERRNO', undefined, SCMP_ACT_ERRNO(1)],
    ['SCMP_ACT_ERRNO', 13, SCMP_ACT_ERRNO(13)],
    ['SCMP_ACT_TRACE', 9, SCMP_ACT_TRACE(9)],
    ['SCMP_ACT_LOG', undefined, SCMP_ACT_LOG],
    ['SCMP_ACT_NOTIFY', undefined, SCMP_ACT_NOTIFY],
  ];
  for (const [action, errnoRet, expect] of cases) {
    const p = compile({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/a.sock', syscalls: [{ names: ['mkdir'], action: action as never, ...(errnoRet !== undefined ? { errnoRet } : {}) }] });
    assert.equal(verdict(p, { nr: NR.mkdir }) >>> 0, expect >>> 0, `${action}(${errnoRet})`);
    assert.equal(verdict(p, { nr: NR.getpid }) >>> 0, SCMP_ACT_ALLOW, `${action}: others allowed`);
  }
  const d = compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: ['write', 'getpid'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(verdict(d, { nr: NR.write }), SCMP_ACT_ALLOW);
  assert.equal(verdict(d, { nr: NR.mkdir }), SCMP_ACT_ERRNO(38));
});

test('argument conditions: AND across arguments, OR for a repeated index, MASKED_EQ, 64-bit values', () => {
  const p = compile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }, { index: 1, value: 0o755, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 2 ** 40, op: 'SCMP_CMP_GT' }] },
    ],
  });
  const E = SCMP_ACT_ERRNO(1);
  assert.equal(verdict(p, { nr: NR.personality, args: [0xffffffff] }), E);
  assert.equal(verdict(p, { nr: NR.personality, args: [0] }), SCMP_ACT_ALLOW);
  assert.equal(verdict(p, { nr: NR.kill, args: [1, 9] }), SCMP_ACT_ERRNO(3), 'both conditions hold');
  assert.equal(verdict(p, { nr: NR.kill, args: [1, 15] }), SCMP_ACT_ALLOW, 'AND: one is not enough');
  assert.equal(verdict(p, { nr: NR.kill, args: [2, 9] }), SCMP_ACT_ALLOW);
  assert.equal(verdict(p, { nr: NR.mkdir, args: [0, 0o700] }), E, 'repeated index: either value');
  assert.equal(verdict(p, { nr: NR.mkdir, args: [0, 0o755] }), E);
  assert.equal(verdict(p, { nr: NR.mkdir, args: [0, 0o777] }), SCMP_ACT_ALLOW);
  assert.equal(verdict(p, { nr: NR.clone, args: [0x11] }), E, 'no namespace flag: (flags & mask) == 0');
  assert.equal(verdict(p, { nr: NR.clone, args: [0x10000000 | 0x11] }), SCMP_ACT_ALLOW, 'CLONE_NEWUSER set');
  assert.equal(verdict(p, { nr: NR.read, args: [0, 0, 2n ** 40n + 1n] }), E, 'high 32 bits compared');
  assert.equal(verdict(p, { nr: NR.read, args: [0, 0, 2n ** 40n] }), SCMP_ACT_ALLOW);
});

test('architectures: native only by default (others get the bad-arch kill); added ones are filtered', () => {
  const native = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(verdict(native, { nr: NR32.mkdir, arch: AUDIT_ARCH_I386 }), SCMP_ACT_KILL_THREAD, 'i386 not in the filter');
  const multi = compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(verdict(multi, { nr: NR.mkdir }), SCMP_ACT_ERRNO(1));
  assert.equal(verdict(multi, { nr: NR32.mkdir, arch: AUDIT_ARCH_I386 }), SCMP_ACT_ERRNO(1), 'i386 mkdir is 39');
  assert.equal(verdict(multi, { nr: NR32.getpid, arch: AUDIT_ARCH_I386 }), SCMP_ACT_ALLOW);
  assert.equal(verdict(multi, { nr: X32_BIT | NR.mkdir }), SCMP_ACT_ERRNO(1), 'x32 mkdir');
});

test('names libseccomp does not know are skipped (runc); other-arch names are fine', () => {
  need();
  const plan = planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'no_such_syscall_xyz', 'socketcall'], action: 'SCMP_ACT_ERRNO' }] });
  const c = compileFilter(plan!, libseccomp());
  assert.deepEqual(c.skipped, ['no_such_syscall_xyz']);
  assert.equal(verdict(c.program, { nr: NR.mkdir }), SCMP_ACT_ERRNO(1));
});

test('an architecture this libseccomp lacks is a clear error', () => {
  need();
  const lib = libseccomp();
  const plan = planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_SHEB'] })!;
  if (lib.archToken('sheb') !== 0) return; // libseccomp >= 2.6 knows it
  assert.throws(() => compileFilter(plan, lib), /^Error: linux\.seccomp\.architectures: SCMP_ARCH_SHEB is not supported by libseccomp 2\.\d+\.\d+$/);
});

test('-ENOSYS stub: calls above the largest named one get ENOSYS, the rest the profile (runc)', () => {
  const p = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['write', 'getpid', 'openat2'], action: 'SCMP_ACT_ALLOW' }],
  });
  const ENOSYS = SCMP_ACT_ERRNO(38);
  assert.equal(verdict(p, { nr: NR.write }), SCMP_ACT_ALLOW);
  assert.equal(verdict(p, { nr: NR.mkdir }), SCMP_ACT_ERRNO(1), 'known to the profile\'s era: EPERM');
  assert.equal(verdict(p, { nr: NR.openat2 }), SCMP_ACT_ALLOW);
  assert.equal(verdict(p, { nr: NR.faccessat2 }), ENOSYS, 'newer than the profile: ENOSYS');
  assert.equal(verdict(p, { nr: 1000 }), ENOSYS);
  assert.equal(verdict(p, { nr: X32_BIT | NR.mkdir }), SCMP_ACT_ERRNO(1), 'x32');
  assert.equal(verdict(p, { nr: X32_BIT | 1000 }), ENOSYS, 'x32 above its maximum');
  assert.equal(verdict(p, { nr: NR32.mkdir, arch: AUDIT_ARCH_I386 }), SCMP_ACT_ERRNO(1), 'i386');
  assert.equal(verdict(p, { nr: 1000, arch: AUDIT_ARCH_I386 }), ENOSYS, 'i386 above its maximum');
  assert.equal(verdict(p, { nr: 1, arch: 0xc00000b7 }), SCMP_ACT_KILL_THREAD, 'aarch64: not in the filter, bad-arch action');

  // permissive default: no stub
  const allow = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['write'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(verdict(allow, { nr: 1000 }), SCMP_ACT_ALLOW);
  // x86_64 only: x32 calls are left to libseccomp's filter
  const x64 = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['write'], action: 'SCMP_ACT_ALLOW' }] });
  assert.notEqual(verdict(x64, { nr: X32_BIT | 1000 }), ENOSYS);
  assert.equal(verdict(x64, { nr: 1000 }), ENOSYS);
});

test('the stub alone: largest numbers per architecture, x32 beside x86_64, empty without syscalls', () => {
  need();
  const lib = libseccomp();
  const plan = planSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: ['write', 'mkdir'], action: 'SCMP_ACT_ALLOW' }] })!;
  const last = lastSyscalls(plan, lib);
  assert.equal(last.get(AUDIT_ARCH_X86_64), NR.mkdir);
  assert.equal(last.get(AUDIT_ARCH_I386), NR32.mkdir);
  assert.equal(last.get(SCMP_ARCH_X32), (X32_BIT | NR.mkdir) >>> 0);
  assert.deepEqual(enosysStub(new Map()), []);
  const stub = enosysStub(last);
  assert.deepEqual(decodeProgram(encodeProgram(stub)), stub);
  assert.ok(stub.length < 20, `stub of ${stub.length} instructions`);
});

test('libseccomp missing: a clear error naming the library and the package', () => {
  assert.throws(() => libseccomp('libseccomp-tsrun-test-missing.so.2'), (err: unknown) => {
    assert.ok(err instanceof LibseccompMissingError);
    assert.match((err as Error).message, /^libseccomp is not installed: cannot load libseccomp-tsrun-test-missing\.so\.2 \(Debian package libseccomp2\)/);
    return true;
  });
  assert.deepEqual(seccompFeatures({ loadLib: () => libseccomp('libseccomp-tsrun-test-missing.so.2') }), { enabled: false });
});

test('features: every action, operator and flag this host offers; archs of this libseccomp', () => {
  need();
  const f = seccompFeatures();
  assert.equal(f.enabled, true);
  assert.deepEqual(f.actions, ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP']);
  assert.deepEqual(f.operators, ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE']);
  for (const a of ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64']) assert.ok(f.archs!.includes(a), a);
  assert.deepEqual(f.knownFlags, ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
  // kernel 6.x has all of them
  assert.deepEqual(f.supportedFlags, f.knownFlags);
  const k = seccompKernel();
  assert.equal(k.flagsSupported(1 << 20), false, 'an unknown flag bit is refused');
});
