// execUserProcess for real, as root, in a CHILD Node process (never in the test process): this
// file, started again with TSRUN_PROCESS_CHILD set, opens a leaked non-close-on-exec fd, then
// calls resolveExecutable + execUserProcess with the real libc layer, which must end in an
// execve of /bin/sh. The shell reports its credentials, capabilities, limits, fds, signals
// and environment from /proc, and the test checks each one.
import { sigIgnWithoutGlibcReserved } from '../helpers/need';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinuxPersonality, Process } from '../../src/spec';
import { linux } from '../../src/linux/syscalls';
import { O_RDONLY } from '../../src/linux/constants';
import { execUserProcess, resolveExecutable } from '../../src/init/process';

const CHILD_VAR = 'TSRUN_PROCESS_CHILD';

interface ChildRequest {
  process: Process;
  preserveFds: number;
  personality?: LinuxPersonality;
  /** Path given to execUserProcess instead of resolveExecutable's answer. */
  executable?: string;
  /** Print this Node process's SigIgn line on stderr first (to show what had to be reset). */
  reportNodeSignals?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The child side

function child(request: ChildRequest): never {
  const sys = linux();
  try {
    // Leaks the user process must not see: a plain open (no O_CLOEXEC) at a high number.
    const fd = sys.open('/dev/null', O_RDONLY);
    sys.dup2(fd, 37);
    if (request.reportNodeSignals) writeSync(2, `node ${/^SigIgn:.*$/m.exec(readFileSync('/proc/self/status', 'utf8'))![0]}\n`);
    const executable = request.executable ?? resolveExecutable(request.process);
    return execUserProcess(sys, request.process, executable, {
      preserveFds: request.preserveFds,
      personality: request.personality,
      warn: (m) => writeSync(2, `warning: ${m}\n`),
    });
  } catch (err) {
    writeSync(2, `child error: ${(err as Error).message}\n`);
    process.exit(99);
  }
}

// ---------------------------------------------------------------------------------------------
// The test side

interface Report {
  code: number | null;
  stdout: string;
  stderr: string;
  fd3: string;
  sections: Map<string, string[]>;
}

/** Runs a child with stdio 0-2 plus pipes on fds 3 (preserved when preserveFds >= 1) and 4. */
function runChild(request: ChildRequest): Report {
  const env: Record<string, string> = { [CHILD_VAR]: JSON.stringify(request), PATH: '/usr/bin:/bin' };
  const r = spawnSync(process.execPath, [__filename], { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], timeout: 20_000, encoding: 'utf8' });
  if (r.error) throw r.error;
  const out = r.output as Array<string | null>;
  const stdout = String(out[1] ?? '');
  const sections = new Map<string, string[]>();
  let current = '';
  for (const line of stdout.split('\n')) {
    const m = /^== (.*)$/.exec(line);
    if (m) {
      current = m[1]!;
      sections.set(current, []);
    } else if (current && line !== '') sections.get(current)!.push(line);
  }
  return { code: r.status, stdout, stderr: String(out[2] ?? ''), fd3: String(out[3] ?? ''), sections };
}

