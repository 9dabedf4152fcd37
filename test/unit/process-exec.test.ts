// execUserProcess against FakeSyscalls: the order of the steps (runc's), their arguments,
// the resulting credentials/capabilities, and the errors naming each step. The container's
// root (/etc/passwd) and /proc/self (setgroups, status, oom_score_adj) are temp directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Process } from '../../src/spec';
import { execUserProcess, type ExecOptions } from '../../src/init/process';
import { FakeExecveError, FakeSyscalls, type SyscallName } from '../../src/linux/fake';
import { CLOSE_RANGE_CLOEXEC, RLIM_INFINITY } from '../../src/linux/constants';

const CAP_KILL = 5;
const CAP_NET_BIND_SERVICE = 10;
const CAP_SYS_RESOURCE = 24;
const SIGPIPE = 13;
const SIGXFSZ = 25;

interface Env {
  root: string;
  procSelf: string;
  options: ExecOptions;
  warnings: string[];
}

function withEnv(fn: (env: Env) => void, setgroups = 'allow'): () => void {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-test-exec-'));
    try {
      const root = join(dir, 'root');
      const procSelf = join(dir, 'proc-self');
      mkdirSync(join(root, 'etc'), { recursive: true });
      mkdirSync(procSelf);
      writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
      writeFileSync(join(procSelf, 'setgroups'), `${setgroups}\n`);
      writeFileSync(join(procSelf, 'oom_score_adj'), '0\n');
      // Node ignores SIGPIPE and SIGXFSZ: bits 12 and 24.
      writeFileSync(join(procSelf, 'status'), 'Name:\tnode\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t0000000000004a02\n');
      const warnings: string[] = [];
      fn({ root, procSelf, warnings, options: { preserveFds: 1, root, procSelf, warn: (m) => warnings.push(m) } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const NBS = ['CAP_NET_BIND_SERVICE'];

function fullProcess(): Process {
  return {
    args: ['sh', '-c', 'echo hi'],
    env: ['PATH=/usr/bin:/bin', 'A=1'],
    cwd: '/work',
    user: { uid: 1000, gid: 1000, additionalGids: [5, 2000], umask: 0o027 },
    rlimits: [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 },
    ],
    oomScoreAdj: 500,
    noNewPrivileges: true,
    scheduler: { policy: 'SCHED_BATCH', nice: 5 },
    ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
    capabilities: { bounding: NBS, effective: NBS, permitted: NBS, inheritable: NBS, ambient: NBS },
  };
}

/** Runs execUserProcess until the fake execve; returns what execve got. */
function run(sys: FakeSyscalls, p: Process | undefined, options: ExecOptions, exe = '/bin/sh'): FakeExecveError {
  try {
    execUserProcess(sys, p, exe, options);
  } catch (err) {
    if (err instanceof FakeExecveError) return err;
    throw err;
  }
  assert.fail('execUserProcess returned');
}

/** Index of the first call named `name` (matching `pred`), failing when absent. */
function at(sys: FakeSyscalls, name: SyscallName, pred: (args: unknown[]) => boolean = () => true): number {
  const i = sys.calls.findIndex((c) => c.name === name && pred(c.args));
  assert.ok(i >= 0, `no ${name} call in ${sys.names().join(' ')}`);
  return i;
}

function before(sys: FakeSyscalls, a: number, b: number, what: string): void {
  assert.ok(a < b, `${what}: ${sys.names().join(' ')}`);
}

test('execve comes last, with args as argv and env + HOME', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  const ex = run(sys, fullProcess(), options);
  assert.equal(ex.path, '/bin/sh');
  assert.deepEqual(ex.argv, ['sh', '-c', 'echo hi']);
  assert.deepEqual(ex.envp, ['PATH=/usr/bin:/bin', 'A=1', 'HOME=/home/app']);
  assert.equal(sys.calls.at(-1)!.name, 'execve');
  assert.equal(sys.callsTo('execve').length, 1);
}));

test('fds: 0..2+preserveFds inheritable, everything above close-on-exec, first of all', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  run(sys, fullProcess(), { ...options, preserveFds: 2 });
  assert.deepEqual(sys.callsTo('setCloexec'), [[0, false], [1, false], [2, false], [3, false], [4, false]]);
  assert.deepEqual(sys.callsTo('closeRange'), [[5, 0xffffffff, CLOSE_RANGE_CLOEXEC]]);
  assert.equal(sys.calls[0]!.name, 'setCloexec');
  assert.equal(sys.callsTo('close').length, 0, 'no fd may be closed outright');
}));

