// Hostile-bundle battery, CVE-2019-5736 class: a container must never get a writable handle on
// the host's `node`, on tsrun-stage or on tsrun's bundle (dist/), through /proc/PID/exe (or
// /proc/PID/root, /proc/PID/cwd) of any tsrun process it can see, in particular the `exec`
// stages that are briefly visible in its pid namespace, nor by making tsrun exec
// "#!/proc/self/exe". See src/runtime/seal.ts and native/stage.c (--readonly-host).
//
// The attacks run for real (as root, through bin/tsrun): a rootfs that can run the host's Node
// (its shared libraries copied in, like any Debian image has them) and a static C attacker
// (hostile/exe-attacker.c). They never write a byte: a successful write-open is reported and
// closed at once, and the host files are compared before and after.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Battery, compileHelper, uniqueId, waitFor, type Config } from '../helpers/hostile';
import { REPO } from '../helpers/tsrun';
import { need } from '../helpers/need';

const battery = new Battery('exe');

after(async () => {
  const left = await battery.cleanup();
  assert.deepEqual(left, [], 'left behind by the exe battery');
});

/** The host files no container may ever write: node, the stage, tsrun's bundle and launcher. */
const NODE = realpathSync(process.execPath);
const PROTECTED = [
  NODE,
  join(REPO, 'dist', 'tsrun-stage'),
  join(REPO, 'dist', 'tsrun.js'),
  join(REPO, 'dist', 'tsrun.bundle.js'),
  join(REPO, 'dist', 'init.js'),
  join(REPO, 'dist', 'init.bundle.js'),
  join(REPO, 'bin', 'tsrun'),
];

function identity(path: string): string {
  const st = statSync(path);
  return `${st.dev} ${st.ino}`;
}

/** dev, inode, size, mtime and ctime: any write or metadata change shows. */
function fingerprint(): Record<string, string> {
  return Object.fromEntries(
    PROTECTED.map((p) => {
      const st = statSync(p, { bigint: true });
      return [p, `${st.dev}:${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`];
    }),
  );
}
const before = fingerprint();
const protectedIds = new Map(PROTECTED.map((p) => [identity(p), p]));

after(() => assert.deepEqual(fingerprint(), before, 'a protected host file changed'));

/** A busybox rootfs that can also run the host's Node: its dynamic loader and libraries copied in. */
let nodeRootfs: string | undefined;
function rootfsWithNode(): string {
  if (nodeRootfs) return nodeRootfs;
  const dir = battery.rootfs('node');
  const ldd = execFileSync('ldd', [NODE], { encoding: 'utf8' });
  const libs = [...ldd.matchAll(/(\/\S+)/g)].map((m) => m[1]!);
  need(libs.some((l) => l.includes('ld-linux')), `a dynamically linked ${NODE} (ldd)`);
  for (const lib of libs) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(realpathSync(lib), join(dir, lib));
  }
  nodeRootfs = dir;
  return dir;
}

/** Writes an executable "#!/proc/self/exe" script (JavaScript, for the Node it re-executes). */
function evilScript(rootfs: string, name: string, js: string): void {
  writeFileSync(join(rootfs, name), `#!/proc/self/exe\n${js}\n`);
  chmodSync(join(rootfs, name), 0o755);
}

// What the re-executed Node reports about the binary it runs: identity, and whether it can be
// opened for writing (never written).
const REPORT_SELF = `
const fs = require('fs');
const st = fs.statSync('/proc/self/exe');
let w = 'opened';
try { fs.closeSync(fs.openSync('/proc/self/exe', fs.constants.O_WRONLY)); } catch (e) { w = e.code; }
console.log(JSON.stringify({ id: st.dev + ' ' + st.ino, link: fs.readlinkSync('/proc/self/exe'), write: w }));
`;

test('"#!/proc/self/exe" as the container\'s process: the init re-executes a sealed Node, not the host\'s', () => {
  const rootfs = rootfsWithNode();
  evilScript(rootfs, 'evil-init', REPORT_SELF);
  const config = battery.config(rootfs, ['/evil-init']);
  const r = battery.rt(['run', '--bundle', battery.bundle(config), uniqueId('selfexe')]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim()) as { id: string; link: string; write: string };
  assert.ok(!protectedIds.has(report.id), `the container ran ${protectedIds.get(report.id)} itself (${report.link})`);
  assert.equal(report.write, 'EROFS', 'the binary the container runs cannot be opened for writing');
  assert.notEqual(report.link, NODE);
});

