// Integration tests of the native clone stage (native/stage.c → dist/tsrun-stage).
// Really executed as root: every case creates namespaces. Build the stage first
// (`make dist/tsrun-stage`); a missing binary makes every test FAIL, not skip.
//
// The stage exits right after printing "pid N", orphaning its child. This test process
// makes itself a child subreaper (prctl through koffi), so the orphans are reparented to
// it and it can reap them with waitpid() and check their exit status. No process is left
// behind: every run is killed and reaped in a finally block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Socket } from 'node:net';
import koffi from 'koffi';

const STAGE = resolve('dist/tsrun-stage');
const NS_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'];
const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int option, ...)');
const waitpid = libc.func('int waitpid(int pid, _Out_ int *status, int options)');
assert.equal(prctl(PR_SET_CHILD_SUBREAPER, 'unsigned long', 1, 'unsigned long', 0,
  'unsigned long', 0, 'unsigned long', 0), 0, 'prctl(PR_SET_CHILD_SUBREAPER)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reject if `p` has not settled within `ms`, so that a hang ends in cleanup, not a stuck test. */
function within<T>(p: Promise<T>, what: string, ms = 10000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function requireStage(): void {
  assert.ok(existsSync(STAGE), `${STAGE} is missing: build it with "make dist/tsrun-stage"`);
  assert.equal(process.getuid?.(), 0, 'these tests need root');
}

interface Exit { code: number | null; signal: number | null }

/** Reap an orphan that was reparented to this (subreaper) process. */
async function reap(pid: number, timeoutMs = 10000): Promise<Exit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = [0];
    const r = waitpid(pid, st, WNOHANG) as number;
    if (r === pid) {
      const s = st[0]!;
      return (s & 0x7f) === 0 ? { code: (s >> 8) & 0xff, signal: null } : { code: null, signal: s & 0x7f };
    }
    if (r < 0) throw new Error(`waitpid(${pid}): errno ${koffi.errno()} (not our child?)`);
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** One run of the stage: stdout/stderr pipes, the sync socket on fd 3, the child's pid. */
class Run {
  readonly proc: ChildProcess;
  readonly sock: Socket;
  out = '';
  err = '';
  childPid = 0;
  private childExit: Exit | null = null;
  private buf = '';
  private eof = false;
  private wake: (() => void) | null = null;
  readonly stageExit: Promise<Exit>;
  readonly outputDone: Promise<void>;

  constructor(args: string[]) {
    requireStage();
    this.proc = spawn(STAGE, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    this.sock = this.proc.stdio[3] as Socket;
    this.sock.setEncoding('utf8');
    const poke = () => { const w = this.wake; this.wake = null; w?.(); };
    this.sock.on('data', (d: string) => { this.buf += d; poke(); });
    this.sock.on('end', () => { this.eof = true; poke(); });
    this.sock.on('close', () => { this.eof = true; poke(); });
    this.sock.on('error', () => { this.eof = true; poke(); });
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => { this.out += d; poke(); });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => { this.err += d; });
    const ended = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.on('close', () => r()));
    this.outputDone = Promise.all([ended(this.proc.stdout!), ended(this.proc.stderr!)]).then(() => {});
    this.stageExit = new Promise((r) => this.proc.on('exit', (code, sig) =>
      r({ code, signal: sig ? constants.signals[sig] : null })));
  }

  private async until<T>(what: string, get: () => T | undefined, timeoutMs = 10000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}; out=${JSON.stringify(this.out)} ` +
        `sync=${JSON.stringify(this.buf)} err=${JSON.stringify(this.err)}`);
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, Math.min(left, 50)); });
    }
  }

  /** Next line from the sync socket, or null at EOF. */
  line(): Promise<string | null> {
    return this.until('a sync line', () => {
      const i = this.buf.indexOf('\n');
      if (i >= 0) { const l = this.buf.slice(0, i); this.buf = this.buf.slice(i + 1); return l; }
      return this.eof ? null : undefined;
    });
  }

  /** Wait until stdout matches re. */
  waitOut(re: RegExp): Promise<RegExpMatchArray> {
    return this.until(`stdout matching ${re}`, () => this.out.match(re) ?? undefined);
  }

  /** Read "pid N", check that the stage exited 0 at once and the orphan is now ours. */
  async started(): Promise<number> {
    const l = await this.line();
    assert.match(l ?? '<EOF>', /^pid \d+$/, `stage said ${l}; stderr=${this.err}`);
    this.childPid = Number(l!.slice(4));
    assert.deepEqual(await within(this.stageExit, 'stage exit'), { code: 0, signal: null },
      'stage exits 0 without waiting for its child');
    const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${this.childPid}/status`, 'utf8'))![1];
    assert.equal(Number(ppid), process.pid, 'orphaned child is reparented to the subreaper');
    return this.childPid;
  }

  go(): void { this.sock.write('G'); }

  /** Wait for stdout/stderr EOF and the child's exit. */
  async finish(): Promise<Exit> {
    await within(this.outputDone, `EOF on stdout/stderr; out=${JSON.stringify(this.out)}`);
    this.childExit = await reap(this.childPid);
    return this.childExit;
  }

  /** Kill and reap whatever of this run is still alive. */
  async dispose(): Promise<void> {
    this.sock.destroy();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.stageExit;
    }
    if (this.childPid && !this.childExit) {
      try { process.kill(this.childPid, 'SIGKILL'); } catch { /* already dead */ }
      this.childExit = await reap(this.childPid).catch(() => null);
    }
  }
}

