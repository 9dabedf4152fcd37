// The real system-call layer (src/linux/syscalls.ts), as root. Anything that changes
// process-wide state that the test runner must keep (namespaces, root, credentials,
// capabilities, execve) runs in a child `node` process: this same bundled file, started with
// TSRUN_LINUX_CHILD=<scenario>, which runs the scenario and prints one JSON line.
import { need, sigIgnWithoutGlibcReserved } from '../helpers/need';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  lstatSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { constants as osConstants, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as C from '../../src/linux/constants';
import { SyscallError, isErrno } from '../../src/linux/errors';
import { libcLoadMillis } from '../../src/linux/libc';
import { devMajor, devMinor, linux, makedev, prepareExecFds, resetSignalsForExec } from '../../src/linux/syscalls';
import { setCapabilities, maskToCaps } from '../../src/linux/capabilities';

// ------------------------------------------------------------------------------------------
// child side

type Scenario = () => unknown | Promise<unknown>;

function statusLines(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

function errInfo(e: unknown): { code: string; message: string } {
  if (e instanceof SyscallError) return { code: e.code, message: e.message };
  throw e;
}

function attempt(fn: () => unknown): { ok: true; value: unknown } | { ok: false; code: string; message: string } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, ...errInfo(e) };
  }
}

const SCENARIOS: Record<string, Scenario> = {
  lazy() {
    const koffiLoaded = (): boolean => Object.keys(require.cache).some((k) => k.includes('/koffi/'));
    const before = koffiLoaded();
    const sys = linux(); // constructing the singleton must not load koffi either
    const afterConstruct = koffiLoaded();
    const t0 = process.hrtime.bigint();
    const pid = sys.getpid();
    const firstCallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const N = 200000;
    let t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sys.getpid();
    const getpidNs = Number(process.hrtime.bigint() - t) / N;
    t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sys.umask(0o022);
    const umaskNs = Number(process.hrtime.bigint() - t) / N;
    const M = 20000;
    t = process.hrtime.bigint();
    for (let i = 0; i < M; i++) {
      try {
        sys.open('/nonexistent/x', C.O_RDONLY);
      } catch {
        // expected
      }
    }
    const failingOpenNs = Number(process.hrtime.bigint() - t) / M;
    t = process.hrtime.bigint();
    for (let i = 0; i < M; i++) sys.prctl(C.PR_CAPBSET_READ, 0);
    const prctlNs = Number(process.hrtime.bigint() - t) / M;
    t = process.hrtime.bigint();
    for (let i = 0; i < M; i++) sys.kill(process.pid, 0);
    const killNs = Number(process.hrtime.bigint() - t) / M;
    // raw node baseline for a comparable system call
    t = process.hrtime.bigint();
    for (let i = 0; i < M; i++) process.kill(process.pid, 0);
    const nodeKillNs = Number(process.hrtime.bigint() - t) / M;
    return {
      before,
      afterConstruct,
      after: koffiLoaded(),
      pidOk: pid === process.pid,
      firstCallMs,
      loadMs: libcLoadMillis(),
      getpidNs,
      umaskNs,
      failingOpenNs,
      prctlNs,
      killNs,
      nodeKillNs,
    };
  },

  mountns() {
    const sys = linux();
    const dir = process.env.TSRUN_DIR!;
    sys.unshare(C.CLONE_NEWNS);
    sys.mount(null, '/', null, C.MS_REC | C.MS_PRIVATE, null);
    sys.mount('tmpfs', dir, 'tmpfs', C.MS_NOSUID | C.MS_NODEV, 'size=1m,mode=0755');
    writeFileSync(join(dir, 'hello'), 'x');
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === dir) ?? '';
    const flagsRw = sys.statvfsFlags(dir);
    sys.mount(null, dir, null, C.MS_REMOUNT | C.MS_BIND | C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV, null);
    const flagsRo = sys.statvfsFlags(dir);
    let writeRo = '';
    try {
      writeFileSync(join(dir, 'again'), 'x');
    } catch (e) {
      writeRo = (e as NodeJS.ErrnoException).code ?? '?';
    }
    const missing = attempt(() => sys.mount('proc', join(dir, 'missing/proc'), 'proc', 0, null));
    sys.mount(null, dir, null, C.MS_REMOUNT | C.MS_BIND | C.MS_NOSUID | C.MS_NODEV, null);
    mkdirSync(join(dir, 'sub'));
    // a bind mount then umount2
    sys.mount(join(dir, 'sub'), join(dir, 'sub'), null, C.MS_BIND, null);
    const boundBefore = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${join(dir, 'sub')} `);
    sys.umount2(join(dir, 'sub'), C.MNT_DETACH);
    const boundAfter = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${join(dir, 'sub')} `);
    const umountMissing = attempt(() => sys.umount2(join(dir, 'nope'), 0));
    // pivot_root(".", ".") into the tmpfs, as runc does
    writeFileSync(join(dir, 'marker'), 'm');
    sys.chdir(dir);
    sys.pivotRoot('.', '.');
    sys.umount2('.', C.MNT_DETACH);
    sys.chdir('/');
    const rootList = readdirSync('/').sort();
    const pivotAgain = attempt(() => sys.pivotRoot('/nonexistent', '/nonexistent'));
    return { line, flagsRw, flagsRo, writeRo, missing, boundBefore, boundAfter, umountMissing, rootList, pivotAgain };
  },

  uts() {
    const sys = linux();
    const orig = hostname();
    const utsFd = openSync('/proc/self/ns/uts', 'r');
    const mntFd = openSync('/proc/self/ns/mnt', 'r');
    const userns = attempt(() => sys.unshare(C.CLONE_NEWUSER));
    // joining a mount namespace from Node: refused while the fs struct is shared by the
    // threads; unshare(CLONE_FS) (also implied by unshare(CLONE_NEWNS)) lifts that
    const mntWithoutFs = attempt(() => sys.setns(mntFd, C.CLONE_NEWNS));
    sys.unshare(C.CLONE_FS);
    const mntWithFs = attempt(() => sys.setns(mntFd, C.CLONE_NEWNS));
    sys.unshare(C.CLONE_NEWUTS);
    sys.sethostname('tsrun-uts-test');
    sys.setdomainname('tsrun.example');
    const inside = hostname();
    const domain = readFileSync('/proc/sys/kernel/domainname', 'utf8').trim();
    sys.setns(utsFd, C.CLONE_NEWUTS);
    const back = hostname();
    const sameMnt = readlinkSync('/proc/self/ns/mnt') === readlinkSync(`/proc/${process.ppid}/ns/mnt`);
    const badNs = attempt(() => sys.setns(utsFd, C.CLONE_NEWNET));
    return { orig, inside, domain, back, userns, mntWithoutFs, mntWithFs, sameMnt, badNs };
  },

  echo() {
    const sys = linux();
    if (process.env.TSRUN_RAW !== '1') prepareExecFds(sys);
    sys.execve('/bin/echo', ['echo', 'hi'], []);
  },

  env() {
    prepareExecFds(linux());
    linux().execve('/usr/bin/env', ['env'], ['A=1', 'B=two words', 'C=']);
  },

  signals() {
    const sys = linux();
    prepareExecFds(sys);
    if (process.env.TSRUN_RESET === '1') resetSignalsForExec(sys);
    sys.execve('/bin/grep', ['grep', '^Sig\\(Ign\\|Blk\\)', '/proc/self/status'], []);
  },

  fds() {
    const sys = linux();
    // Node opens everything close-on-exec; an fd opened without O_CLOEXEC leaks
    const extra = sys.open('/dev/null', C.O_RDONLY);
    if (extra !== 20) sys.dup2(extra, 20);
    if (process.env.TSRUN_CLOSE === '1') prepareExecFds(sys);
    else for (const fd of [0, 1, 2]) sys.setCloexec(fd, false);
    sys.execve('/bin/ls', ['ls', '/proc/self/fd'], []);
  },

  execMissing() {
    return attempt(() => linux().execve('/nonexistent/bin/tool', ['tool'], []));
  },

  async wait() {
    const sys = linux();
    sys.setChildSubreaper(true);
    const bg = (cmd: string): number =>
      Number(spawnSync('/bin/sh', ['-c', `${cmd} >/dev/null 2>&1 </dev/null & echo $!`], { encoding: 'utf8' }).stdout.trim());
    // 1. blocking waitpid of a reparented orphan that exits 7
    const p1 = bg('(sleep 0.2; exit 7)');
    const w1 = sys.waitpid(p1);
    // 2. WNOHANG on a running orphan, then async wait while it is killed
    const p2 = bg('sleep 30');
    const nohang = sys.waitpid(p2, C.WNOHANG);
    let ticks = 0;
    const iv = setInterval(() => ticks++, 10);
    setTimeout(() => sys.kill(p2, C.SIGKILL), 200);
    const w2 = await sys.waitpidAsync(p2);
    clearInterval(iv);
    // 3. nothing left to wait for
    const again = await sys.waitpidAsync(p2).then(
      () => ({ ok: true }),
      (e: unknown) => ({ ok: false, ...errInfo(e) }),
    );
    const none = attempt(() => sys.waitpid(-1, C.WNOHANG));
    return { p1, w1, nohang, w2, ticks, again, none };
  },

  caps() {
    const sys = linux();
    const before = sys.capget();
    const r = setCapabilities(sys, {
      bounding: [C.capabilityNumber('CAP_CHOWN')!, C.capabilityNumber('CAP_KILL')!, C.capabilityNumber('CAP_NET_BIND_SERVICE')!],
      effective: [0, 10],
      permitted: [0, 5, 10],
      inheritable: [10],
      ambient: [10],
    });
    const after = sys.capget();
    const st = statusLines();
    const ambient10 = sys.capAmbientIsSet(10);
    const bset21 = sys.capbsetRead(21);
    // with CAP_SETPCAP gone, dropping more of the bounding set is refused
    const dropMore = attempt(() => sys.capbsetDrop(0));
    return {
      ignored: r.ignored,
      beforeEff: maskToCaps(before.effective).length,
      after: { e: maskToCaps(after.effective), p: maskToCaps(after.permitted), i: maskToCaps(after.inheritable) },
      status: { CapInh: st.CapInh, CapPrm: st.CapPrm, CapEff: st.CapEff, CapBnd: st.CapBnd, CapAmb: st.CapAmb },
      ambient10,
      bset21,
      dropMore,
    };
  },

  creds() {
    const sys = linux();
    sys.setKeepCaps(true);
    const keep = sys.prctl(C.PR_GET_KEEPCAPS);
    sys.setgroups([1001, 1002]);
    sys.setresgid(1000, 1000, 1000);
    sys.setresuid(1000, 1000, 1000);
    const st = statusLines();
    const ids = [sys.getuid(), sys.geteuid(), sys.getgid(), sys.getegid()];
    // raw set*id: only the calling (main) thread changes; Node's other threads stay root
    const threads = readdirSync('/proc/self/task')
      .filter((t) => Number(t) !== process.pid)
      .map((t) => /^Uid:\s*(.*)$/m.exec(readFileSync(`/proc/self/task/${t}/status`, 'utf8'))![1]!.split(/\s+/)[0]);
    // keepcaps kept the permitted set, but leaving uid 0 emptied the effective set
    const backBefore = attempt(() => sys.setresuid(0, 0, 0));
    const caps = sys.capget();
    sys.capset({ effective: caps.permitted, permitted: caps.permitted, inheritable: 0n });
    const back = attempt(() => sys.setresuid(0, 0, 0));
    sys.setNoNewPrivs();
    sys.setDumpable(false);
    const dumpable = sys.prctl(C.PR_GET_DUMPABLE);
    const nnp = statusLines().NoNewPrivs;
    return { keep, uid: st.Uid, gid: st.Gid, groups: st.Groups, ids, threads, backBefore, back, dumpable, nnp, capPrm: st.CapPrm, capEff: st.CapEff };
  },

  ctty() {
    const sys = linux();
    const master = sys.open('/dev/ptmx', C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
    sys.unlockpt(master);
    const n = sys.ptsNumber(master);
    const sid = sys.setsid();
    const slave = sys.open(`/dev/pts/${n}`, C.O_RDWR | C.O_NOCTTY);
    sys.setControllingTerminal(slave);
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ttyNr = Number(fields[4]); // field 7
    const expectTty = (136 << 8) | n; // pts major 136, small minors
    const sidOk = sid === process.pid && Number(fields[3]) === process.pid; // field 6 session
    return { n, ttyNr, expectTty, sidOk };
  },
};

