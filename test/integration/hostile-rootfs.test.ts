// Hostile-bundle battery: root filesystems whose paths point at the host, through bin/tsrun.
// Symlinked mount targets (absolute, "../" chains, to /etc and to host directories made for
// the test), a symlinked /proc and /dev, a symlinked /dev/null, ".." in mount destinations, a
// cwd that is a symlink out of the rootfs, an /etc/passwd that is a symlink to a host file:
// every path is resolved inside the rootfs; the host's mount table gets nothing and the host
// files and directories aimed at stay as they were. Then, from inside a container: masked paths
// are empty, read-only paths refuse writes (EROFS), no_new_privs is set and the capability sets
// are exactly the configured ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Battery, uniqueId } from '../helpers/hostile';

const battery = new Battery('rootfs');

/** Host places the hostile rootfs aims at: made for the test, with a sentinel file each. */
const victims = join(battery.work, 'host-victims');
const VICTIM_DIRS = ['abs', 'dotdot', 'proc', 'dev', 'bind', 'cwd', 'dotdest'];
mkdirSync(victims);
for (const v of VICTIM_DIRS) {
  mkdirSync(join(victims, v));
  writeFileSync(join(victims, v, 'sentinel'), `host ${v}\n`);
}
writeFileSync(join(victims, 'passwd'), 'root:x:0:0:root:/HOST-HOME-LEAKED:/bin/sh\n');
writeFileSync(join(victims, 'null'), 'host file, not a device\n');
const HOST_TARGETS = ['/etc', '/proc', '/dev', '/tmp', ...VICTIM_DIRS.map((v) => join(victims, v))];

/** Listing (names, sizes, modes) of each host target: a mount or a new file on any shows. */
function snapshot(): string {
  return HOST_TARGETS.filter((p) => !p.startsWith('/proc') && p !== '/dev' && p !== '/tmp')
    .map((p) => `${p}: ${readdirSync(p).sort().map((n) => {
      try {
        const st = statSync(join(p, n));
        return `${n}:${st.mode}:${st.isFile() ? st.size : ''}`;
      } catch {
        return `${n}:?`;
      }
    }).join(',')}`)
    .join('\n') + `\n${readFileSync(join(victims, 'passwd'), 'utf8')}${readFileSync(join(victims, 'null'), 'utf8')}`;
}
const hostBefore = snapshot();

after(async () => {
  assert.equal(snapshot(), hostBefore, 'a host file or directory aimed at changed');
  const left = await battery.cleanup();
  assert.deepEqual(left, [], 'left behind by the rootfs battery');
});

function assertHostClean(): void {
  assert.deepEqual(battery.newMounts(HOST_TARGETS), [], 'mounts appeared on the host');
  assert.equal(snapshot(), hostBefore, 'a host file or directory aimed at changed');
}

