// --systemd-cgroup against a REAL systemd (/usr/lib/systemd/systemd, 252 on Debian 12): systemd
// runs as PID 1 of a tsrun container (its own pid, mount, network, ipc, uts and cgroup
// namespaces; /usr, /etc and this repository bound read-only from the host; tmpfs /run, /tmp,
// /var; the host's cgroup hierarchies as its own, through the cgroup namespace), booted into a
// target that starts nothing but the manager. tsrun is then run inside that container with
// `exec`, and creates containers through systemd's private socket /run/systemd/private: the
// scope, its properties as systemd reports them (systemctl show), the cgroup directories and
// files in every hierarchy, update, pause, exec, delete and the unit's removal are checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir, tsrun, tsrunToFiles, uniqueId, type Result } from '../helpers/tsrun';
import { busyboxRootfs, stateRoot } from '../helpers/bundle';
import { need } from '../helpers/need';
import { waitFor } from '../helpers/wait';
import { detectLayout } from '../../src/cgroups/layout';
import { cgroupConfig } from '../helpers/cgroups';

const SYSTEMD = '/usr/lib/systemd/systemd';
const root = stateRoot('systemd-real');
const OUTER = uniqueId('systemd');
const OUTER_CGROUP = `/tsrun-test-systemd-${process.pid}`;
const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
/** A pure cgroup v2 host (the VM lane, scripts/vm), else this machine's v1 hybrid layout. */
const V2 = layout.mode === 'v2';
const work = tempDir('systemd-real');

