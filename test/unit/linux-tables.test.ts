// The data tables of src/linux (errno names and messages, constants, capability names,
// system call numbers) checked against independent sources: the real libc, the system
// headers (through the C compiler when there is one), and Node's own tables.
import { need } from '../helpers/need';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as C from '../../src/linux/constants';
import { SyscallError, errnoEntries, errnoName, errnoNumber, isErrno, strerror } from '../../src/linux/errors';
import { libc } from '../../src/linux/libc';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;

// ------------------------------------------------------------------------------------------
// errors

test('SyscallError message names call, subject, code and strerror text', () => {
  const e = new SyscallError('open', 13, '/run/x/state.json');
  assert.equal(e.message, 'open /run/x/state.json: EACCES: Permission denied');
  assert.equal(e.code, 'EACCES');
  assert.equal(e.errno, 13);
  assert.equal(e.call, 'open');
  assert.equal(e.subject, '/run/x/state.json');
  assert.ok(e instanceof Error);

  const m = new SyscallError('mount', 2, '/x/rootfs/proc', '/proc on /x/rootfs/proc (proc)');
  assert.equal(m.message, 'mount /proc on /x/rootfs/proc (proc): ENOENT: No such file or directory');
  assert.equal(m.subject, '/x/rootfs/proc');

  assert.equal(new SyscallError('setsid', 1).message, 'setsid: EPERM: Operation not permitted');
  assert.equal(SyscallError.of('kill', 'ESRCH', '77').errno, 3);
  assert.throws(() => SyscallError.of('kill', 'ENOTANERRNO'), TypeError);
});

test('isErrno understands aliases (EWOULDBLOCK is EAGAIN)', () => {
  const e = new SyscallError('flock', 11, 'fd 3');
  assert.equal(e.code, 'EAGAIN');
  assert.ok(isErrno(e, 'EWOULDBLOCK'));
  assert.ok(isErrno(e, 'EAGAIN'));
  assert.ok(!isErrno(e, 'ENOENT'));
  assert.ok(!isErrno(new Error('x'), 'EAGAIN'));
  assert.ok(isErrno(Object.assign(new Error('node'), { code: 'ENOENT' }), 'ENOENT'));
});

test('errno table agrees with Node (os.constants.errno)', () => {
  for (const [name, n] of Object.entries(osConstants.errno)) {
    assert.equal(errnoNumber(name), n, `${name}`);
  }
  assert.equal(errnoName(999), 'EUNKNOWN');
  assert.equal(strerror(999), 'Unknown error 999');
});

test('errno messages are exactly glibc strerror() (real libc)', () => {
  const L = libc();
  const entries = errnoEntries();
  assert.ok(entries.length >= 130);
  for (const [n, , msg] of entries) {
    assert.equal(msg, L.strerror(n), `strerror(${n})`);
  }
});

test('errno names match <asm-generic/errno*.h>', () => {
  need(existsSync('/usr/include/asm-generic/errno-base.h'), '/usr/include/asm-generic/errno-base.h');
  const text =
    readFileSync('/usr/include/asm-generic/errno-base.h', 'utf8') + readFileSync('/usr/include/asm-generic/errno.h', 'utf8');
  const defs = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)/gm)) defs.set(m[1]!, Number(m[2]));
  assert.ok(defs.size > 120);
  for (const [n, name] of errnoEntries()) assert.equal(defs.get(name), n, name);
  for (const [name, n] of defs) assert.equal(errnoName(n) === name || errnoNumber(name) === n, true, name);
});

// ------------------------------------------------------------------------------------------
// capabilities