test('the order of the privileged steps is runc\'s', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  run(sys, fullProcess(), options);
  const closeRange = at(sys, 'closeRange');
  const nnp = at(sys, 'setNoNewPrivs');
  const sched = at(sys, 'schedSetattr');
  const ioprio = at(sys, 'ioprioSet');
  const umask = at(sys, 'umask');
  const rlimit = at(sys, 'setrlimit');
  const drop = at(sys, 'capbsetDrop');
  const keepOn = at(sys, 'setKeepCaps', (a) => a[0] === true);
  const groups = at(sys, 'setgroups');
  const gid = at(sys, 'setresgid');
  const uid = at(sys, 'setresuid');
  const keepOff = at(sys, 'setKeepCaps', (a) => a[0] === false);
  const capset = at(sys, 'capset');
  const ambient = at(sys, 'capAmbientRaise');
  const sig = at(sys, 'signalDefault');
  const unblock = at(sys, 'unblockAllSignals');
  const execve = at(sys, 'execve');

  before(sys, closeRange, nnp, 'fds before anything else');
  before(sys, nnp, uid, 'no_new_privs before the user change');
  before(sys, sched, uid, 'scheduler before the user change');
  before(sys, ioprio, uid, 'ioprio before the user change');
  before(sys, umask, uid, 'umask before the user change');
  before(sys, rlimit, uid, 'rlimits before dropping privileges');
  before(sys, drop, keepOn, 'bounding set before keep-caps');
  before(sys, drop, uid, 'bounding set (needs CAP_SETPCAP) before leaving uid 0');
  before(sys, keepOn, groups, 'keep-caps before the user change');
  before(sys, groups, gid, 'setgroups before setresgid');
  before(sys, gid, uid, 'setresgid before setresuid');
  before(sys, uid, keepOff, 'keep-caps cleared after setresuid');
  before(sys, keepOff, capset, 'keep-caps cleared before capset');
  before(sys, uid, capset, 'capset after the uid change');
  before(sys, capset, ambient, 'ambient after capset');
  before(sys, ambient, sig, 'signals after capabilities');
  before(sys, sig, unblock, 'dispositions then mask');
  before(sys, unblock, execve, 'execve last');
  // every setrlimit comes before the user change, not only the first
  const lastRlimit = sys.calls.map((c) => c.name).lastIndexOf('setrlimit');
  before(sys, lastRlimit, uid, 'all rlimits before the user change');
}));

test('arguments and resulting state of each step', withEnv(({ options, procSelf }) => {
  const sys = new FakeSyscalls();
  run(sys, fullProcess(), options);
  assert.deepEqual(sys.callsTo('setrlimit'), [
    [7, 1024n, 1024n],
    [4, 0n, RLIM_INFINITY],
  ]);
  assert.deepEqual(sys.callsTo('schedSetattr'), [[0, { policy: 3, flags: 0, nice: 5 }]]);
  assert.deepEqual(sys.callsTo('ioprioSet'), [[1, 0, (2 << 13) | 4]]);
  assert.deepEqual(sys.callsTo('umask'), [[0o027]]);
  assert.deepEqual(sys.callsTo('setgroups'), [[[5, 2000]]]);
  assert.deepEqual(sys.callsTo('setresgid'), [[1000, 1000, 1000]]);
  assert.deepEqual(sys.callsTo('setresuid'), [[1000, 1000, 1000]]);
  assert.deepEqual(sys.callsTo('chdir'), [['/work']]);
  assert.deepEqual(sys.callsTo('signalDefault'), [[SIGPIPE], [SIGXFSZ]]);
  assert.equal(sys.callsTo('personality').length, 0);
  assert.equal(readFileSync(join(procSelf, 'oom_score_adj'), 'utf8'), '500');

  const bit = 1n << BigInt(CAP_NET_BIND_SERVICE);
  assert.equal(sys.uid, 1000);
  assert.equal(sys.gid, 1000);
  assert.deepEqual(sys.groups, [5, 2000]);
  assert.equal(sys.noNewPrivs, true);
  assert.equal(sys.keepCaps, false);
  assert.equal(sys.umaskValue, 0o027);
  assert.deepEqual([...sys.bounding], [CAP_NET_BIND_SERVICE]);
  assert.deepEqual(sys.caps, { effective: bit, permitted: bit, inheritable: bit });
  assert.deepEqual([...sys.ambient], [CAP_NET_BIND_SERVICE]);
}));

test('root with no user, no capabilities: groups cleared, caps left alone, HOME from passwd', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  const ex = run(sys, { args: ['/bin/true'], cwd: '/' }, options, '/bin/true');
  assert.deepEqual(ex.envp, ['HOME=/root']);
  assert.deepEqual(sys.callsTo('setgroups'), [[[]]]);
  assert.deepEqual(sys.callsTo('setresgid'), [[0, 0, 0]]);
  assert.deepEqual(sys.callsTo('setresuid'), [[0, 0, 0]]);
  assert.deepEqual(sys.callsTo('umask'), [[0o022]]);
  for (const name of ['capset', 'capbsetDrop', 'capAmbientRaise', 'setNoNewPrivs', 'setrlimit', 'schedSetattr', 'ioprioSet'] as const) {
    assert.equal(sys.callsTo(name).length, 0, `${name} called`);
  }
  assert.equal(sys.caps.effective, (1n << 41n) - 1n);
}));

