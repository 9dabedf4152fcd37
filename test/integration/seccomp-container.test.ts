// linux.seccomp in real containers through bin/tsrun (root, libseccomp2 installed): a denied
// syscall fails with the profile's errno inside while the rest works; an errno default with an
// allow list; argument conditions; KILL_PROCESS/KILL/TRAP kill with SIGSYS; docker's and
// podman's default profiles; filters without no_new_privs; `exec` gets the container's filter;
// SCMP_ACT_NOTIFY hands the listener fd and the container process state to an agent (a child
// process of this file, started again with TSRUN_SECCOMP_AGENT set); create-time errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxSeccomp } from '../../src/spec';
import { tsrun, tsrunToFiles, uniqueId, tempDir, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot, hostMountCount } from '../helpers/bundle';
import { linux } from '../../src/linux/syscalls';
import { dockerProfile, podmanProfile } from './seccomp-profiles';

const AGENT_VAR = 'TSRUN_SECCOMP_AGENT';

// ---------------------------------------------------------------------------------------------
// The seccomp agent (child process side)

/**
 * Accepts one connection per entry of `answers`; from each, receives the state and the listener
 * fd; when the entry is true, waits for one notification on that fd and answers it with EROFS.
 */
function agent(path: string, answers: boolean[]): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const koffi = require('koffi');
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int domain, int type, int protocol)');
  const bind = libc.func('int bind(int fd, void *addr, uint32_t len)');
  const listen = libc.func('int listen(int fd, int backlog)');
  const accept = libc.func('int accept(int fd, void *addr, void *len)');
  const ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)');
  const say = (line: string): void => void writeSync(1, line + '\n');
  const s = socket(1, 1 | 0o2000000, 0);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(1, 0);
  addr.write(path, 2);
  if (bind(s, addr, 2 + Buffer.byteLength(path) + 1) < 0 || listen(s, 4) < 0) throw new Error(`agent: bind/listen ${path}: errno ${koffi.errno()}`);
  say('ready');
  answers.forEach((answer, n) => {
    const c = accept(s, null, null);
    const { data, fds } = linux().recvFds(c);
    say(`state${n} ${data.toString()}`);
    say(`fds${n} ${fds.length}`);
    if (!answer) return;
    const fd = fds[0]!;
    const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
    const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
    const req = Buffer.alloc(80); // struct seccomp_notif
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) throw new Error(`agent: NOTIF_RECV errno ${koffi.errno()}`);
    say(`notif${n} nr=${req.readInt32LE(16)}`);
    const resp = Buffer.alloc(24); // struct seccomp_notif_resp { u64 id; s64 val; s32 error; u32 flags; }
    resp.writeBigUInt64LE(req.readBigUInt64LE(0), 0);
    resp.writeInt32LE(-30, 16); // -EROFS
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0) throw new Error(`agent: NOTIF_SEND errno ${koffi.errno()}`);
    say(`answered${n}`);
  });
}

if (process.env[AGENT_VAR]) {
  try {
    const { path, answers } = JSON.parse(process.env[AGENT_VAR]) as { path: string; answers: boolean[] };
    agent(path, answers);
    process.exit(0);
  } catch (err) {
    writeSync(2, `${(err as Error).message}\n`);
    process.exit(3);
  }
}

// ---------------------------------------------------------------------------------------------
// The tests

const root = stateRoot('seccomp');
const mountsBefore = hostMountCount();

function rt(args: string[]): Result {
  return tsrun(['--root', root, ...args]);
}

after(() => {
  if (process.env[AGENT_VAR]) return;
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  assert.equal(hostMountCount(), mountsBefore, 'host mount table changed');
});

type Config = ReturnType<typeof baseConfig>;

function withSeccomp(args: string[], seccomp: LinuxSeccomp, edit: (c: Config) => void = () => undefined): string {
  const c = baseConfig(args);
  c.linux.seccomp = seccomp;
  edit(c);
  return makeBundle(c);
}

function run(bundle: string, name: string): Result {
  return rt(['run', '--bundle', bundle, uniqueId(name)]);
}

const DENY_MKDIR: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
};

const SCRIPT = 'mkdir /tmp/x; echo "mkdir=$?"; echo data > /tmp/f && cat /tmp/f; ls -d /tmp/x 2>/dev/null; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status';