const CHILD = process.env.TSRUN_LINUX_CHILD;
if (CHILD) {
  const run = SCENARIOS[CHILD];
  if (!run) {
    process.stderr.write(`unknown scenario ${CHILD}\n`);
    process.exit(2);
  }
  Promise.resolve()
    .then(run)
    .then(
      (result) => {
        process.stdout.write('RESULT ' + JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) + '\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`scenario ${CHILD} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
} else {
  registerTests();
}

// ------------------------------------------------------------------------------------------
// test side

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS; // costs ~140 ms per node start
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

function runChild(scenario: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [__filename], {
    env: childEnv({ TSRUN_LINUX_CHILD: scenario, ...extra }),
    encoding: 'utf8',
    timeout: 30000,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function childResult(scenario: string, extra: Record<string, string> = {}): any {
  const r = runChild(scenario, extra);
  assert.equal(r.status, 0, `child ${scenario} exited ${r.status} ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line from ${scenario}: ${r.stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

function registerTests(): void {
  const sys = linux();
  const isRoot = process.getuid?.() === 0;

  test('koffi is loaded on the first system call, not at import; timings', (t) => {
    const r = childResult('lazy');
    assert.equal(r.before, false, 'koffi loaded at import');
    assert.equal(r.afterConstruct, false, 'koffi loaded by linux()');
    assert.equal(r.after, true);
    assert.equal(r.pidOk, true);
    assert.ok(r.firstCallMs < 1000, `first call ${r.firstCallMs} ms`);
    t.diagnostic(
      `first call ${r.firstCallMs.toFixed(2)} ms (koffi load ${r.loadMs.toFixed(2)} ms); per call: ` +
        `getpid ${r.getpidNs.toFixed(0)} ns, umask ${r.umaskNs.toFixed(0)} ns, prctl ${r.prctlNs.toFixed(0)} ns, ` +
        `kill(self,0) ${r.killNs.toFixed(0)} ns (node process.kill ${r.nodeKillNs.toFixed(0)} ns), ` +
        `failing open + SyscallError ${r.failingOpenNs.toFixed(0)} ns`,
    );
  });

  test('identity calls agree with Node', () => {
    assert.equal(sys.getpid(), process.pid);
    assert.equal(sys.getppid(), process.ppid);
    assert.equal(sys.getuid(), process.getuid!());
    assert.equal(sys.geteuid(), process.geteuid!());
    assert.equal(sys.getgid(), process.getgid!());
    assert.equal(sys.getegid(), process.getegid!());
    assert.equal(sys.gettid(), process.pid, 'tests run on the main thread');
  });

  test('open of a missing path: SyscallError naming the path and ENOENT', () => {
    assert.throws(
      () => sys.open('/nonexistent-tsrun/state.json', C.O_RDONLY | C.O_CLOEXEC),
      (e: unknown) => {
        assert.ok(e instanceof SyscallError);
        assert.equal(e.code, 'ENOENT');
        assert.equal(e.errno, 2);
        assert.equal(e.call, 'open');
        assert.equal(e.subject, '/nonexistent-tsrun/state.json');
        assert.equal(e.message, 'open /nonexistent-tsrun/state.json: ENOENT: No such file or directory');
        return true;
      },
    );
    assert.throws(() => sys.openat(C.AT_FDCWD, '/etc/hostname/x', C.O_RDONLY), (e: unknown) => isErrno(e, 'ENOTDIR'));
    assert.throws(() => sys.close(987654), /^SyscallError: close fd 987654: EBADF: Bad file descriptor$/);
  });

  test('paths with an embedded NUL are refused, not truncated', () => {
    assert.throws(() => sys.open('/etc/hostname\0/x', C.O_RDONLY), (e: unknown) => isErrno(e, 'EINVAL'));
    assert.throws(() => sys.execve('/bin/echo', ['echo', 'a\0b'], []), (e: unknown) => isErrno(e, 'EINVAL'));
  });

  test('open/openat with O_PATH, O_DIRECTORY, O_NOFOLLOW; fchdir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-open-'));
    const cwd = process.cwd();
    try {
      writeFileSync(join(dir, 'f'), 'data');
      sys.symlink('f', join(dir, 'link'));
      assert.equal(readlinkSync(join(dir, 'link')), 'f');
      const dfd = sys.open(dir, C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC);
      const ffd = sys.openat(dfd, 'f', C.O_RDONLY | C.O_CLOEXEC);
      assert.equal(readFileSync(`/proc/self/fd/${ffd}`, 'utf8'), 'data');
      assert.throws(() => sys.openat(dfd, 'link', C.O_RDONLY | C.O_NOFOLLOW), (e: unknown) => isErrno(e, 'ELOOP'));
      const lfd = sys.openat(dfd, 'link', C.O_PATH | C.O_NOFOLLOW);
      assert.equal(readlinkSync(`/proc/self/fd/${lfd}`), join(dir, 'link'));
      assert.throws(() => sys.openat(dfd, 'f', C.O_RDONLY | C.O_DIRECTORY), (e: unknown) => isErrno(e, 'ENOTDIR'));
      sys.fchdir(dfd);
      // (Node caches process.cwd(): read the kernel's view)
      assert.equal(readlinkSync('/proc/self/cwd'), dir);
      sys.chdir(cwd);
      assert.equal(readlinkSync('/proc/self/cwd'), cwd);
      // O_CLOEXEC really set, and setCloexec toggles it
      const flagsOf = (fd: number): number => parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      assert.ok(flagsOf(ffd) & C.O_CLOEXEC);
      sys.setCloexec(ffd, false);
      assert.equal(flagsOf(ffd) & C.O_CLOEXEC, 0);
      sys.setCloexec(ffd, true);
      assert.ok(flagsOf(ffd) & C.O_CLOEXEC);
      const d = sys.dup3(ffd, 200, C.O_CLOEXEC);
      assert.equal(d, 200);
      assert.equal(sys.dup2(ffd, 201), 201);
      assert.equal(flagsOf(201) & C.O_CLOEXEC, 0, 'dup2 clears close-on-exec');
      for (const fd of [ffd, lfd, dfd, 200, 201]) sys.close(fd);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('flock: LOCK_EX|LOCK_NB on a second open file description gives EWOULDBLOCK', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-flock-'));
    try {
      const p = join(dir, 'lock');
      writeFileSync(p, '');
      const a = sys.open(p, C.O_RDONLY | C.O_CLOEXEC);
      const b = sys.open(p, C.O_RDONLY | C.O_CLOEXEC);
      sys.flock(a, C.LOCK_EX | C.LOCK_NB);
      assert.throws(
        () => sys.flock(b, C.LOCK_EX | C.LOCK_NB),
        (e: unknown) => e instanceof SyscallError && e.errno === osConstants.errno.EWOULDBLOCK && isErrno(e, 'EWOULDBLOCK') && e.call === 'flock',
      );
      assert.throws(() => sys.flock(b, C.LOCK_SH | C.LOCK_NB), (e: unknown) => isErrno(e, 'EWOULDBLOCK'));
      sys.flock(a, C.LOCK_UN);
      sys.flock(b, C.LOCK_EX | C.LOCK_NB);
      sys.close(a);
      sys.close(b);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('flock contention with another process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-flock2-'));
    const p = join(dir, 'lock');
    writeFileSync(p, '');
    // flock(1) from util-linux holds the lock until its stdin closes
    const holder = spawn('/bin/sh', ['-c', `exec 9<"$0"; flock -x 9; echo locked; read x`, p], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
      });
      const fd = sys.open(p, C.O_RDONLY | C.O_CLOEXEC);
      assert.throws(() => sys.flock(fd, C.LOCK_EX | C.LOCK_NB), (e: unknown) => isErrno(e, 'EWOULDBLOCK'));
      holder.stdin!.end('\n');
      await new Promise((r) => holder.once('exit', r));
      sys.flock(fd, C.LOCK_EX | C.LOCK_NB);
      sys.close(fd);
    } finally {
      holder.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('mount namespace in a child: private /, tmpfs, ro remount, bind, umount2, pivot_root', () => {
  need(isRoot, 'root');
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-mnt-'));
    try {
      const r = childResult('mountns', { TSRUN_DIR: dir });
      assert.match(r.line, / - tmpfs tmpfs /);
      assert.match(r.line, /nosuid,nodev/);
      assert.equal(r.flagsRw & C.ST_RDONLY, 0);
      assert.equal(r.flagsRw & (C.ST_NOSUID | C.ST_NODEV), C.ST_NOSUID | C.ST_NODEV);
      assert.equal(r.flagsRo & C.ST_RDONLY, C.ST_RDONLY);
      assert.equal(r.writeRo, 'EROFS');
      assert.equal(r.missing.ok, false);
      assert.equal(r.missing.code, 'ENOENT');
      assert.equal(r.missing.message, `mount proc on ${dir}/missing/proc (proc): ENOENT: No such file or directory`);
      assert.equal(r.boundBefore, true);
      assert.equal(r.boundAfter, false);
      assert.equal(r.umountMissing.code, 'ENOENT');
      assert.deepEqual(r.rootList, ['hello', 'marker', 'sub']);
      assert.equal(r.pivotAgain.ok, false);
      assert.match(r.pivotAgain.message, /^pivot_root \/nonexistent \/nonexistent: ENOENT/);
      // nothing leaked into this mount namespace
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir} `));
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('uts namespace, setns back, and the Node setns(mnt)/unshare(user) limits', () => {
  need(isRoot, 'root');
    const r = childResult('uts');
    assert.equal(r.inside, 'tsrun-uts-test');
    assert.equal(r.domain, 'tsrun.example');
    assert.equal(r.back, r.orig);
    assert.equal(hostname(), r.orig);
    assert.equal(r.userns.ok, false);
    assert.equal(r.userns.code, 'EINVAL', 'unshare(CLONE_NEWUSER) in a multi-threaded process');
    assert.equal(r.userns.message, 'unshare CLONE_NEWUSER: EINVAL: Invalid argument');
    assert.equal(r.mntWithoutFs.ok, false);
    assert.equal(r.mntWithoutFs.code, 'EINVAL');
    assert.equal(r.mntWithFs.ok, true);
    assert.equal(r.sameMnt, true);
    assert.equal(r.badNs.code, 'EINVAL');
    assert.match(r.badNs.message, /^setns fd \d+ \(CLONE_NEWNET\): EINVAL/);
  });

  test('execve replaces the process: /bin/echo hi', () => {
    const r = runChild('echo');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
  });

  test('execve passes exactly the given environment', () => {
    const r = runChild('env');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'A=1\nB=two words\nC=\n');
  });

  test('execve of a missing binary throws ENOENT naming the path (and returns)', () => {
    assert.throws(
      () => sys.execve('/nonexistent/bin/tool', ['tool'], []),
      (e: unknown) =>
        e instanceof SyscallError && e.code === 'ENOENT' && e.message === 'execve /nonexistent/bin/tool: ENOENT: No such file or directory',
    );
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-exec-'));
    try {
      writeFileSync(join(dir, 'noexec'), '#!/bin/sh\n', { mode: 0o644 });
      assert.throws(() => sys.execve(join(dir, 'noexec'), ['x'], []), (e: unknown) => isErrno(e, 'EACCES'));
      writeFileSync(join(dir, 'garbage'), 'not a program', { mode: 0o755 });
      assert.throws(() => sys.execve(join(dir, 'garbage'), ['x'], []), (e: unknown) => isErrno(e, 'ENOEXEC'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const r = childResult('execMissing');
    assert.equal(r.code, 'ENOENT');
  });

  test('ignored signals leak through execve unless reset', () => {
    const leaked = runChild('signals', { TSRUN_RESET: '0' });
    assert.equal(sigIgnWithoutGlibcReserved(/^SigIgn:\s*(\S+)$/m.exec(leaked.stdout)?.[1]), 0x1001000n, 'Node ignores SIGPIPE and SIGXFSZ');
    const reset = runChild('signals', { TSRUN_RESET: '1' });
    assert.equal(sigIgnWithoutGlibcReserved(/^SigIgn:\s*(\S+)$/m.exec(reset.stdout)?.[1]), 0n);
    assert.match(reset.stdout, /^SigBlk:\s*0000000000000000$/m);
  });

  test('Node marks stdio close-on-exec: execve without prepareExecFds loses stdout', () => {
    const r = runChild('echo', { TSRUN_RAW: '1' });
    assert.equal(r.stdout, '');
    assert.equal(r.status, 1, 'echo: write error: Bad file descriptor');
  });

  test('prepareExecFds: stdio kept, everything else close-on-exec (close_range)', () => {
    const leaky = runChild('fds', { TSRUN_CLOSE: '0' });
    const leakyFds = leaky.stdout.trim().split(/\s+/).map(Number);
    assert.ok(leakyFds.includes(20), `an fd without O_CLOEXEC leaks: ${leakyFds}`);
    const clean = runChild('fds', { TSRUN_CLOSE: '1' });
    assert.equal(clean.status, 0, clean.stderr);
    // ls itself has its directory open as fd 3
    assert.deepEqual(clean.stdout.trim().split(/\s+/).map(Number), [0, 1, 2, 3]);
  });

  test('waitpid (blocking, WNOHANG, async on a worker thread) of reparented orphans', () => {
  need(isRoot, 'root');
    const r = childResult('wait');
    assert.equal(r.w1.pid, r.p1);
    assert.equal(r.w1.exitCode, 7);
    assert.equal(r.w1.signal, null);
    assert.equal(r.nohang, null);
    assert.equal(r.w2.signal, 9);
    assert.equal(r.w2.exitCode, null);
    assert.ok(r.ticks >= 5, `event loop kept running during the async wait (${r.ticks} ticks)`);
    assert.equal(r.again.ok, false);
    assert.equal(r.again.code, 'ECHILD');
    assert.equal(r.none.code, 'ECHILD');
  });

  test('kill: ESRCH for a missing pid, delivery to a real one', async () => {
    assert.throws(
      () => sys.kill(0x3ffffff0, C.SIGTERM),
      (e: unknown) => e instanceof SyscallError && e.code === 'ESRCH' && e.message === `kill ${0x3ffffff0} SIGTERM: ESRCH: No such process`,
    );
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    await new Promise((r) => setTimeout(r, 50));
    sys.kill(child.pid!, 0);
    sys.kill(child.pid!, C.parseSignal('TERM')!);
    assert.equal(await exited, 'SIGTERM');
  });

  test('pidfd_open + pidfd_send_signal', async () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    const fd = sys.pidfdOpen(child.pid!);
    assert.match(readlinkSync(`/proc/self/fd/${fd}`), /pidfd/);
    sys.pidfdSendSignal(fd, C.SIGKILL);
    assert.equal(await exited, 'SIGKILL');
    sys.close(fd);
    assert.throws(() => sys.pidfdOpen(0x3ffffff0), (e: unknown) => isErrno(e, 'ESRCH'));
  });

  test('prlimit: 64-bit values incl. RLIM_INFINITY on another process', async () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const pid = child.pid!;
      sys.prlimit(pid, C.RLIMIT_NOFILE, { soft: 1000, hard: 2000n });
      const old = sys.prlimit(pid, C.RLIMIT_NOFILE, { soft: 1001, hard: 2000 });
      assert.deepEqual(old, { soft: 1000n, hard: 2000n });
      sys.prlimit(pid, C.RLIMIT_CORE, { soft: C.RLIM_INFINITY, hard: C.RLIM_INFINITY });
      const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      assert.match(limits, /^Max open files\s+1001\s+2000\s+files/m);
      assert.match(limits, /^Max core file size\s+unlimited\s+unlimited\s+bytes/m);
      assert.deepEqual(sys.prlimit(pid, C.RLIMIT_CORE), { soft: C.RLIM_INFINITY, hard: C.RLIM_INFINITY });
      // a big finite value above 2^53 survives the round trip
      const big = (1n << 60n) + 12345n;
      sys.prlimit(pid, C.RLIMIT.RLIMIT_FSIZE!, { soft: big, hard: C.RLIM_INFINITY });
      assert.deepEqual(sys.prlimit(pid, C.RLIMIT.RLIMIT_FSIZE!), { soft: big, hard: C.RLIM_INFINITY });
      assert.throws(() => sys.prlimit(pid, C.RLIMIT_NOFILE, { soft: 3000, hard: 2000 }), (e: unknown) => isErrno(e, 'EINVAL'));
      const mine = sys.getrlimit(C.RLIMIT_NOFILE);
      assert.equal(typeof mine.soft, 'bigint');
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('capabilities: bounding, capset, ambient applied to the thread (read back from /proc)', () => {
  need(isRoot, 'root');
    const r = childResult('caps');
    assert.deepEqual(r.ignored, []);
    assert.ok(r.beforeEff > 30);
    assert.deepEqual(r.after, { e: [0, 10], p: [0, 5, 10], i: [10] });
    assert.equal(r.status.CapBnd, '0000000000000421'); // bits 0, 5, 10
    assert.equal(r.status.CapEff, '0000000000000401');
    assert.equal(r.status.CapPrm, '0000000000000421');
    assert.equal(r.status.CapInh, '0000000000000400');
    assert.equal(r.status.CapAmb, '0000000000000400');
    assert.equal(r.ambient10, true);
    assert.equal(r.bset21, false);
    assert.equal(r.dropMore.code, 'EPERM');
  });

  test('credentials: setgroups, setresgid, setresuid (calling thread), keepcaps, no_new_privs, dumpable', () => {
  need(isRoot, 'root');
    const r = childResult('creds');
    assert.equal(r.keep, 1);
    assert.equal(r.uid, '1000\t1000\t1000\t1000');
    assert.equal(r.gid, '1000\t1000\t1000\t1000');
    assert.equal(r.groups, '1001 1002');
    assert.deepEqual(r.ids, [1000, 1000, 1000, 1000]);
    assert.ok(r.threads.length > 1 && r.threads.every((u: string) => u === '0'), `threads: ${r.threads}`);
    assert.notEqual(r.capPrm, '0000000000000000', 'keepcaps kept the permitted set');
    assert.equal(r.capEff, '0000000000000000');
    assert.equal(r.backBefore.code, 'EPERM');
    assert.equal(r.back.ok, true, 'with keepcaps and CAP_SETUID made effective again');
    assert.equal(r.dumpable, 0);
    assert.equal(r.nnp, '1');
  });

  test('controlling terminal: setsid + TIOCSCTTY', () => {
  need(isRoot, 'root');
    const r = childResult('ctty');
    assert.equal(r.sidOk, true);
    assert.equal(r.ttyNr, r.expectTty);
  });

  test('pty: unlockpt, ptsNumber, window size, TIOCGPTPEER', () => {
    const master = sys.open('/dev/ptmx', C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
    try {
      sys.unlockpt(master);
      const n = sys.ptsNumber(master);
      assert.ok(existsSync(`/dev/pts/${n}`));
      sys.setWinsize(master, { rows: 33, cols: 101 });
      assert.deepEqual(sys.getWinsize(master), { rows: 33, cols: 101, xpixel: 0, ypixel: 0 });
      const peer = sys.openPtsPeer(master, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
      assert.equal(readlinkSync(`/proc/self/fd/${peer}`), `/dev/pts/${n}`);
      assert.deepEqual(sys.getWinsize(peer), { rows: 33, cols: 101, xpixel: 0, ypixel: 0 });
      sys.close(peer);
      const f = sys.open('/etc/hostname', C.O_RDONLY);
      assert.throws(() => sys.getWinsize(f), (e: unknown) => isErrno(e, 'ENOTTY') && /TIOCGWINSZ/.test((e as Error).message));
      sys.close(f);
    } finally {
      sys.close(master);
    }
  });

  test('unix sockets: fds passed with SCM_RIGHTS arrive close-on-exec', () => {
    const [a, b] = sys.socketpair();
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-sock-'));
    try {
      writeFileSync(join(dir, 'one'), '1');
      writeFileSync(join(dir, 'two'), '2');
      const f1 = openSync(join(dir, 'one'), 'r');
      const f2 = openSync(join(dir, 'two'), 'r');
      sys.sendFds(a, Buffer.from('/dev/pts/7'), [f1, f2]);
      const got = sys.recvFds(b);
      assert.equal(got.data.toString(), '/dev/pts/7');
      assert.equal(got.fds.length, 2);
      assert.equal(readlinkSync(`/proc/self/fd/${got.fds[0]}`), join(dir, 'one'));
      assert.equal(readlinkSync(`/proc/self/fd/${got.fds[1]}`), join(dir, 'two'));
      assert.notEqual(got.fds[0], f1);
      const flags = parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${got.fds[0]}`, 'utf8'))![1]!, 8);
      assert.ok(flags & C.O_CLOEXEC);
      sys.sendFds(a, Buffer.from('x'), []);
      assert.deepEqual(sys.recvFds(b), { data: Buffer.from('x'), fds: [] });
      sys.close(a);
      assert.equal(sys.recvFds(b).data.length, 0, 'EOF');
      for (const fd of [f1, f2, ...got.fds]) closeSync(fd);
    } finally {
      sys.close(b);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unixConnect to a listening socket; errors name the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-conn-'));
    const path = join(dir, 'console.sock');
    const received = new Promise<string>((resolve) => {
      const server = createServer((c) => {
        c.once('data', (d) => {
          resolve(String(d));
          c.destroy();
          server.close();
        });
      });
      server.listen(path);
    });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const fd = sys.unixConnect(path);
      sys.sendFds(fd, Buffer.from('hello'), [0]);
      assert.equal(await received, 'hello');
      sys.close(fd);
      assert.throws(() => sys.unixConnect(join(dir, 'missing.sock')), (e: unknown) => {
        return isErrno(e, 'ENOENT') && (e as Error).message === `connect ${join(dir, 'missing.sock')}: ENOENT: No such file or directory`;
      });
      assert.throws(() => sys.unixConnect('/' + 'x'.repeat(200)), (e: unknown) => isErrno(e, 'ENAMETOOLONG'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('mknod / makedev make a real device node; mkfifo; chown/lchown/fchown/chmod/fchmod', () => {
  need(isRoot, 'root');
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-mknod-'));
    try {
      const p = join(dir, 'null');
      sys.mknod(p, C.S_IFCHR | 0o666, makedev(1, 3));
      const st = statSync(p);
      assert.equal(st.rdev, statSync('/dev/null').rdev);
      assert.equal(devMajor(st.rdev), 1);
      assert.equal(devMinor(st.rdev), 3);
      assert.equal(st.mode & C.S_IFMT, C.S_IFCHR);
      assert.throws(() => sys.mknod(p, C.S_IFCHR | 0o666, makedev(1, 3)), (e: unknown) => isErrno(e, 'EEXIST'));
      sys.mkfifo(join(dir, 'fifo'), 0o600);
      assert.ok(statSync(join(dir, 'fifo')).isFIFO());
      sys.chown(p, 1234, 5678);
      assert.equal(statSync(p).uid, 1234);
      assert.equal(statSync(p).gid, 5678);
      sys.symlink('null', join(dir, 'ln'));
      sys.lchown(join(dir, 'ln'), 42, 43);
      assert.equal(lstatSync(join(dir, 'ln')).uid, 42);
      assert.equal(statSync(p).uid, 1234, 'lchown does not follow');
      sys.chmod(p, 0o600);
      assert.equal(statSync(p).mode & 0o777, 0o600);
      writeFileSync(join(dir, 'f'), '');
      const fd = sys.open(join(dir, 'f'), C.O_RDWR);
      sys.fchmod(fd, 0o640);
      sys.fchown(fd, 7, 8);
      sys.close(fd);
      assert.equal(statSync(join(dir, 'f')).mode & 0o777, 0o640);
      assert.equal(statSync(join(dir, 'f')).uid, 7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('umask returns the previous mask', () => {
    const prev = process.umask();
    assert.equal(sys.umask(0o027), prev);
    assert.equal(process.umask(), 0o027);
    assert.equal(sys.umask(prev), 0o027);
  });

  test('personality query agrees with /proc/self/personality', () => {
    const cur = sys.personality(C.PERSONALITY_QUERY);
    assert.equal(cur, parseInt(readFileSync('/proc/self/personality', 'utf8'), 16));
  });

  test('ioprio_set and sched_setattr on another process (checked with ionice/chrt)', async () => {
    if (spawnSync('ionice', ['--version']).status !== 0 || spawnSync('chrt', ['--version']).status !== 0) {
      need(false, 'ionice and chrt (util-linux)');
      return;
    }
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const pid = child.pid!;
      sys.ioprioSet(C.IOPRIO_WHO_PROCESS, pid, (C.IOPRIO_CLASS_BE << C.IOPRIO_CLASS_SHIFT) | 6);
      assert.equal(spawnSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).stdout.trim(), 'best-effort: prio 6');
      sys.schedSetattr(pid, { policy: C.SCHED_BATCH, nice: 7 });
      const chrt = spawnSync('chrt', ['-p', String(pid)], { encoding: 'utf8' }).stdout;
      assert.match(chrt, /SCHED_BATCH/);
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      assert.equal(fields[16], '7', 'nice (field 19)');
      assert.throws(() => sys.schedSetattr(pid, { policy: 99 }), (e: unknown) => isErrno(e, 'EINVAL'));
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('prctl generic: PR_CAPBSET_READ and bad options', () => {
    assert.equal(sys.prctl(C.PR_CAPBSET_READ, 0), 1);
    assert.equal(sys.capbsetRead(0), true);
    assert.throws(() => sys.prctl(C.PR_CAPBSET_READ, 1000), (e: unknown) => isErrno(e, 'EINVAL'));
  });
}