test('HOME: kept when set, "/" for a uid not in passwd', withEnv(({ options }) => {
  let ex = run(new FakeSyscalls(), { args: ['x'], cwd: '/', env: ['HOME=/mine'], user: { uid: 1000, gid: 1000 } }, options);
  assert.deepEqual(ex.envp, ['HOME=/mine']);
  ex = run(new FakeSyscalls(), { args: ['x'], cwd: '/', env: ['A=b'], user: { uid: 4242, gid: 4242 } }, options);
  assert.deepEqual(ex.envp, ['A=b', 'HOME=/']);
}));

test('personality option: domain | flags', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  run(sys, { args: ['x'], cwd: '/' }, { ...options, personality: { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] } });
  assert.deepEqual(sys.callsTo('personality'), [[0x0008 | 0x0040000]]);
  before(sys, at(sys, 'personality'), at(sys, 'setresuid'), 'personality before the user change');
}));

test('a failing rlimit names the limit and stops before any privilege change', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  sys.failOn('setrlimit', 7, 'EPERM');
  assert.throws(() => run(sys, fullProcess(), options), (e: Error) => {
    assert.match(e.message, /^setting rlimit RLIMIT_NOFILE: EPERM: Operation not permitted \(raising a hard limit needs CAP_SYS_RESOURCE/);
    return true;
  });
  for (const name of ['setresuid', 'setresgid', 'capset', 'execve'] as const) assert.equal(sys.callsTo(name).length, 0, name);
}));

test('soft above hard: the hint says so', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  sys.failOn('setrlimit', 7, 'EINVAL');
  const p = { ...fullProcess(), rlimits: [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }] };
  assert.throws(() => run(sys, p, options), /^Error: setting rlimit RLIMIT_NOFILE: EINVAL: Invalid argument \(soft limit 2048 is above hard limit 1024\)$/);
}));

test('validation errors come before any system call', withEnv(({ options }) => {
  for (const bad of [
    { ...fullProcess(), capabilities: { bounding: ['CAP_FOO'] } },
    { ...fullProcess(), rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }] },
    { ...fullProcess(), env: ['NOEQUALS'] },
    { ...fullProcess(), scheduler: { policy: 'SCHED_X' as 'SCHED_FIFO' } },
  ]) {
    const sys = new FakeSyscalls();
    assert.throws(() => run(sys, bad, options));
    assert.deepEqual(sys.names(), [], `calls made before a validation error: ${sys.names().join(' ')}`);
  }
}));

test('each failing step is named', withEnv(({ options }) => {
  const cases: Array<[SyscallName, string | number | undefined, string, RegExp]> = [
    ['setNoNewPrivs', undefined, 'EINVAL', /^setting no_new_privs: EINVAL: Invalid argument$/],
    ['schedSetattr', undefined, 'EPERM', /^setting scheduler: EPERM: Operation not permitted$/],
    ['ioprioSet', undefined, 'EPERM', /^setting I\/O priority: EPERM/],
    ['capbsetDrop', undefined, 'EPERM', /^applying capability bounding set: EPERM/],
    ['setKeepCaps', undefined, 'EPERM', /^setting keep caps: EPERM/],
    ['setgroups', undefined, 'EPERM', /^setting supplementary groups \[5 2000\]: EPERM: Operation not permitted$/],
    ['setresgid', undefined, 'EPERM', /^setting gid 1000: EPERM/],
    ['setresuid', undefined, 'EPERM', /^setting uid 1000: EPERM/],
    ['setresgid', undefined, 'EINVAL', /^cannot setgid to unmapped gid 1000 in user namespace$/],
    ['setresuid', undefined, 'EINVAL', /^cannot setuid to unmapped uid 1000 in user namespace$/],
    ['capset', undefined, 'EINVAL', /^applying capabilities: capset: EINVAL/],
    ['closeRange', undefined, 'EINVAL', /^marking inherited fds close-on-exec: EINVAL/],
    ['execve', undefined, 'ENOEXEC', /^exec \/bin\/sh: exec format error$/],
    ['execve', undefined, 'EACCES', /^exec \/bin\/sh: permission denied$/],
  ];
  for (const [name, match, errno, re] of cases) {
    const sys = new FakeSyscalls();
    sys.failOn(name, match, errno);
    assert.throws(() => run(sys, fullProcess(), options), (e: Error) => {
      assert.match(e.message, re, `${name} ${errno}`);
      return true;
    });
  }
}));