if (!process.env[AGENT_VAR]) {
  test('a denied syscall fails with EPERM inside; everything else works (noNewPrivileges)', () => {
    const r = run(withSeccomp(['sh', '-c', SCRIPT], DENY_MKDIR), 'deny');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/x': Operation not permitted/);
    assert.equal(r.stdout, 'mkdir=1\ndata\nNoNewPrivs:\t1\nSeccomp:\t2\n');
  });

  test('without noNewPrivileges, as a non-root user: the filter is loaded all the same', () => {
    const r = run(
      withSeccomp(['sh', '-c', SCRIPT], DENY_MKDIR, (c) => {
        c.process.noNewPrivileges = false;
        c.process.user = { uid: 1000, gid: 1000 };
      }),
      'nonnp',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Operation not permitted/);
    assert.equal(r.stdout, 'mkdir=1\ndata\nNoNewPrivs:\t0\nSeccomp:\t2\n');
  });

  test('defaultAction SCMP_ACT_ERRNO + defaultErrnoRet 38 with a short allow list (podman-style): echo works', () => {
    const allow = ['execve', 'brk', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'readlink', 'getrandom', 'getuid', 'mprotect', 'prctl', 'write', 'exit_group', 'exit'];
    const r = run(withSeccomp(['echo', 'hello under an allow list'], { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: allow, action: 'SCMP_ACT_ALLOW' }] }), 'allowlist');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello under an allow list\n');
    // without no_new_privs the init also needs capget/capset (and prctl) after the load
    const nonnp = run(
      withSeccomp(['echo', 'hello without nnp'], { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: [...allow, 'capget', 'capset'], action: 'SCMP_ACT_ALLOW' }] }, (c) => {
        c.process.noNewPrivileges = false;
      }),
      'allowlist-nonnp',
    );
    assert.equal(nonnp.code, 0, nonnp.stderr);
    assert.equal(nonnp.stdout, 'hello without nnp\n');
    // and what is not on the list gets ENOSYS: busybox's mkdir reports it
    const m = run(withSeccomp(['mkdir', '/tmp/y'], { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: allow, action: 'SCMP_ACT_ALLOW' }] }), 'allowlist2');
    assert.notEqual(m.code, 0);
    assert.match(m.stderr, /Function not implemented/);
  });

  test('argument conditions: personality(PER_LINUX32) and kill(SIGUSR1) denied, other arguments allowed', () => {
    const seccomp: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const script = 'linux64 uname -m; linux32 uname -m; echo "linux32=$?"; kill -0 $$; echo "kill0=$?"; trap "" USR1; kill -USR1 $$; echo "usr1=$?"';
    const r = run(withSeccomp(['sh', '-c', script], seccomp), 'args');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'x86_64\nlinux32=1\nkill0=0\nusr1=1\n');
    assert.match(r.stderr, /Operation not permitted/);
    assert.match(r.stderr, /Permission denied/, 'kill got errno 13 (EACCES)');
  });

  test('SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL and SCMP_ACT_TRAP end the process with SIGSYS (exit 159)', () => {
    for (const action of ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP'] as const) {
      const r = run(withSeccomp(['mkdir', '/tmp/x'], { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action }] }), 'kill');
      assert.equal(r.code, 159, `${action}: ${r.stderr}`);
    }
    const ok = run(withSeccomp(['true'], { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] }), 'kill-ok');
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('SCMP_ACT_LOG and SCMP_ACT_TRACE (no tracer: ENOSYS) behave as the kernel defines them', () => {
    const log = run(withSeccomp(['sh', '-c', 'mkdir /tmp/l && echo made'], { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_LOG' }] }), 'log');
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout, 'made\n');
    const trace = run(withSeccomp(['sh', '-c', 'mkdir /tmp/t; echo "rc=$?"'], { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_TRACE', errnoRet: 5 }] }), 'trace');
    assert.equal(trace.stdout, 'rc=1\n', trace.stderr);
    assert.match(trace.stderr, /Function not implemented/, 'SECCOMP_RET_TRACE without a tracer: ENOSYS');
  });

  test('docker\'s default profile: busybox works; unshare and mount fail with the profile\'s EPERM even with CAP_SYS_ADMIN', () => {
    const script = [
      'echo hello', 'cat /etc/hostname 2>/dev/null || hostname', 'ls / > /dev/null && echo ls-ok', 'ps -o pid,comm | wc -l > /dev/null && echo ps-ok',
      'mkdir /tmp/d && echo mkdir-ok', 'sh -c "exit 3"; echo "child=$?"',
      'unshare -n true; echo "unshare=$?"', 'mount -t tmpfs none /mnt; echo "mount=$?"', 'grep -E "^Seccomp(_filters)?:" /proc/self/status',
    ].join('; ');
    const withAdmin = (c: Config): void => {
      const caps = c.process.capabilities as Record<string, string[]>;
      for (const set of ['bounding', 'effective', 'permitted']) caps[set] = [...caps[set]!, 'CAP_SYS_ADMIN'];
    };
    const r = run(withSeccomp(['sh', '-c', script], dockerProfile(), withAdmin), 'docker');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hello\n.*\nls-ok\nps-ok\nmkdir-ok\nchild=3\nunshare=1\nmount=\d+\nSeccomp:\t2\nSeccomp_filters:\t1\n$/);
    assert.match(r.stderr, /unshare: unshare\(0x40000000\): Operation not permitted/);
    assert.match(r.stderr, /mount: permission denied|Operation not permitted/);
    // the same container without the profile may unshare (so EPERM above is seccomp's)
    const free = run(makeBundle((() => { const c = baseConfig(['sh', '-c', 'unshare -n true; echo "unshare=$?"']); withAdmin(c); return c; })()), 'noprofile');
    assert.equal(free.stdout, 'unshare=0\n', free.stderr);
  });

  test('podman\'s default profile: everything else gets ENOSYS', () => {
    const r = run(withSeccomp(['sh', '-c', 'echo hello; unshare -n true; echo "unshare=$?"'], podmanProfile()), 'podman');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\nunshare=1\n');
    assert.match(r.stderr, /unshare: unshare\(0x40000000\): Function not implemented/);
  });

  test('filter flags: TSYNC (ignored), LOG and SPEC_ALLOW are accepted and the filter works', () => {
    const seccomp: LinuxSeccomp = { ...DENY_MKDIR, flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] };
    const r = run(withSeccomp(['sh', '-c', 'mkdir /tmp/x; echo "rc=$?"'], seccomp), 'flags');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'rc=1\n');
  });

  test('syscall names libseccomp does not know are ignored (runc)', () => {
    const r = run(withSeccomp(['sh', '-c', 'mkdir /tmp/x; echo "rc=$?"'], { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_syscall', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }), 'unknown');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'rc=1\n');
  });

  test('exec: processes started in the container get the container\'s filter', () => {
    const id = uniqueId('exec');
    const c = tsrunToFiles(['--root', root, 'run', '--detach', '--bundle', withSeccomp(['sleep', '1000'], DENY_MKDIR), id]);
    assert.equal(c.code, 0, c.stderr);
    try {
      const m = rt(['exec', id, 'sh', '-c', 'mkdir /tmp/e; echo "rc=$?"; grep "^Seccomp:" /proc/self/status']);
      assert.equal(m.code, 0, m.stderr);
      assert.equal(m.stdout, 'rc=1\nSeccomp:\t2\n');
      assert.match(m.stderr, /Operation not permitted/);
      // without no_new_privs too
      const dir = tempDir('seccomp-exec');
      try {
        const nnp = rt(['exec', '--process', writeProcess(dir.path, { args: ['sh', '-c', 'mkdir /tmp/e2; echo "rc=$?"; grep "^NoNewPrivs:" /proc/self/status'], cwd: '/', env: ['PATH=/bin'], noNewPrivileges: false }), id]);
        assert.equal(nnp.stdout, 'rc=1\nNoNewPrivs:\t0\n', nnp.stderr);
      } finally {
        dir.cleanup();
      }
    } finally {
      rt(['delete', '--force', id]);
    }
  });

  test('create-time errors: a bad profile fails create with a message naming the field, leaving nothing', () => {
    const cases: Array<[LinuxSeccomp, RegExp]> = [
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }, /linux\.seccomp\.syscalls\[0\]\.errnoRet: SCMP_ACT_ALLOW takes no errno/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.listenerPath: SCMP_ACT_NOTIFY needs a listenerPath/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/nonexistent/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /failed to connect with seccomp agent .*\/nonexistent\/agent\.sock.*ENOENT/],
    ];
    for (const [seccomp, message] of cases) {
      const id = uniqueId('bad');
      const r = tsrunToFiles(['--root', root, 'create', '--bundle', withSeccomp(['true'], seccomp), id]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(join(root, id)), 'no state left');
    }
  });

  interface Agent {
    sock: string;
    /** Resolves with the agent's exit code; its output is in `out()`. */
    exited: Promise<number | null>;
    out: () => string;
    stop: () => void;
  }

  async function startAgent(answers: boolean[]): Promise<Agent> {
    const dir = tempDir('seccomp-agent');
    chmodSync(dir.path, 0o755);
    const sock = join(dir.path, 'agent.sock');
    const child = spawn(process.execPath, [__filename], { env: { ...process.env, [AGENT_VAR]: JSON.stringify({ path: sock, answers }) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (!out.includes('ready')) {
      if (Date.now() > deadline) throw new Error(`agent did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { sock, exited, out: () => out + err, stop: () => { child.kill('SIGKILL'); dir.cleanup(); } };
  }

  function tsrunAsync(args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const p = spawn(join(process.cwd(), 'bin', 'tsrun'), ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let so = '';
      let se = '';
      p.stdout.on('data', (d) => (so += d));
      p.stderr.on('data', (d) => (se += d));
      p.on('exit', (code, signal) => resolve({ code, signal, stdout: so, stderr: se }));
    });
  }

  function agentLine(a: Agent, prefix: string): string {
    const line = a.out().split('\n').find((l) => l.startsWith(prefix + ' ') || l === prefix);
    assert.ok(line !== undefined, `no "${prefix}" from the agent:\n${a.out()}`);
    return line.slice(prefix.length + 1);
  }

  const NOTIFY_MKDIR = (sock: string): LinuxSeccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: sock,
    listenerMetadata: 'hello-agent',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  });

  for (const userns of [false, true]) {
    test(`SCMP_ACT_NOTIFY${userns ? ' (user namespace)' : ''}: the agent at listenerPath gets the listener fd and the state, and answers for the container`, async () => {
      const a = await startAgent([true]);
      try {
        const id = uniqueId('notify');
        const bundle = withSeccomp(['sh', '-c', 'mkdir /tmp/n; echo "rc=$?"'], NOTIFY_MKDIR(a.sock), (c) => {
          if (!userns) return;
          (c.linux.namespaces as Array<{ type: string }>).push({ type: 'user' });
          c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        });
        const runP = tsrunAsync(['run', '--bundle', bundle, id]);
        const code = await a.exited;
        assert.equal(code, 0, a.out());
        const state = JSON.parse(agentLine(a, 'state0'));
        assert.deepEqual(Object.keys(state).sort(), ['fds', 'metadata', 'ociVersion', 'pid', 'state']);
        assert.deepEqual(state.fds, ['seccompFd']);
        assert.equal(state.metadata, 'hello-agent');
        assert.equal(state.ociVersion, '1.3.0');
        assert.deepEqual({ ...state.state, pid: 0 }, { ociVersion: '1.3.0', id, status: 'running', pid: 0, bundle, annotations: {} });
        assert.equal(state.pid, state.state.pid, 'the init is the container process');
        assert.ok(Number.isInteger(state.pid) && state.pid > 1);
        assert.equal(agentLine(a, 'fds0'), '1');
        agentLine(a, 'answered0');
        const r = await runP;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'rc=1\n');
        assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/n': Read-only file system/);
      } finally {
        a.stop();
      }
    });
  }

  test('SCMP_ACT_NOTIFY and exec: the exec\'d process hands its own listener fd to the agent', async () => {
    const a = await startAgent([false, true]);
    const id = uniqueId('notify-exec');
    try {
      const bundle = withSeccomp(['sleep', '1000'], NOTIFY_MKDIR(a.sock));
      const c = tsrunToFiles(['--root', root, 'run', '--detach', '--bundle', bundle, id]);
      assert.equal(c.code, 0, c.stderr);
      const initPid = JSON.parse(rt(['state', id]).stdout).pid as number;
      const execP = tsrunAsync(['exec', id, 'sh', '-c', 'mkdir /tmp/x; echo "rc=$?"']);
      assert.equal(await a.exited, 0, a.out());
      const s0 = JSON.parse(agentLine(a, 'state0'));
      const s1 = JSON.parse(agentLine(a, 'state1'));
      assert.equal(s0.pid, initPid);
      assert.equal(s1.state.pid, initPid, 'state.pid: the container\'s init');
      assert.notEqual(s1.pid, initPid, 'pid: the exec\'d process');
      assert.equal(s1.state.id, id);
      const r = await execP;
      assert.equal(r.stdout, 'rc=1\n', r.stderr);
      assert.match(r.stderr, /Read-only file system/);
    } finally {
      rt(['delete', '--force', id]);
      a.stop();
    }
  });
}

function writeProcess(dir: string, process: object): string {
  const file = join(dir, 'process.json');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require('node:fs').writeFileSync(file, JSON.stringify(process));
  return file;
}