test('"#!/proc/self/exe" through exec, handle kept until tsrun has exited: reopening it for writing fails', async () => {
  const rootfs = rootfsWithNode();
  // The re-executed Node opens its own executable and hands the fd to a child that outlives it
  // (and tsrun exec), which then tries to reopen it for writing through /proc/self/fd/3.
  evilScript(
    rootfs,
    'evil-exec',
    `${REPORT_SELF}
const fd = require('fs').openSync('/proc/self/exe', 'r');
require('child_process').spawn('/bin/sh', ['-c', 'sleep 0.5; if (exec 4>>/proc/self/fd/3) 2>/tmp/why; then echo WRITABLE; else cat /tmp/why; fi > /tmp/result'],
  { stdio: ['ignore', 'ignore', 'ignore', fd], detached: true }).unref();`,
  );
  const id = uniqueId('execself');
  const config = battery.config(rootfs, ['sleep', '1000']);
  assert.equal(battery.rtFiles(['run', '--detach', '--bundle', battery.bundle(config), id]).code, 0);
  try {
    const r = battery.rt(['exec', id, '/evil-exec']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n')[0]!) as { id: string; link: string; write: string };
    assert.ok(!protectedIds.has(report.id), `exec re-executed the host's ${protectedIds.get(report.id)}`);
    assert.equal(report.write, 'EROFS');
    let result = '';
    await waitFor('the delayed reopen', () => (result = battery.rt(['exec', id, 'cat', '/tmp/result']).stdout) !== '');
    assert.doesNotMatch(result, /WRITABLE/);
    // Not merely "Text file busy" (a running copy of the host's node would give that, and only
    // while one runs): the file itself is read-only.
    assert.match(result, /Read-only file system/);
  } finally {
    battery.rt(['delete', '--force', id]);
  }
});

interface AttackResult {
  lines: string[];
  seen: string[];
  opath: string[];
  writes: string[];
  summary: string;
}

/**
 * Runs exe-attacker as the container's process while `tsrun exec` runs `execs` times, then
 * returns what it saw and managed.
 */
async function attackDuringExec(name: string, tweak: (c: Config) => void, execs = 12): Promise<AttackResult> {
  const rootfs = battery.rootfs(`attack-${name}`);
  compileHelper('exe-attacker', rootfs);
  // /proc/PID/root and /proc/PID/cwd + these (from the cwd: climb to / first).
  const climb = '/..'.repeat(12);
  const hostPaths = PROTECTED.flatMap((p) => [p, climb + p]);
  const config = battery.config(rootfs, ['/exe-attacker', '60000', ...hostPaths]);
  tweak(config);
  const id = uniqueId(`attack-${name}`);
  const started = battery.rtFiles(['run', '--detach', '--bundle', battery.bundle(config), id], id);
  assert.equal(started.code, 0, started.stderr);
  try {
    await waitFor('the attacker', () => readFileSync(started.out, 'utf8').startsWith('ready'));
    for (let i = 0; i < execs; i++) {
      const r = battery.rt(['exec', id, '/bin/true']);
      assert.equal(r.code, 0, `exec ${i}: ${r.stderr}`);
    }
    // A last pass after every exec stage has exited: the reopen of each handle kept.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(battery.rt(['exec', id, 'touch', '/tmp/stop']).code, 0);
    await waitFor('the attacker\'s summary', () => readFileSync(started.out, 'utf8').includes('summary'));
  } finally {
    battery.rt(['delete', '--force', id]);
  }
  const lines = readFileSync(started.out, 'utf8').trim().split('\n');
  return {
    lines,
    seen: lines.filter((l) => l.startsWith('seen ')),
    opath: lines.filter((l) => l.startsWith('opath ')),
    writes: lines.filter((l) => l.startsWith('WRITE ')),
    summary: lines.find((l) => l.startsWith('summary')) ?? '',
  };
}

function assertNothingReached(r: AttackResult): void {
  assert.deepEqual(r.writes, [], `write-opens succeeded:\n${r.lines.join('\n')}`);
  for (const line of r.opath) {
    const [, , dev, ino] = line.split(' ');
    const hit = protectedIds.get(`${dev} ${ino}`);
    assert.equal(hit, undefined, `the container got a handle on the host's ${hit}: ${line}`);
  }
}

test('exec race, default capabilities: the exec stages are out of reach, nothing of the host is opened', async () => {
  const r = await attackDuringExec('default', () => undefined);
  assertNothingReached(r);
  // The race was run: the attacker saw the processes exec started (stage, Node, true).
  assert.ok(r.seen.length >= 3, `the attacker saw no exec'd process: ${r.summary}`);
});

test('exec race with CAP_SYS_PTRACE (it can open /proc/PID/exe of the stages): only sealed read-only copies', async () => {
  const r = await attackDuringExec('ptrace', (c) => {
    for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set] = [...c.process.capabilities[set]!, 'CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE'];
  });
  assertNothingReached(r);
  // The stages themselves were caught: handles on the stage and on Node, both sealed.
  const stages = r.opath.filter((l) => / \/(tsrun-stage|node)$/.test(l));
  assert.ok(stages.length >= 2, `the attacker never got at an exec stage (the race did not run): ${r.summary}\n${r.lines.slice(0, 20).join('\n')}`);
});

test('exec race in a user namespace with CAP_SYS_PTRACE: only sealed read-only copies', async () => {
  const r = await attackDuringExec('userns', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set] = [...c.process.capabilities[set]!, 'CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE'];
  });
  assertNothingReached(r);
  assert.ok(r.seen.length >= 3, `the attacker saw no exec'd process: ${r.summary}`);
});