/** relative "../" chain from `from` (a path in the container) up past the root, then `to`. */
function climb(from: string, to: string): string {
  return '../'.repeat(from.split('/').length + 8) + to.replace(/^\//, '');
}

test('symlinked mount targets (absolute, ../ chains, /etc), ".." in destinations: every mount lands inside the rootfs', () => {
  const rootfs = battery.rootfs('targets');
  symlinkSync('/etc', join(rootfs, 'to-etc'));
  symlinkSync(join(victims, 'abs'), join(rootfs, 'to-abs'));
  symlinkSync(climb('/dir/to-dotdot', join(victims, 'dotdot')), join(rootfs, 'to-dotdot'));
  symlinkSync(join(victims, 'bind'), join(rootfs, 'to-bind'));
  mkdirSync(join(rootfs, 'data'));
  writeFileSync(join(rootfs, 'data', 'from-bundle'), 'bound\n');
  const config = battery.config(rootfs, [
    'sh',
    '-c',
    'for d in /to-etc /to-abs /to-dotdot /to-bind; do echo "$d: $(ls $d | xargs)"; done; ' +
      'echo "etc mount: $(grep -c " /etc " /proc/self/mountinfo)"; echo "dotdest: $(ls ' + join(victims, 'dotdest') + ' | xargs)"; ' +
      'touch /to-etc/written-by-container && echo wrote',
  ]);
  config.mounts.push(
    { destination: '/to-etc', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] },
    { destination: '/to-abs', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/to-dotdot', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/to-bind', type: 'bind', source: join(rootfs, 'data'), options: ['rbind', 'ro'] },
    // ".." in the destination itself: cleaned inside the container's root.
    { destination: `/../../../..${join(victims, 'dotdest')}/../dotdest`, type: 'tmpfs', source: 'tmpfs' },
  );
  const r = battery.rt(['run', '--bundle', battery.bundle(config), uniqueId('targets')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // tmpfs mounts are empty; the bind shows the bundle's data: all in the container's own tree.
  assert.deepEqual(lines, ['/to-etc: ', '/to-abs: ', '/to-dotdot: ', '/to-bind: from-bundle', 'etc mount: 1', 'dotdest: ', 'wrote']);
  assertHostClean();
  assert.ok(!readdirSync('/etc').includes('written-by-container'));
});

test('a symlinked /proc is refused as runc does ("must be mounted on ordinary directory"); nothing left', () => {
  for (const target of [join(victims, 'proc'), climb('/proc', join(victims, 'proc')), '/etc']) {
    const rootfs = battery.rootfs('proc');
    rmSync(join(rootfs, 'proc'), { recursive: true });
    symlinkSync(target, join(rootfs, 'proc'));
    const id = uniqueId('proc');
    const r = battery.rtFiles(['create', '--bundle', battery.bundle(battery.config(rootfs, ['true'])), id]);
    assert.equal(r.code, 1, `create accepted /proc -> ${target}`);
    assert.match(r.stderr, /mount proc on \/proc \(proc\): filesystem \\?"proc\\?" must be mounted on ordinary directory/);
    assert.equal(battery.rt(['state', id]).code, 1, 'no state left');
    assertHostClean();
  }
});

test('a symlinked /dev (to /etc/..., to a host directory through ../): devices and /dev mounts all inside', () => {
  for (const target of ['/etc/tsrun-hostile-dev', climb('/dev', '/etc/tsrun-hostile-dev2')]) {
    const rootfs = battery.rootfs('dev');
    rmSync(join(rootfs, 'dev'), { recursive: true });
    symlinkSync(target, join(rootfs, 'dev'));
    const config = battery.config(rootfs, [
      'sh',
      '-c',
      'echo "null: $(stat -c %t:%T /dev/null)"; echo x > /dev/null && echo "devnull ok"; echo "pts: $(grep -c " /etc/tsrun-hostile-dev2\\? " /proc/self/mountinfo)"; ls -A /dev | xargs echo "dev:"',
    ]);
    const r = battery.rt(['run', '--bundle', battery.bundle(config), uniqueId('dev')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['null: 1:3', 'devnull ok'], r.stdout);
    assert.match(lines[3] ?? '', /^dev: .*\bnull\b.*\bpts\b/);
    assert.ok(!readdirSync('/etc').some((n) => n.startsWith('tsrun-hostile-dev')), 'a directory appeared in the host\'s /etc');
    assertHostClean();
  }
});

test('a symlinked /dev/null (to a host file) is refused, not bound over masked paths; nothing left', () => {
  for (const userns of [false, true]) {
    const rootfs = battery.rootfs(`devnull${userns ? '-userns' : ''}`);
    symlinkSync(join(victims, 'null'), join(rootfs, 'dev', 'null'));
    const config = battery.config(rootfs, ['true']);
    // No tmpfs on /dev: the image's own /dev (with its symlink) is the container's.
    config.mounts = config.mounts.filter((m) => !m.destination.startsWith('/dev'));
    if (userns) {
      config.linux.namespaces.push({ type: 'user' });
      config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }
    const id = uniqueId('devnull');
    const r = battery.rtFiles(['create', '--bundle', battery.bundle(config), id]);
    assert.equal(r.code, 1, `create succeeded with /dev/null a symlink to a host file${userns ? ' (userns)' : ''}`);
    assert.match(r.stderr, /\/dev\/null/);
    assert.equal(battery.rt(['state', id]).code, 1, 'no state left');
    assertHostClean();
  }
});

test('a cwd that is a symlink out of the rootfs, and an /etc/passwd that is one to a host file', () => {
  const rootfs = battery.rootfs('cwd');
  symlinkSync(climb('/work', join(victims, 'cwd')), join(rootfs, 'work'));
  rmSync(join(rootfs, 'etc', 'passwd'));
  symlinkSync(join(victims, 'passwd'), join(rootfs, 'etc', 'passwd'));
  const config = battery.config(rootfs, ['sh', '-c', 'echo "pwd=$(pwd) home=$HOME"; ls -A | xargs echo "ls:"; touch ./made-in-cwd && ls -A | xargs echo "ls:"']);
  config.root.readonly = false;
  config.process.cwd = '/work';
  const id = uniqueId('cwd');
  const r = battery.rt(['run', '--bundle', battery.bundle(config), id]);
  assert.equal(r.code, 0, r.stderr);
  // The cwd is the container's own (new, empty) directory at that path, not the host's with its
  // sentinel; HOME does not come from the host file the container's /etc/passwd points at.
  assert.deepEqual(r.stdout.trim().split('\n'), [`pwd=${join(victims, 'cwd')} home=/`, 'ls:', 'ls: made-in-cwd']);

  // exec: --cwd through the same link, -u whose HOME is looked up in the container's passwd.
  const id2 = uniqueId('cwdexec');
  const running = battery.config(rootfs, ['sleep', '1000']);
  assert.equal(battery.rtFiles(['run', '--detach', '--bundle', battery.bundle(running), id2]).code, 0);
  try {
    // (exec does not create its cwd, as runc: the directory the link leads to is made first)
    assert.equal(battery.rt(['exec', id2, 'mkdir', '-p', join(victims, 'cwd')]).code, 0);
    const e = battery.rt(['exec', '--cwd', '/work', '-u', '0', id2, 'sh', '-c', 'echo "pwd=$(pwd) home=$HOME"; touch ./made-by-exec && ls -A | xargs echo "ls:"']);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(e.stdout.trim().split('\n'), [`pwd=${join(victims, 'cwd')} home=/`, 'ls: made-by-exec']);
  } finally {
    battery.rt(['delete', '--force', id2]);
  }
  assertHostClean();
});

test('from inside: masked paths empty, read-only paths EROFS, no_new_privs, exactly the configured capabilities', () => {
  const rootfs = battery.rootfs('inside');
  // (This kernel may lack /proc/kcore and /proc/sysrq-trigger: the paths it has are checked.)
  const script = [
    'for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do [ -e $p ] && echo "$p=$(wc -c < $p)"; done',
    'echo "/sys/firmware=$(ls -A /sys/firmware | wc -l)"',
    'for p in /proc/sys/kernel/ns_last_pid /proc/sysrq-trigger /proc/bus/input/devices /sys/kernel/uevent_helper /x; do [ -e $p ] || [ $p = /x ] && { (echo 1 > $p) 2>&1 | grep -q "Read-only file system" && echo "$p=EROFS" || echo "$p=WRITABLE"; }; done',
    'grep -E "^(NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):" /proc/self/status | tr -d " \\t"',
  ].join('; ');
  const three = '0000000020000420'; // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
  const none = '0000000000000000';
  const cases: Array<{ user: number; inheritable: boolean; caps: Record<string, string> }> = [
    // root: the three in bounding/permitted/effective; ambient needs them inheritable (runc: refused)
    { user: 0, inheritable: false, caps: { CapInh: none, CapPrm: three, CapEff: three, CapBnd: three, CapAmb: none } },
    // another uid loses them at execve unless ambient
    { user: 1000, inheritable: false, caps: { CapInh: none, CapPrm: none, CapEff: none, CapBnd: three, CapAmb: none } },
    { user: 1000, inheritable: true, caps: { CapInh: three, CapPrm: three, CapEff: three, CapBnd: three, CapAmb: three } },
  ];
  for (const c of cases) {
    const config = battery.config(rootfs, ['sh', '-c', script]);
    config.process.user = { uid: c.user, gid: c.user };
    if (c.inheritable) config.process.capabilities.inheritable = [...config.process.capabilities.bounding!];
    const r = battery.rt(['run', '--bundle', battery.bundle(config), uniqueId(`inside${c.user}`)]);
    assert.equal(r.code, 0, r.stderr);
    const out = Object.fromEntries(r.stdout.trim().split(/\n/).map((l) => l.split(/[=:]/) as [string, string]));
    const expected: Record<string, string> = { '/sys/firmware': '0', ...c.caps, NoNewPrivs: '1' };
    for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats']) if (existsSync(p)) expected[p] = '0';
    for (const p of ['/proc/sys/kernel/ns_last_pid', '/proc/sysrq-trigger', '/proc/bus/input/devices', '/sys/kernel/uevent_helper']) if (existsSync(p)) expected[p] = 'EROFS';
    expected['/x'] = 'EROFS'; // root.readonly
    assert.deepEqual(out, expected, `uid ${c.user}${c.inheritable ? ' with inheritable capabilities' : ''}`);
  }
});