function section(r: Report, name: string): string[] {
  const s = r.sections.get(name);
  assert.ok(s, `no section ${name} in output:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return s;
}

/** "Key:\tvalue" lines of /proc/PID/status → map (values whitespace-normalised). */
function statusFields(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf(':');
    m.set(l.slice(0, i), l.slice(i + 1).trim().split(/\s+/).join(' '));
  }
  return m;
}

const REPORT_SCRIPT = [
  // (not SigBlk: dash blocks every signal around its forks, so reading its status races)
  `echo '== status'; grep -E '^(Cap|NoNewPrivs|Uid|Gid|Groups|SigIgn)' /proc/$$/status`,
  `echo '== nofile'; ulimit -n; ulimit -Hn`,
  `echo '== umask'; umask`,
  `echo '== pwd'; pwd -P`,
  `echo '== environ'; tr '\\0' '\\n' < /proc/$$/environ`,
  `echo '== fds'; ls /proc/$$/fd`,
  `echo '== oom'; cat /proc/$$/oom_score_adj`,
  // /proc/PID/stat: field 19 is nice, field 41 the policy (after the ")" of comm)
  `echo '== sched'; sed 's/.*) //' /proc/$$/stat | cut -d' ' -f17,39`,
  `echo '== ioprio'; ionice -p $$`,
  `echo '== uname'; uname -m`,
  `echo preserved >&3`,
].join('\n');

/** HOME the host's /etc/passwd gives `uid` (this host is the "container" here). */
function hostHome(uid: number): string {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length >= 6 && f[2] === String(uid)) return f[5]!;
  }
  return '/';
}

function withCwd(fn: (cwd: string) => void): () => void {
  return () => {
    assert.equal(process.getuid?.(), 0, 'these tests need root');
    const cwd = mkdtempSync(join(tmpdir(), 'tsrun-test-procexec-'));
    chmodSync(cwd, 0o755);
    try {
      fn(cwd);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  };
}

const NBS = ['CAP_NET_BIND_SERVICE'];

if (process.env[CHILD_VAR]) {
  child(JSON.parse(process.env[CHILD_VAR]!) as ChildRequest);
} else {
  test('uid/gid/groups, capabilities, no_new_privs, rlimits, umask, cwd, env, fds, signals, oom, scheduling', withCwd((cwd) => {
    const r = runChild({
      preserveFds: 1,
      process: {
        args: ['sh', '-c', REPORT_SCRIPT],
        env: ['A=1', 'PATH=/usr/bin:/bin'],
        cwd,
        user: { uid: 1000, gid: 1000, additionalGids: [5, 2000], umask: 0o027 },
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
        oomScoreAdj: 500,
        noNewPrivileges: true,
        scheduler: { policy: 'SCHED_BATCH', nice: 5 },
        ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
        capabilities: { bounding: NBS, effective: NBS, permitted: NBS, inheritable: NBS, ambient: NBS },
      },
    });
    assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.stderr, '');

    const st = statusFields(section(r, 'status'));
    assert.equal(st.get('Uid'), '1000 1000 1000 1000');
    assert.equal(st.get('Gid'), '1000 1000 1000 1000');
    assert.equal(st.get('Groups'), '5 2000');
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(st.get(set), '0000000000000400', set);
    assert.equal(st.get('NoNewPrivs'), '1');
    // Node ignores SIGPIPE and SIGXFSZ; the ignore would survive execve
    assert.equal(sigIgnWithoutGlibcReserved(st.get('SigIgn')), 0n);

    assert.deepEqual(section(r, 'nofile'), ['1024', '1024']);
    assert.deepEqual(section(r, 'umask'), ['0027']);
    assert.deepEqual(section(r, 'pwd'), [cwd]);
    assert.deepEqual(section(r, 'environ'), ['A=1', 'PATH=/usr/bin:/bin', `HOME=${hostHome(1000)}`]);
    assert.deepEqual(section(r, 'fds'), ['0', '1', '2', '3']);
    assert.equal(r.fd3, 'preserved\n');
    assert.deepEqual(section(r, 'oom'), ['500']);
    assert.deepEqual(section(r, 'sched'), ['5 3']);
    assert.deepEqual(section(r, 'ioprio'), ['best-effort: prio 4']);
  }));

  test('signals: the exec\'d program itself has default dispositions and an empty mask', withCwd((cwd) => {
    const r = runChild({
      preserveFds: 0,
      reportNodeSignals: true,
      process: { args: ['grep', '-E', '^(SigIgn|SigBlk)', '/proc/self/status'], env: ['PATH=/usr/bin:/bin'], cwd, user: { uid: 1000, gid: 1000 } },
    });
    assert.equal(r.code, 0, r.stderr);
    // the Node init did ignore SIGPIPE (13) and SIGXFSZ (25)
    const nodeIgn = /^node SigIgn:\s*([0-9a-f]+)$/m.exec(r.stderr)?.[1];
    assert.equal(sigIgnWithoutGlibcReserved(nodeIgn), 0x1001000n, 'Node ignores SIGPIPE and SIGXFSZ');
    const [blk, ign] = r.stdout.trim().split('\n');
    assert.equal(blk, 'SigBlk:\t0000000000000000');
    assert.equal(sigIgnWithoutGlibcReserved(ign?.replace('SigIgn:', '')), 0n);
  }));

  test('without --preserve-fds, fd 3 is closed too', withCwd((cwd) => {
    const r = runChild({ preserveFds: 0, process: { args: ['/bin/sh', '-c', 'ls /proc/$$/fd'], cwd, env: [] } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0', '1', '2']);
  }));

  test('root with runc\'s default capabilities: ambient refused with a warning, like runc', withCwd((cwd) => {
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    const r = runChild({
      preserveFds: 0,
      process: {
        args: ['sh', '-c', `grep -E '^(Cap|Uid)' /proc/$$/status; echo "HOME=$HOME"`],
        env: ['PATH=/bin:/usr/bin'],
        cwd,
        capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const st = statusFields(r.stdout.trim().split('\n').filter((l) => l.includes(':')));
    assert.equal(st.get('Uid'), '0 0 0 0');
    for (const set of ['CapPrm', 'CapEff', 'CapBnd']) assert.equal(st.get(set), '0000000020000420', set);
    assert.equal(st.get('CapInh'), '0000000000000000');
    assert.equal(st.get('CapAmb'), '0000000000000000');
    assert.match(r.stdout, new RegExp(`^HOME=${hostHome(0)}$`, 'm'));
    assert.match(r.stderr, /warning: can't raise ambient capability CAP_AUDIT_WRITE: EPERM/);
  }));

  test('a capability missing from this host\'s bounding set', withCwd((cwd) => {
    const hostHasIt = (BigInt('0x' + /^CapBnd:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) >> 24n) & 1n;
    const caps = ['CAP_SYS_RESOURCE'];
    const r = runChild({
      preserveFds: 0,
      process: { args: ['/bin/sh', '-c', `grep CapEff /proc/$$/status`], cwd, capabilities: { bounding: caps, effective: caps, permitted: caps } },
    });
    if (hostHasIt) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /CapEff:\s*0000000001000000/);
    } else {
      assert.equal(r.code, 99, r.stdout);
      assert.match(r.stderr, /child error: applying capabilities: capset: EPERM: Operation not permitted \(this runtime does not hold CAP_SYS_RESOURCE/);
    }
  }));

  test('raising a hard rlimit without CAP_SYS_RESOURCE fails naming the limit', withCwd((cwd) => {
    const r = runChild({
      preserveFds: 0,
      process: { args: ['/bin/true'], cwd, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 18446744073709551615 }] },
    });
    assert.equal(r.code, 99);
    assert.match(r.stderr, /^child error: setting rlimit RLIMIT_NOFILE: EPERM: Operation not permitted \(raising a hard limit needs CAP_SYS_RESOURCE, the current hard limit is \d+\)$/m);
  }));

  test('an execve failure is reported as runc words it', withCwd((cwd) => {
    const garbage = join(cwd, 'garbage');
    writeFileSync(garbage, 'not a program\n');
    chmodSync(garbage, 0o755);
    const r = runChild({ preserveFds: 0, process: { args: [garbage], cwd } });
    assert.equal(r.code, 99);
    assert.match(r.stderr, new RegExp(`child error: exec ${garbage}: exec format error`));
  }));

  test('resolveExecutable errors, in the child too', withCwd((cwd) => {
    let r = runChild({ preserveFds: 0, process: { args: ['nosuch'], cwd, env: ['PATH=/usr/bin:/bin'] } });
    assert.equal(r.code, 99);
    assert.match(r.stderr, /child error: exec: "nosuch": executable file not found in \$PATH/);
    r = runChild({ preserveFds: 0, process: { args: ['/bin/true'], cwd: join(cwd, 'nope') } });
    assert.match(r.stderr, /child error: chdir to cwd \(".*\/nope"\) set in config.json failed: no such file or directory/);
  }));

  test('personality LINUX32', { skip: process.arch !== 'x64' ? 'x86_64 only' : false }, withCwd((cwd) => {
    const r = runChild({ preserveFds: 0, personality: { domain: 'LINUX32' }, process: { args: ['/usr/bin/uname', '-m'], cwd } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'i686');
  }));
}