/** Run `fn` with fresh runs, disposing all of them whatever happens. */
async function withRuns(fn: (start: (args: string[]) => Run) => Promise<void>): Promise<void> {
  const runs: Run[] = [];
  try {
    await fn((args) => { const r = new Run(args); runs.push(r); return r; });
  } finally {
    for (const r of runs.reverse()) await r.dispose();
  }
}

const nsLink = (pid: number | 'self', type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);
const IDMAP = '0 100000 65536';
function writeMaps(pid: number): void {
  writeFileSync(`/proc/${pid}/uid_map`, IDMAP);
  writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  writeFileSync(`/proc/${pid}/gid_map`, IDMAP);
}
const uptime = (text: string) => Number(text.trim().split(/\s+/)[0]);
const T = { timeout: 30000 };

test('stage binary is built', () => requireStage());

test('clone pid,uts,ipc,net,mnt: child is pid 1 in new namespaces, others shared', T, () =>
  withRuns(async (start) => {
    const r = start(['--sync', '3', '--clone', 'pid,uts,ipc,net,mnt', '--',
      '/bin/sh', '-c', 'echo $$; readlink /proc/self/ns/uts']);
    const pid = await r.started();
    const cloned = new Set(['pid', 'uts', 'ipc', 'net', 'mnt']);
    for (const t of NS_TYPES) {
      const [mine, its] = [nsLink('self', t), nsLink(pid, t)];
      if (cloned.has(t)) assert.notEqual(its, mine, `${t} namespace must be new`);
      else assert.equal(its, mine, `${t} namespace must be shared`);
    }
    const uts = nsLink(pid, 'uts');
    r.go();
    assert.deepEqual(await r.finish(), { code: 0, signal: null });
    assert.equal(r.out, `1\n${uts}\n`);
    assert.equal(r.err, '');
  }));

test('clone user,pid --root-ids: uid 0 inside, mapped 100000 outside', T, () =>
  withRuns(async (start) => {
    const a = start(['--sync', '3', '--clone', 'user,pid', '--root-ids', '--', '/usr/bin/id', '-u']);
    const pa = await a.started();
    assert.notEqual(nsLink(pa, 'user'), nsLink('self', 'user'));
    writeMaps(pa);
    a.go();
    assert.deepEqual(await a.finish(), { code: 0, signal: null });
    assert.equal(a.out, '0\n', `stderr: ${a.err}`);

    // Same with a program that waits on the inherited sync fd, to look at it from the host.
    const b = start(['--sync', '3', '--clone', 'user,pid', '--root-ids', '--',
      '/bin/sh', '-c', 'id -u; id -g; read x <&3']);
    const pb = await b.started();
    writeMaps(pb);
    b.go();
    await b.waitOut(/^0\n0\n$/);
    const status = readFileSync(`/proc/${pb}/status`, 'utf8');
    assert.match(status, /^Uid:\s+100000\s+100000\s+100000\s+100000$/m);
    assert.match(status, /^Gid:\s+100000\s+100000\s+100000\s+100000$/m);
    b.sock.write('\n');
    assert.deepEqual(await b.finish(), { code: 0, signal: null });

    // Without --root-ids the program keeps host uid 0, unmapped inside: the overflow uid.
    const c = start(['--sync', '3', '--clone', 'user', '--', '/usr/bin/id', '-u']);
    writeMaps(await c.started());
    c.go();
    await c.finish();
    assert.equal(c.out, '65534\n');
  }));