/** The capabilities this runtime holds (the container may not have more). */
function heldCapabilities(): string[] {
  const names = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'];
  const bnd = BigInt('0x' + /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  return names.filter((_, i) => (bnd >> BigInt(i)) & 1n).map((n) => `CAP_${n}`);
}

/** The bundle of the container systemd boots in. */
function systemdBundle(): string {
  const dir = join(work.path, 'outer');
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  for (const [name, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']] as const) symlinkSync(target, join(rootfs, name));
  for (const d of ['usr', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'var', 'root', 'inner', REPO.slice(1)]) mkdirSync(join(rootfs, d), { recursive: true });
  const units = join(dir, 'units');
  mkdirSync(units);
  writeFileSync(join(units, 'tsrun-test.target'), '[Unit]\nDescription=tsrun test boot: the manager and nothing else\nDefaultDependencies=no\n');
  // The bundle tsrun runs inside (its config.json is written by each test), with busybox as rootfs.
  mkdirSync(join(work.path, 'inner', 'rootfs'), { recursive: true });
  const caps = heldCapabilities();
  const ro = ['rbind', 'ro'];
  const config = {
    ociVersion: '1.3.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [SYSTEMD, '--unit=tsrun-test.target', '--show-status=no'],
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'container=tsrun'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'systemd-test',
    mounts: [
      { destination: '/usr', type: 'bind', source: '/usr', options: ro },
      { destination: '/etc', type: 'bind', source: '/etc', options: ro },
      { destination: REPO, type: 'bind', source: REPO, options: ro },
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'rw'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
      { destination: '/run/systemd/system', type: 'bind', source: units, options: ro },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      { destination: '/var', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
      { destination: '/inner', type: 'bind', source: join(work.path, 'inner'), options: ro },
      { destination: '/inner/rootfs', type: 'bind', source: busyboxRootfs(), options: ro },
    ],
    linux: {
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      cgroupsPath: OUTER_CGROUP,
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/**
 * A command in the systemd container (stdio to files: a container created in there keeps the
 * stdio it was given, and a pipe would stay open).
 */
const inSystemd = (args: string[]): Result => tsrunToFiles(['--root', root, 'exec', OUTER, ...args], { timeout: 120_000 });
/** tsrun inside the systemd container, with its own state root there. */
const inner = (args: string[]): Result => inSystemd([join(REPO, 'bin', 'tsrun'), '--root', '/run/tsrun-inner', ...args]);
const sh = (script: string): string => {
  const r = inSystemd(['/bin/sh', '-c', script]);
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  return r.stdout;
};
/** systemctl show: property → value. */
function show(unit: string, props: string[]): Record<string, string> {
  const r = inSystemd(['/usr/bin/systemctl', 'show', unit, '--no-pager', ...props.map((p) => `--property=${p}`)]);
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
function innerBundle(cgroupsPath: string | undefined, resources?: object): void {
  const c = cgroupConfig(['sleep', '1000'], cgroupsPath, resources);
  c.root = { path: '/inner/rootfs', readonly: true };
  writeFileSync(join(work.path, 'inner', 'config.json'), JSON.stringify(c));
}

before(async () => {
  need(existsSync(SYSTEMD), `${SYSTEMD} (Debian package systemd)`);
  need(layout.mode !== 'v1', 'a cgroup2 hierarchy (v2 or hybrid) for systemd 252');
  const bundle = systemdBundle();
  const created = tsrunToFiles(['--root', root, 'create', '--bundle', bundle, OUTER]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(tsrun(['--root', root, 'start', OUTER]).code, 0);
  const pid = (JSON.parse(tsrun(['--root', root, 'state', OUTER]).stdout) as { pid: number }).pid;
  // Booted: the private socket exists and the manager says it is running.
  await waitFor(() => existsSync(`/proc/${pid}/root/run/systemd/private`), 'systemd private socket', 120_000);
  await waitFor(() => /^(running|degraded)$/m.test(inSystemd(['/usr/bin/systemctl', 'is-system-running']).stdout), 'systemd running', 120_000);
});

after(() => {
  try {
    if (existsSync(join(root, OUTER))) {
      for (const id of inner(['list', '-q']).stdout.split('\n').filter((l) => l !== '')) inner(['delete', '--force', id]);
    }
  } finally {
    const r = tsrun(['--root', root, 'delete', '--force', OUTER]);
    work.cleanup();
    assert.equal(r.code, 0, r.stderr);
    const mounts = [...layout.v1.map((h) => h.mountPoint), ...(layout.unified ? [layout.unified.mountPoint] : [])];
    assert.deepEqual(mounts.filter((m) => existsSync(join(m, OUTER_CGROUP))), [], 'the systemd container cgroup is left behind');
    assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  }
});

test('systemd 252 as PID 1 makes the scope with the init, takes the limits, and removes it at delete', () => {
  const id = uniqueId('scope');
  const unit = `tsrun-${id}.scope`;
  innerBundle(`system.slice:tsrun:${id}`, { memory: { limit: 64 << 20 }, pids: { limit: 42 }, cpu: { shares: 512, quota: 50_000, period: 100_000 } });
  const run = inner(['--systemd-cgroup', 'run', '--detach', '--bundle', '/inner', id]);
  assert.equal(run.code, 0, run.stderr);
  const pid = (JSON.parse(inner(['state', id]).stdout) as { pid: number }).pid;

  // What systemd says about the unit (v1: MemoryLimit/CPUShares; v2: MemoryMax/CPUWeight).
  const memProp = V2 ? 'MemoryMax' : 'MemoryLimit';
  const p = show(unit, ['ActiveState', 'Slice', 'ControlGroup', 'Delegate', memProp, 'TasksMax', V2 ? 'CPUWeight' : 'CPUShares', 'CPUQuotaPerSecUSec', 'DevicePolicy', 'Description']);
  assert.equal(p.ActiveState, 'active');
  assert.equal(p.Slice, 'system.slice');
  assert.equal(p.ControlGroup, `/system.slice/${unit}`);
  assert.equal(p.Delegate, 'yes');
  assert.equal(p[memProp], String(64 << 20));
  assert.equal(p.TasksMax, '42');
  if (V2) assert.equal(p.CPUWeight, '20', 'shares 512 as a weight');
  else assert.equal(p.CPUShares, '512');
  assert.equal(p.CPUQuotaPerSecUSec, '500ms');
  assert.equal(p.DevicePolicy, 'strict');
  assert.equal(p.Description, `tsrun container ${id}`);

  // The init in the unit's directory of every hierarchy (systemd's and, on v1, those tsrun's
  // file driver made), the limits in the files.
  const dir = (h: string) => (V2 ? `/sys/fs/cgroup/system.slice/${unit}` : `/sys/fs/cgroup/${h}/system.slice/${unit}`);
  const hierarchies = V2 ? [''] : ['systemd', 'memory', 'pids', 'cpu', 'cpuset', 'devices', 'freezer', 'blkio', ...(layout.unified ? ['unified'] : [])];
  for (const h of hierarchies) {
    assert.deepEqual(sh(`cat ${dir(h)}/cgroup.procs`).trim().split('\n'), [String(pid)], `${h || 'cgroup2'}: the init`);
  }
  const file = (h: string, f: string) => sh(`cat ${dir(h)}/${f}`).trim();
  if (V2) {
    assert.equal(file('', 'memory.max'), String(64 << 20));
    assert.equal(file('', 'pids.max'), '42');
    assert.equal(file('', 'cpu.max'), '50000 100000');
    assert.equal(file('', 'cpu.weight'), '20');
  } else {
    assert.equal(file('memory', 'memory.limit_in_bytes'), String(64 << 20));
    assert.equal(file('pids', 'pids.max'), '42');
    assert.equal(file('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(file('cpu', 'cpu.shares'), '512');
    assert.match(file('devices', 'devices.list'), /^c 136:\* rwm$/m);
  }

  // exec joins the scope; update goes through systemd and the files; pause/resume.
  const cg = inner(['exec', id, 'cat', '/proc/self/cgroup']);
  assert.equal(cg.code, 0, cg.stderr);
  assert.match(cg.stdout, new RegExp(`^\\d+:${V2 ? '' : 'memory'}:/system\\.slice/${unit.replace(/\./g, '\\.')}$`, 'm'));
  const upd = inner(['update', '--memory', String(128 << 20), '--pids-limit', '77', id]);
  assert.equal(upd.code, 0, upd.stderr);
  assert.deepEqual(show(unit, [memProp, 'TasksMax']), { [memProp]: String(128 << 20), TasksMax: '77' });
  assert.equal(V2 ? file('', 'memory.max') : file('memory', 'memory.limit_in_bytes'), String(128 << 20));
  assert.equal(inner(['pause', id]).code, 0);
  if (V2) assert.equal(file('', 'cgroup.freeze'), '1');
  else assert.equal(file('freezer', 'freezer.state'), 'FROZEN');
  assert.equal(JSON.parse(inner(['state', id]).stdout).status, 'paused');
  assert.equal(inner(['resume', id]).code, 0);
  const stats = inner(['events', '--stats', id]);
  assert.equal(JSON.parse(stats.stdout).data.pids.limit, 77);

  // delete: the unit is gone from systemd and every directory with it.
  const del = inner(['delete', '--force', id]);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(show(unit, ['LoadState']).LoadState, 'not-found');
  assert.equal(sh(`ls -d /sys/fs/cgroup/system.slice/${unit} /sys/fs/cgroup/*/system.slice/${unit} 2>/dev/null || true`).trim(), '');
});

test('no cgroupsPath: system.slice/tsrun-ID.scope; a nested slice of our own; a bad slice is refused before anything starts', () => {
  const id = uniqueId('dflt');
  innerBundle(undefined);
  const created = inner(['--systemd-cgroup', 'create', '--bundle', '/inner', id]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(show(`tsrun-${id}.scope`, ['ControlGroup']).ControlGroup, `/system.slice/tsrun-${id}.scope`);
  const del = inner(['delete', id]);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(show(`tsrun-${id}.scope`, ['LoadState']).LoadState, 'not-found');

  const id2 = uniqueId('nested');
  innerBundle(`tsrun-test.slice:tsrun:${id2}`, { pids: { limit: 9 } });
  const run = inner(['--systemd-cgroup', 'run', '--detach', '--bundle', '/inner', id2]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(show(`tsrun-${id2}.scope`, ['ControlGroup']).ControlGroup, `/tsrun.slice/tsrun-test.slice/tsrun-${id2}.scope`);
  assert.equal(sh(`cat /sys/fs/cgroup/${V2 ? '' : 'pids/'}tsrun.slice/tsrun-test.slice/tsrun-${id2}.scope/pids.max`).trim(), '9');
  assert.equal(inner(['delete', '--force', id2]).code, 0);
  assert.equal(sh(`ls -d /sys/fs/cgroup/tsrun.slice/tsrun-test.slice/tsrun-${id2}.scope /sys/fs/cgroup/*/tsrun.slice/tsrun-test.slice/tsrun-${id2}.scope 2>/dev/null || true`).trim(), '');

  const id3 = uniqueId('bad');
  innerBundle('no-dots:tsrun:x');
  const bad = inner(['--systemd-cgroup', 'create', '--bundle', '/inner', id3]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /slice: invalid slice name/);
});