test('capset refused for a capability the runtime lacks: the error names it', withEnv(({ options }) => {
  const sys = new FakeSyscalls();
  // like this host: CAP_SYS_RESOURCE absent from the bounding set, hence from permitted
  sys.bounding.delete(CAP_SYS_RESOURCE);
  sys.caps.permitted &= ~(1n << BigInt(CAP_SYS_RESOURCE));
  sys.caps.effective &= ~(1n << BigInt(CAP_SYS_RESOURCE));
  const caps = ['CAP_NET_BIND_SERVICE', 'CAP_SYS_RESOURCE'];
  const p = { ...fullProcess(), capabilities: { bounding: caps, effective: caps, permitted: caps } };
  assert.throws(() => run(sys, p, options), /^Error: applying capabilities: capset: EPERM: Operation not permitted \(this runtime does not hold CAP_SYS_RESOURCE/);
  // only in the bounding set: fine, it simply stays absent (as with runc)
  const sys2 = new FakeSyscalls();
  sys2.bounding.delete(CAP_SYS_RESOURCE);
  sys2.caps.permitted &= ~(1n << BigInt(CAP_SYS_RESOURCE));
  run(sys2, { ...fullProcess(), capabilities: { bounding: caps, effective: NBS, permitted: NBS } }, options);
  assert.deepEqual([...sys2.bounding], [CAP_NET_BIND_SERVICE]);
}));

test('ambient without inheritable (runc spec\'s default): a warning, not an error', withEnv(({ options, warnings }) => {
  const sys = new FakeSyscalls();
  const caps = ['CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const p = { ...fullProcess(), capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps } };
  run(sys, p, options);
  assert.equal(sys.callsTo('capAmbientRaise').length, 2);
  assert.equal(sys.ambient.size, 0);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /can't raise ambient capability CAP_KILL: EPERM/);
  assert.equal(sys.caps.effective, (1n << BigInt(CAP_KILL)) | (1n << BigInt(CAP_NET_BIND_SERVICE)));
}));

test('setgroups denied: skipped without additional gids, an error with them', withEnv(({ options }) => {
  let sys = new FakeSyscalls();
  run(sys, { args: ['x'], cwd: '/', user: { uid: 1000, gid: 1000 } }, options);
  assert.equal(sys.callsTo('setgroups').length, 0);
  assert.deepEqual(sys.callsTo('setresuid'), [[1000, 1000, 1000]]);

  sys = new FakeSyscalls();
  assert.throws(
    () => run(sys, { args: ['x'], cwd: '/', user: { uid: 1000, gid: 1000, additionalGids: [5] } }, options),
    /setting supplementary groups \[5\]: setgroups\(2\) is denied in this user namespace/,
  );
  assert.equal(sys.callsTo('setresuid').length, 0);
}, 'deny'));

test('chdir: EACCES as root is retried as the user; other errors are runc\'s message', withEnv(({ options }) => {
  let sys = new FakeSyscalls();
  sys.failOn('chdir', '/work', 'EACCES', { times: 1 });
  run(sys, fullProcess(), options);
  const chdirs = sys.calls.map((c, i) => [c.name, i] as const).filter(([n]) => n === 'chdir').map(([, i]) => i);
  assert.equal(chdirs.length, 2);
  before(sys, chdirs[0]!, at(sys, 'setresuid'), 'first chdir as root');
  before(sys, at(sys, 'setresuid'), chdirs[1]!, 'retry after the user change');
  before(sys, chdirs[1]!, at(sys, 'capset'), 'retry before capset');

  sys = new FakeSyscalls();
  sys.failOn('chdir', '/work', 'ENOENT');
  assert.throws(() => run(sys, fullProcess(), options), /^Error: chdir to cwd \("\/work"\) set in config.json failed: no such file or directory$/);

  sys = new FakeSyscalls();
  sys.failOn('chdir', '/work', 'EACCES');
  assert.throws(() => run(sys, fullProcess(), options), /^Error: chdir to cwd \("\/work"\) set in config.json failed: permission denied$/);
  assert.equal(sys.callsTo('execve').length, 0);
}));

test('oom_score_adj failure names the step', withEnv(({ options, procSelf }) => {
  rmSync(join(procSelf, 'oom_score_adj'));
  mkdirSync(join(procSelf, 'oom_score_adj')); // writing a directory: EISDIR
  const sys = new FakeSyscalls();
  assert.throws(() => run(sys, fullProcess(), options), /^Error: setting oom_score_adj to 500: EISDIR: Is a directory$/);
  assert.equal(sys.callsTo('setresuid').length, 0);
}));

test('no process at all', () => {
  assert.throws(() => execUserProcess(new FakeSyscalls(), undefined, '/bin/sh'), /a container needs a process/);
});