test('clone every namespace at once, user and time included, --root-ids', T, () =>
  withRuns(async (start) => {
    const r = start(['--sync', '3', '--clone', 'user,pid,ipc,uts,net,mnt,cgroup,time',
      '--timens-offset', 'boottime 86400 0', '--root-ids', '--',
      '/bin/sh', '-c', 'echo $$; id -u; cat /proc/uptime']);
    const pid = await r.started();
    for (const t of NS_TYPES) assert.notEqual(nsLink(pid, t), nsLink('self', t), `${t} namespace must be new`);
    writeMaps(pid);
    const host = uptime(readFileSync('/proc/uptime', 'utf8'));
    r.go();
    assert.deepEqual(await r.finish(), { code: 0, signal: null }, `stderr: ${r.err}`);
    const [p1, uid, up] = r.out.trim().split('\n');
    assert.deepEqual([p1, uid], ['1', '0']);
    assert.ok(Math.abs(uptime(up!) - host - 86400) < 5, `uptime ${up} vs host ${host}`);
  }));

test('join net, user+net with --root-ids, pid and time of other processes', T, () =>
  withRuns(async (start) => {
    // Holders: children that wait for a "G" that never comes; their namespaces exist already.
    const h = start(['--sync', '3', '--clone', 'user,net', '--', '/bin/true']);
    const hp = await h.started();
    writeMaps(hp);
    const hnet = nsLink(hp, 'net');
    assert.notEqual(hnet, nsLink('self', 'net'));

    const j = start(['--sync', '3', '--join', `net:/proc/${hp}/ns/net`, '--', '/bin/readlink', '/proc/self/ns/net']);
    await j.started();
    j.go();
    assert.deepEqual(await j.finish(), { code: 0, signal: null });
    assert.equal(j.out, `${hnet}\n`);

    // net listed before user: the stage still joins user first.
    const u = start(['--sync', '3', '--join', `net:/proc/${hp}/ns/net`, '--join', `user:/proc/${hp}/ns/user`,
      '--root-ids', '--', '/bin/sh', '-c', 'id -u; readlink /proc/self/ns/user /proc/self/ns/net']);
    await u.started();
    u.go();
    assert.deepEqual(await u.finish(), { code: 0, signal: null });
    assert.equal(u.out, `0\n${nsLink(hp, 'user')}\n${hnet}\n`, `stderr: ${u.err}`);

    // pid: the joiner's child is the second process of the holder's pid namespace.
    const p = start(['--sync', '3', '--clone', 'pid', '--', '/bin/true']);
    const pp = await p.started();
    const jp = start(['--sync', '3', '--join', `pid:/proc/${pp}/ns/pid`, '--', '/bin/sh', '-c', 'echo $$']);
    const jpp = await jp.started();
    assert.equal(nsLink(jpp, 'pid'), nsLink(pp, 'pid'));
    jp.go();
    assert.deepEqual(await jp.finish(), { code: 0, signal: null });
    assert.equal(jp.out, '2\n');

    // time: the joiner's child sees the holder's boottime offset.
    const t = start(['--sync', '3', '--clone', 'time', '--timens-offset', 'boottime 86400 0', '--', '/bin/true']);
    const tp = await t.started();
    const jt = start(['--sync', '3', '--join', `time:/proc/${tp}/ns/time`, '--', '/bin/cat', '/proc/uptime']);
    const jtp = await jt.started();
    assert.equal(nsLink(jtp, 'time'), nsLink(tp, 'time'));
    const host = uptime(readFileSync('/proc/uptime', 'utf8'));
    jt.go();
    assert.deepEqual(await jt.finish(), { code: 0, signal: null });
    assert.ok(Math.abs(uptime(jt.out) - host - 86400) < 5, `uptime ${jt.out} vs host ${host}`);

    // Releasing the holders without "G": they exit 1 silently.
    for (const x of [h, p, t]) {
      x.sock.destroy();
      assert.deepEqual(await x.finish(), { code: 1, signal: null });
      assert.equal(x.out + x.err, '');
    }
  }));