test('capability table matches <linux/capability.h>', () => {
  const header = '/usr/include/linux/capability.h';
  if (existsSync(header)) {
    const text = readFileSync(header, 'utf8');
    const defs = new Map<string, number>();
    for (const m of text.matchAll(/^#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$/gm)) defs.set(m[1]!, Number(m[2]));
    assert.ok(defs.size >= 38, 'header parsed');
    for (const [name, n] of defs) assert.equal(C.capabilityNumber(name), n, name);
    const last = /^#define\s+CAP_LAST_CAP\s+(CAP_[A-Z_]+)/m.exec(text);
    assert.ok(last);
    assert.equal(C.CAP_LAST_CAP, defs.get(last[1]!));
  }
  // Spot checks that do not depend on the header.
  assert.equal(C.capabilityNumber('CAP_CHOWN'), 0);
  assert.equal(C.capabilityNumber('CAP_SYS_ADMIN'), 21);
  assert.equal(C.capabilityNumber('net_bind_service'), 10);
  assert.equal(C.capabilityNumber('CAP_CHECKPOINT_RESTORE'), 40);
  assert.equal(C.capabilityNumber('CAP_NOPE'), undefined);
  assert.equal(C.capabilityName(24), 'CAP_SYS_RESOURCE');
  assert.equal(C.CAPABILITIES.length, 41);
});

test('the kernel knows every capability in the table', () => {
  const kernelLast = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  assert.ok(kernelLast >= 40 || kernelLast === C.CAP_LAST_CAP - 1, `cap_last_cap ${kernelLast}`);
});

// ------------------------------------------------------------------------------------------
// signals

test('parseSignal / signalName', () => {
  assert.equal(C.parseSignal('KILL'), 9);
  assert.equal(C.parseSignal('SIGKILL'), 9);
  assert.equal(C.parseSignal('sigterm'), 15);
  assert.equal(C.parseSignal('15'), 15);
  assert.equal(C.parseSignal(15), 15);
  assert.equal(C.parseSignal('RTMIN'), 34);
  assert.equal(C.parseSignal('SIGRTMIN+3'), 37);
  assert.equal(C.parseSignal('RTMAX-1'), 63);
  assert.equal(C.parseSignal('RTMAX+1'), undefined);
  assert.equal(C.parseSignal('65'), undefined);
  assert.equal(C.parseSignal('0'), undefined);
  assert.equal(C.parseSignal('NOPE'), undefined);
  assert.equal(C.signalName(9), 'SIGKILL');
  assert.equal(C.signalName(6), 'SIGABRT');
  assert.equal(C.signalName(29), 'SIGIO');
  assert.equal(C.signalName(36), 'SIGRTMIN+2');
  assert.equal(C.SIGCHLD, osConstants.signals.SIGCHLD);
  assert.equal(C.SIGWINCH, osConstants.signals.SIGWINCH);
});

// ------------------------------------------------------------------------------------------
// flags and numbers

test('open flags agree with Node (fs.constants)', () => {
  const names = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_EXCL', 'O_NOCTTY', 'O_TRUNC', 'O_APPEND', 'O_DIRECTORY',
    'O_NOATIME', 'O_NOFOLLOW', 'O_SYNC', 'O_DSYNC', 'O_DIRECT', 'O_NONBLOCK', 'S_IFMT', 'S_IFREG', 'S_IFDIR', 'S_IFCHR',
    'S_IFBLK', 'S_IFIFO', 'S_IFLNK', 'S_IFSOCK'] as const;
  const ours = C as unknown as Record<string, number>;
  const node = fsConstants as unknown as Record<string, number>;
  for (const n of names) assert.equal(ours[n], node[n], n);
});

test('RLIMIT names and NAMESPACE tables', () => {
  assert.equal(C.rlimitNumber('RLIMIT_NOFILE'), 7);
  assert.equal(C.rlimitNumber('RLIMIT_RTTIME'), 15);
  assert.equal(C.rlimitNumber('RLIMIT_BOGUS'), undefined);
  assert.equal(C.rlimitNumber('toString'), undefined);
  assert.equal(C.NAMESPACE_FLAGS.mount, C.CLONE_NEWNS);
  assert.equal(C.NAMESPACE_PROC_NAMES.network, 'net');
  for (const t of Object.keys(C.NAMESPACE_FLAGS)) {
    const file = `/proc/self/ns/${C.NAMESPACE_PROC_NAMES[t]}`;
    if (t !== 'time' || existsSync(file)) assert.ok(existsSync(file), file);
  }
});

test('every numeric constant equals the C headers (compiled with gcc)', () => {
  need(hasGcc, 'gcc');
  const ours = C as unknown as Record<string, unknown>;
  const names = Object.keys(ours).filter((k) => /^_*[A-Z][A-Z0-9_]*$/.test(k) && typeof ours[k] === 'number');
  assert.ok(names.length > 200, `${names.length} constants`);
  const lines = names.map(
    (n) => `#ifdef ${n}\n  printf("${n} %lld\\n", (long long)(${n}));\n#else\n  printf("${n} -\\n");\n#endif`,
  );
  const src = `#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <linux/sched.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/ioprio.h>
#include <sys/personality.h>
int main(void) {
${lines.join('\n')}
  /* enum values, not macros: */
  printf("enum.IOPRIO_CLASS_RT %d\\n", IOPRIO_CLASS_RT);
  printf("enum.IOPRIO_CLASS_BE %d\\n", IOPRIO_CLASS_BE);
  printf("enum.IOPRIO_CLASS_IDLE %d\\n", IOPRIO_CLASS_IDLE);
  printf("enum.IOPRIO_WHO_PROCESS %d\\n", IOPRIO_WHO_PROCESS);
  printf("enum.PER_LINUX32 %d\\n", PER_LINUX32);
  printf("enum.ADDR_NO_RANDOMIZE %d\\n", ADDR_NO_RANDOMIZE);
  printf("enum.LINUX_CAPABILITY_VERSION_3 %d\\n", _LINUX_CAPABILITY_VERSION_3);
  printf("statvfs.f_flag@ %zu\\n", offsetof(struct statvfs, f_flag));
  printf("sizeof.statvfs %zu\\n", sizeof(struct statvfs));
  printf("sizeof.sigaction %zu\\n", sizeof(struct sigaction));
${Object.keys(C.SYS)
  .map((k) => `  printf("SYS.${k} %ld\\n", (long)SYS_${k});`)
  .join('\n')}
  return 0;
}
`;
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-consts-'));
  try {
    writeFileSync(join(dir, 'c.c'), src);
    execFileSync('gcc', ['-o', join(dir, 'c'), join(dir, 'c.c')], { stdio: 'pipe' });
    const out = execFileSync(join(dir, 'c'), { encoding: 'utf8' });
    const vals = new Map(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    let checked = 0;
    for (const n of names) {
      const v = vals.get(n);
      if (v === undefined || v === '-') continue; // enum-only or absent from these headers
      const expect = BigInt(v);
      // C prints 32-bit unsigned flags sign-extended when the macro is int (CLONE_IO).
      const got = BigInt(ours[n] as number);
      assert.ok(got === expect || BigInt.asUintN(32, got) === BigInt.asUintN(32, expect), `${n}: ours ${got}, C ${expect}`);
      checked++;
    }
    assert.ok(checked > 150, `only ${checked} constants checked`);
    if (process.arch === 'x64') {
      for (const k of Object.keys(C.SYS)) {
        assert.equal(String((C.SYS as unknown as Record<string, number>)[k]), vals.get(`SYS.${k}`), `SYS_${k}`);
      }
    }
    for (const [k, v] of vals) {
      if (k.startsWith('enum.')) assert.equal(String(ours[k.slice(5)]), v, k);
    }
    assert.equal(vals.get('statvfs.f_flag@'), '72');
    assert.equal(vals.get('sizeof.statvfs'), '112');
    assert.ok(Number(vals.get('sizeof.sigaction')) <= 256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('arm64 syscall numbers match <asm-generic/unistd.h>', () => {
  need(existsSync('/usr/include/asm-generic/unistd.h'), '/usr/include/asm-generic/unistd.h');
  const text = readFileSync('/usr/include/asm-generic/unistd.h', 'utf8');
  const defs = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+__NR_([a-z0-9_]+)\s+(\d+)\s*$/gm)) defs.set(m[1]!, Number(m[2]));
  const arm = C.SYSCALL_NUMBERS_BY_ARCH.arm64 as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(arm)) assert.equal(v, defs.get(k), `arm64 ${k}`);
});

test('x64 syscall numbers match <asm/unistd_64.h>', () => {
  need(existsSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h'), '/usr/include/x86_64-linux-gnu/asm/unistd_64.h');
  const text = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
  const defs = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+__NR_([a-z0-9_]+)\s+(\d+)\s*$/gm)) defs.set(m[1]!, Number(m[2]));
  const x = C.SYSCALL_NUMBERS_BY_ARCH.x64 as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(x)) assert.equal(v, defs.get(k), `x64 ${k}`);
  assert.equal(C.SYS.pivot_root, process.arch === 'x64' ? 155 : 41);
});