test('clone time with offsets: monotonic and boottime', T, () => {
  assert.ok(existsSync('/proc/self/ns/time'),
    'this kernel has no time namespaces (/proc/self/ns/time missing, needs Linux >= 5.6 with CONFIG_TIME_NS)');
  return withRuns(async (start) => {
    const script = 'cat /proc/uptime /proc/self/timens_offsets';
    const m = start(['--sync', '3', '--clone', 'time,pid', '--timens-offset', 'monotonic 86400 0', '--',
      '/bin/sh', '-c', script]);
    const mp = await m.started();
    assert.notEqual(nsLink(mp, 'time'), nsLink('self', 'time'), 'child is in a new time namespace');
    assert.notEqual(nsLink(mp, 'pid'), nsLink('self', 'pid'));
    let host = uptime(readFileSync('/proc/uptime', 'utf8'));
    m.go();
    assert.deepEqual(await m.finish(), { code: 0, signal: null }, `stderr: ${m.err}`);
    let [up, ...offs] = m.out.trim().split('\n');
    // /proc/uptime shows boottime: unchanged by a monotonic offset.
    assert.ok(Math.abs(uptime(up!) - host) < 5, `uptime ${up} vs host ${host}`);
    assert.deepEqual(offs.map((l) => l.trim().split(/\s+/)), [['monotonic', '86400', '0'], ['boottime', '0', '0']]);

    const b = start(['--sync', '3', '--clone', 'time', '--timens-offset', 'monotonic 86400 0',
      '--timens-offset', 'boottime 86400 0', '--', '/bin/sh', '-c', script]);
    await b.started();
    host = uptime(readFileSync('/proc/uptime', 'utf8'));
    b.go();
    assert.deepEqual(await b.finish(), { code: 0, signal: null }, `stderr: ${b.err}`);
    [up, ...offs] = b.out.trim().split('\n');
    const grew = uptime(up!) - host;
    assert.ok(grew > 86400 - 5 && grew < 86400 + 5, `uptime grew by ${grew}, expected ~86400`);
    assert.deepEqual(offs.map((l) => l.trim().split(/\s+/)), [['monotonic', '86400', '0'], ['boottime', '86400', '0']]);
  });
});

test('errors: open, execv, missing G, bad usage', T, () =>
  withRuns(async (start) => {
    const o = start(['--sync', '3', '--join', 'net:/nonexistent', '--', '/bin/true']);
    assert.equal(await o.line(), 'error open /nonexistent: No such file or directory');
    assert.deepEqual(await within(o.stageExit, 'stage exit'), { code: 1, signal: null });
    assert.equal(await o.line(), null);

    const s = start(['--sync', '3', '--join', 'net:/proc/self/ns/user', '--', '/bin/true']);
    assert.equal(await s.line(), 'error setns /proc/self/ns/user: Invalid argument');
    assert.deepEqual(await within(s.stageExit, 'stage exit'), { code: 1, signal: null });

    // Socket closed without "G", or another byte: nothing runs, nothing printed, exit 1.
    for (const release of [(r: Run) => r.sock.destroy(), (r: Run) => r.sock.end('X')]) {
      const n = start(['--sync', '3', '--clone', 'pid', '--', '/bin/echo', 'MUST-NOT-RUN']);
      await n.started();
      release(n);
      assert.deepEqual(await n.finish(), { code: 1, signal: null });
      assert.equal(n.out + n.err, '');
    }

    const b = start(['--sync', '3', '--clone', 'time', '--timens-offset', 'bogus 1 0', '--', '/bin/true']);
    assert.equal(await b.line(), 'error write /proc/self/timens_offsets bogus 1 0: Invalid argument');
    assert.deepEqual(await within(b.stageExit, 'stage exit'), { code: 1, signal: null });

    const e = start(['--sync', '3', '--', '/no/such/binary', 'arg']);
    await e.started();
    e.go();
    assert.equal(await e.line(), 'error execv /no/such/binary: No such file or directory');
    assert.deepEqual(await e.finish(), { code: 127, signal: null });

    const usages = [
      ['--', '/bin/true'], // missing --sync
      ['--sync', '3', '/bin/true'], // missing --
      ['--sync', '3', '--'], // missing PROGRAM
      ['--sync', '3', '--join', 'mnt:/proc/self/ns/mnt', '--', '/bin/true'],
      ['--sync', '3', '--join', 'net', '--', '/bin/true'],
      ['--sync', '3', '--clone', 'pid,bogus', '--', '/bin/true'],
      ['--sync', '3', '--timens-offset', 'monotonic 1 0', '--', '/bin/true'], // time not cloned
      ['--sync', 'x', '--', '/bin/true'],
      ['--sync', '9', '--', '/bin/true'], // not open
      ['--sync', '3', '--frob', '--', '/bin/true'],
    ];
    for (const args of usages) {
      const u = start(args);
      assert.deepEqual(await within(u.stageExit, 'stage exit'), { code: 2, signal: null }, args.join(' '));
      await within(u.outputDone, 'EOF');
      assert.match(u.err, /^tsrun-stage: .*\nusage: /, args.join(' '));
      assert.equal(await u.line(), null, 'nothing on the sync socket');
    }
  }));

test('the sync fd is inherited by PROGRAM', T, () =>
  withRuns(async (start) => {
    const r = start(['--sync', '3', '--clone', 'pid', '--', '/bin/ls', '-l', '/proc/self/fd/']);
    await r.started();
    r.go();
    assert.deepEqual(await r.finish(), { code: 0, signal: null });
    assert.match(r.out, / 3 -> socket:\[\d+\]$/m);
  }));
