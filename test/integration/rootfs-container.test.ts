// prepareRootfs → enterRootfs → finishRootfs → applySystemSettings for real, as root, on a
// busybox rootfs made by scripts/make-rootfs.sh. Every run happens in a CHILD node process
// (this bundled file re-run with TSRUN_ROOTFS_CHILD, see rootfs-child.ts) that first unshares
// a mount, UTS and IPC namespace; the test process only looks from the host: the host's mount
// table must be the same after every test, and host paths the hostile rootfs points at must be
// untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mount, Spec } from '../../src/spec';
import type { InitConfig } from '../../src/runtime/protocol';
import { defaultSpec } from '../../src/runtime/default-spec';
import { parseMountInfo, cgroupV1Hierarchies, type MountInfo } from '../../src/init/rootfs/mountinfo';
import { need } from '../helpers/need';
import { runRootfsChild, runSharedHost, type ChildJob, type ChildResult, type SharedHostJob, type SharedHostResult } from './rootfs-child';

const CHILD = process.env.TSRUN_ROOTFS_CHILD;
const SHARED_HOST = process.env.TSRUN_ROOTFS_SHARED;

if (CHILD) {
  runRootfsChild(CHILD);
} else if (SHARED_HOST) {
  runSharedHost(SHARED_HOST);
} else {
  registerTests();
}

// ------------------------------------------------------------------------------------------

interface Bundle {
  dir: string;
  rootfs: string;
  cleanup: () => void;
}

/** A temp bundle dir with a fresh busybox rootfs and a data dir / file for bind mounts. */
function makeBundle(): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-rootfs-it-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const rootfs = join(dir, 'rootfs');
    execFileSync('bash', ['scripts/make-rootfs.sh', rootfs], { stdio: ['ignore', 'ignore', 'pipe'] });
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'hello'), 'hi from the host\n');
    writeFileSync(join(dir, 'file.txt'), 'bound file\n');
    return { dir, rootfs, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

function config(b: Bundle, spec: Spec, extra: Partial<Omit<InitConfig, 'kind'>> = {}): InitConfig {
  return {
    kind: 'init',
    id: 'rootfs-it',
    bundle: b.dir,
    rootfs: b.rootfs,
    spec,
    hostPid: 0,
    fifoFd: -1,
    preserveFds: 0,
    noPivot: false,
    noNewKeyring: false,
    ...extra,
  };
}

/** defaultSpec() with the namespaces the child really has (mount, uts, ipc). */
function baseSpec(): Spec {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.hostname = 'rootfs-it';
  spec.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'ipc' }];
  delete spec.linux!.resources;
  return spec;
}

function childEnv(jobFile: string, variable = 'TSRUN_ROOTFS_CHILD'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [variable]: jobFile };
  delete env.NODE_EXTRA_CA_CERTS; // about 140 ms per node start
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

function runChild(b: Bundle, job: ChildJob): ChildResult {
  const jobFile = join(b.dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const r = spawnSync(process.execPath, [__filename], {
    env: childEnv(jobFile),
    encoding: 'utf8',
    timeout: 60000,
    killSignal: 'SIGKILL',
  });
  assert.equal(r.status, 0, `child exited ${r.status} ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as ChildResult;
}

function hostMountTable(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

/** The host mount table must not have changed: shows the lines that did. */
function assertHostMountsUnchanged(before: string): void {
  const after = hostMountTable();
  if (after === before) return;
  const a = new Set(before.split('\n'));
  const b = new Set(after.split('\n'));
  const gone = [...a].filter((l) => !b.has(l));
  const added = [...b].filter((l) => !a.has(l));
  assert.fail(`the host mount table changed\nremoved:\n${gone.join('\n')}\nadded:\n${added.join('\n')}`);
}

function mountAt(mounts: MountInfo[], point: string): MountInfo | undefined {
  // the last one listed is the one on top
  return [...mounts].reverse().find((m) => m.mountPoint === point);
}

function ok(r: ChildResult): void {
  assert.equal(r.error, '', `the child failed in ${r.failedStep}: ${r.error}`);
}

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + '/');
}

function registerTests(): void {
  test('needs root and busybox', () => {
    need(process.getuid?.() === 0, 'root');
    need(existsSync('/bin/busybox'), '/bin/busybox (busybox-static)');
  });

  test('default spec + binds, tmpfs ro, propagation, rro, sysctl: the container as seen from inside', () => {
    const b = makeBundle();
    const hostMounts = hostMountTable();
    const hostMsgmax = readFileSync('/proc/sys/kernel/msgmax', 'utf8');
    const hostName = hostname();
    try {
      const spec = baseSpec();
      spec.domainname = 'example.test';
      spec.linux!.sysctl = { 'kernel.msgmax': '12345' };
      const extra: Mount[] = [
        { destination: '/data', type: 'bind', source: join(b.dir, 'data'), options: ['rbind', 'ro', 'nosuid'] },
        { destination: '/etc/bound.txt', source: 'file.txt', options: ['bind'] }, // relative to the bundle, no type
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid', 'mode=700'] },
        { destination: '/shared', type: 'tmpfs', source: 'tmpfs', options: ['rshared'] },
        { destination: '/data2', type: 'none', source: join(b.dir, 'data'), options: ['rbind', 'rro'] },
      ];
      spec.mounts = [...spec.mounts!, ...extra];
      const r = runChild(b, {
        config: config(b, spec),
        probes: {
          ls: ['ls', '/'],
          devls: ['ls', '-A', '/dev'],
          devnull: ['stat', '-c', '%F %t:%T %a', '/dev/null'],
          tty: ['stat', '-c', '%F %t:%T %a', '/dev/tty'],
          ptmx: ['readlink', '/dev/ptmx'],
          fd: ['readlink', '/dev/fd'],
          stderr: ['readlink', '/dev/stderr'],
          hostname: ['hostname'],
          domainname: ['cat', '/proc/sys/kernel/domainname'],
          msgmax: ['cat', '/proc/sys/kernel/msgmax'],
          keys: ['sh', '-c', 'wc -c < /proc/keys'],
          firmware: ['ls', '-A', '/sys/firmware'],
          writeProcSys: ['sh', '-c', 'echo 1 > /proc/sys/kernel/msgmax'],
          writeRoot: ['touch', '/newfile'],
          writeData: ['touch', '/data/new'],
          readData: ['cat', '/data/hello'],
          boundFile: ['cat', '/etc/bound.txt'],
          writeScratch: ['touch', '/scratch/new'],
          scratchMode: ['stat', '-c', '%a', '/scratch'],
          writeShm: ['touch', '/dev/shm/new'],
          writeData2: ['touch', '/data2/new'],
          cgroups: ['ls', '/sys/fs/cgroup'],
          writeCgroup: ['mkdir', '/sys/fs/cgroup/x'],
        },
      });
      ok(r);
      const inside = parseMountInfo(r.mountinfo);
      const p = r.probes;

      // the new root: the busybox tree, exactly one "/" and nothing of the old root
      assert.deepEqual(p.ls!.stdout.split(/\s+/).filter(Boolean).sort(), [
        'bin', 'data', 'data2', 'dev', 'etc', 'home', 'proc', 'root', 'run', 'sbin', 'scratch', 'shared', 'sys', 'tmp', 'usr', 'var',
      ]);
      assert.equal(inside.filter((m) => m.mountPoint === '/').length, 1, r.mountinfo);
      const allowed = ['/proc', '/dev', '/sys', '/data', '/data2', '/etc/bound.txt', '/scratch', '/shared'];
      for (const m of inside) {
        assert.ok(m.mountPoint === '/' || allowed.some((d) => within(m.mountPoint, d)), `unexpected mount ${m.mountPoint}:\n${r.mountinfo}`);
      }
      // (the root field of "/" names the rootfs directory on its filesystem: that is expected)
      assert.ok(!inside.some((m) => m.mountPoint.includes(b.dir)), `the host path ${b.dir} shows inside:\n${r.mountinfo}`);
      assert.equal(mountAt(inside, '/')!.options.includes('ro'), true, 'root.readonly');

      // mounts of the default spec, with their options
      assert.equal(mountAt(inside, '/proc')!.fstype, 'proc');
      const dev = mountAt(inside, '/dev')!;
      assert.equal(dev.fstype, 'tmpfs');
      assert.ok(dev.options.includes('nosuid') && !dev.options.includes('ro'));
      assert.ok(dev.superOptions.includes('mode=755'), dev.superOptions.join(','));
      const pts = mountAt(inside, '/dev/pts')!;
      assert.equal(pts.fstype, 'devpts');
      assert.ok(pts.superOptions.includes('ptmxmode=666') && pts.superOptions.includes('mode=620') && pts.superOptions.includes('gid=5'), pts.superOptions.join(','));
      assert.equal(mountAt(inside, '/dev/mqueue')!.fstype, 'mqueue');
      const sys = mountAt(inside, '/sys')!;
      assert.equal(sys.fstype, 'sysfs');
      assert.ok(sys.options.includes('ro'));

      // devices and /dev links
      assert.equal(p.devnull!.stdout.trim(), 'character special file 1:3 666');
      assert.equal(p.tty!.stdout.trim(), 'character special file 5:0 666');
      for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr', 'pts', 'shm', 'mqueue']) {
        assert.ok(p.devls!.stdout.split(/\s+/).includes(d), `/dev/${d} missing: ${p.devls!.stdout}`);
      }
      assert.equal(p.ptmx!.stdout.trim(), 'pts/ptmx');
      assert.equal(p.fd!.stdout.trim(), '/proc/self/fd');
      assert.equal(p.stderr!.stdout.trim(), '/proc/self/fd/2');

      // masked and read-only paths
      assert.equal(p.keys!.stdout.trim(), '0', 'masked /proc/keys reads empty');
      assert.equal(mountAt(inside, '/proc/keys')!.root, '/null', '/proc/keys masked by the container /dev/null');
      // /dev/core -> /proc/kcore only when the kernel has a /proc/kcore (as runc)
      assert.equal(p.devls!.stdout.split(/\s+/).includes('core'), existsSync('/proc/kcore'));
      assert.equal(p.firmware!.stdout, '', 'masked /sys/firmware is empty');
      assert.equal(mountAt(inside, '/sys/firmware')!.fstype, 'tmpfs');
      assert.ok(mountAt(inside, '/sys/firmware')!.options.includes('ro'));
      assert.notEqual(p.writeProcSys!.status, 0);
      assert.match(p.writeProcSys!.stderr, /Read-only file system/);
      const procSys = mountAt(inside, '/proc/sys')!;
      assert.ok(procSys.options.includes('ro'), procSys.options.join(','));

      // system settings
      assert.equal(p.hostname!.stdout.trim(), 'rootfs-it');
      assert.equal(p.domainname!.stdout.trim(), 'example.test');
      assert.equal(p.msgmax!.stdout.trim(), '12345', 'sysctl written before /proc/sys became read-only');

      // extra mounts
      assert.notEqual(p.writeRoot!.status, 0);
      assert.match(p.writeRoot!.stderr, /Read-only file system/);
      assert.equal(p.readData!.stdout, 'hi from the host\n');
      assert.notEqual(p.writeData!.status, 0, 'ro bind is read-only');
      assert.match(p.writeData!.stderr, /Read-only file system/);
      const data = mountAt(inside, '/data')!;
      assert.ok(data.options.includes('ro') && data.options.includes('nosuid'), data.options.join(','));
      assert.equal(p.boundFile!.stdout, 'bound file\n');
      assert.notEqual(p.writeScratch!.status, 0, 'tmpfs ro (remounted after pivot)');
      assert.equal(p.scratchMode!.stdout.trim(), '700');
      assert.equal(p.writeShm!.status, 0, `/dev/shm is writable: ${p.writeShm!.stderr}`);
      assert.ok(mountAt(inside, '/shared')!.optional.some((o) => o.startsWith('shared:')), 'rshared applied');
      assert.notEqual(p.writeData2!.status, 0, 'rro applied with mount_setattr');
      assert.ok(mountAt(inside, '/data2')!.options.includes('ro'));

      // cgroups: one read-only mount per host hierarchy (v1) under a read-only tmpfs
      const hostHier = cgroupV1Hierarchies(parseMountInfo(hostMounts));
      if (hostHier.length > 0) {
        assert.equal(mountAt(inside, '/sys/fs/cgroup')!.fstype, 'tmpfs');
        assert.ok(mountAt(inside, '/sys/fs/cgroup')!.options.includes('ro'));
        for (const h of hostHier) {
          const m = mountAt(inside, `/sys/fs/cgroup/${h.name}`);
          assert.ok(m, `cgroup hierarchy ${h.name} missing:\n${r.mountinfo}`);
          assert.equal(m.fstype, 'cgroup');
          assert.ok(m.options.includes('ro'), `${h.name}: ${m.options.join(',')}`);
          assert.ok(p.cgroups!.stdout.split(/\s+/).includes(h.name));
        }
      } else {
        assert.equal(mountAt(inside, '/sys/fs/cgroup')!.fstype, 'cgroup2');
      }
      assert.notEqual(p.writeCgroup!.status, 0);

      // the host: same mounts, hostname and sysctl value
      assertHostMountsUnchanged(hostMounts);
      assert.equal(hostname(), hostName);
      assert.equal(readFileSync('/proc/sys/kernel/msgmax', 'utf8'), hostMsgmax);
    } finally {
      b.cleanup();
    }
  });

  test('hostile rootfs: symlinks out of the rootfs are resolved inside it; host paths untouched', () => {
    const b = makeBundle();
    const outside = mkdtempSync('/tmp/host-target-OUTSIDE-');
    const missingOutside = `/tmp/host-missing-OUTSIDE-${process.pid}-${Date.now()}`;
    const hostMounts = hostMountTable();
    const hostEtc = readdirSync('/etc').sort();
    try {
      writeFileSync(join(outside, 'marker'), 'host\n');
      // (proc and sysfs themselves are refused on a symlink, as runc: hostile-rootfs.test.ts)
      symlinkSync('/../../etc', join(b.rootfs, 'p'));
      symlinkSync(outside, join(b.rootfs, 'x'));
      symlinkSync(missingOutside, join(b.rootfs, 'y'));
      symlinkSync('../../../../../../etc', join(b.rootfs, 'z'));
      const spec = baseSpec();
      spec.mounts = [
        { destination: '/z/tsrun-hostile', type: 'tmpfs', source: 'tmpfs' },
        ...spec.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup'),
        { destination: '/x', type: 'bind', source: join(b.dir, 'data'), options: ['rbind'] },
        { destination: '/y/sub', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/p', type: 'tmpfs', source: 'tmpfs', options: ['mode=711'] },
      ];
      const r = runChild(b, {
        config: config(b, spec),
        probes: { etcMode: ['stat', '-c', '%a', '/etc'], xHello: ['cat', `${outside}/hello`], y: ['ls', '-d', `${missingOutside}/sub`] },
      });
      ok(r);
      const inside = parseMountInfo(r.mountinfo);
      // inside: the tmpfs for /p is on the rootfs's /etc, the binds on directories made inside the rootfs
      assert.equal(mountAt(inside, '/etc')?.fstype, 'tmpfs', r.mountinfo);
      assert.equal(r.probes.etcMode!.stdout.trim(), '711');
      assert.equal(r.probes.xHello!.stdout, 'hi from the host\n');
      assert.ok(mountAt(inside, outside), `no mount at ${outside} inside:\n${r.mountinfo}`);
      assert.equal(mountAt(inside, `${missingOutside}/sub`)?.fstype, 'tmpfs');
      assert.equal(r.probes.y!.status, 0);

      // host: nothing mounted, created or changed outside the rootfs
      assertHostMountsUnchanged(hostMounts);
      assert.deepEqual(readdirSync(outside), ['marker']);
      assert.equal(readFileSync(join(outside, 'marker'), 'utf8'), 'host\n');
      assert.equal(existsSync(missingOutside), false, `${missingOutside} was created on the host`);
      assert.deepEqual(readdirSync('/etc').sort(), hostEtc);
      assert.equal(existsSync('/etc/tsrun-hostile'), false);
      // ...and the rootfs got them instead
      assert.ok(statSync(join(b.rootfs, 'etc', 'tsrun-hostile')).isDirectory());
      assert.ok(statSync(join(b.rootfs, outside)).isDirectory());
      assert.ok(statSync(join(b.rootfs, missingOutside, 'sub')).isDirectory());
      assert.ok(lstatSync(join(b.rootfs, 'p')).isSymbolicLink());
    } finally {
      rmSync(outside, { recursive: true, force: true });
      rmSync(missingOutside, { recursive: true, force: true });
      b.cleanup();
    }
  });

  test('errors name the mount and the in-container destination; nothing leaks to the host', () => {
    const cases: Array<{ mount: Mount; message: RegExp; code?: string }> = [
      {
        mount: { destination: '/weird', type: 'nosuchfs', source: 'none' },
        message: /^mount none on \/weird \(nosuchfs\): ENODEV: No such device$/,
        code: 'ENODEV',
      },
      {
        mount: { destination: '/m', type: 'bind', source: '/nonexistent-tsrun-src', options: ['bind'] },
        message: /^mount \/nonexistent-tsrun-src on \/m \(bind\): source \/nonexistent-tsrun-src: ENOENT/,
        code: 'ENOENT',
      },
      {
        mount: { destination: '/proc/sys/kernel/hostname', type: 'bind', source: 'file.txt', options: ['bind'] },
        message: /^mount file\.txt on \/proc\/sys\/kernel\/hostname \(bind\): "\/proc\/sys\/kernel\/hostname" cannot be mounted because it is inside \/proc$/,
      },
      {
        mount: { destination: '/proc', type: 'tmpfs', source: 'tmpfs' },
        message: /^mount tmpfs on \/proc \(tmpfs\): "\/proc" cannot be mounted because it is not of type proc$/,
      },
    ];
    for (const c of cases) {
      const b = makeBundle();
      const hostMounts = hostMountTable();
      try {
        const spec = baseSpec();
        spec.mounts = [...spec.mounts!, c.mount];
        const r = runChild(b, { config: config(b, spec), probes: {} });
        assert.equal(r.failedStep, 'prepareRootfs', r.error);
        assert.match(r.error, c.message);
        if (c.code) assert.equal(r.errorCode, c.code);
        assertHostMountsUnchanged(hostMounts);
      } finally {
        b.cleanup();
      }
    }
  });

  test('--no-pivot: MS_MOVE + chroot; the host procfs is not reachable', () => {
    const b = makeBundle();
    const hostMounts = hostMountTable();
    try {
      const spec = baseSpec();
      spec.root!.readonly = false;
      const r = runChild(b, {
        config: config(b, spec, { noPivot: true }),
        probes: { hostname: ['hostname'], devnull: ['stat', '-c', '%F %t:%T', '/dev/null'], keys: ['sh', '-c', 'wc -c < /proc/keys'], touch: ['touch', '/newfile'] },
      });
      ok(r);
      const inside = parseMountInfo(r.mountinfo);
      assert.equal(inside.filter((m) => m.mountPoint === '/').length, 1, r.mountinfo);
      // chroot: mounts outside the new root are not listed; none of the host's shows
      for (const m of inside) assert.ok(!m.mountPoint.includes(b.dir) && !m.mountPoint.startsWith('/mnt'), r.mountinfo);
      assert.equal(r.probes.hostname!.stdout.trim(), 'rootfs-it');
      assert.equal(r.probes.devnull!.stdout.trim(), 'character special file 1:3');
      assert.equal(r.probes.keys!.stdout.trim(), '0');
      assert.equal(r.probes.touch!.status, 0, r.probes.touch!.stderr);
      assert.ok(existsSync(join(b.rootfs, 'newfile')), 'the container root is the rootfs');
      assertHostMountsUnchanged(hostMounts);
    } finally {
      b.cleanup();
    }
  });

  test('user namespace in the spec: device nodes are bind mounts of the host nodes', () => {
    const b = makeBundle();
    const hostMounts = hostMountTable();
    try {
      const spec = baseSpec();
      // The child cannot create a user namespace (Node is multi-threaded), but the spec asking
      // for one is what selects the bind-mount path, which is what is tested here.
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o600 }];
      const r = runChild(b, {
        config: config(b, spec),
        probes: { devnull: ['stat', '-c', '%F %t:%T', '/dev/null'], kmsg: ['stat', '-c', '%F %t:%T', '/dev/kmsg'], zero: ['sh', '-c', 'head -c 4 /dev/zero | wc -c'] },
      });
      ok(r);
      const inside = parseMountInfo(r.mountinfo);
      for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'kmsg']) {
        const m = mountAt(inside, `/dev/${d}`);
        assert.ok(m, `/dev/${d} is not a bind mount:\n${r.mountinfo}`);
        assert.equal(m.root, `/${d}`);
      }
      assert.equal(r.probes.devnull!.stdout.trim(), 'character special file 1:3');
      assert.equal(r.probes.kmsg!.stdout.trim(), 'character special file 1:b');
      assert.equal(r.probes.zero!.stdout.trim(), '4');
      assertHostMountsUnchanged(hostMounts);
    } finally {
      b.cleanup();
    }
  });

  for (const propagation of [undefined, 'rshared', 'slave'] as const) {
    test(`propagation (${propagation ?? 'default rprivate'}): no mount reaches a namespace sharing the rootfs's mount`, () => {
      const b = makeBundle();
      const hostMounts = hostMountTable();
      try {
        const spec = baseSpec();
        if (propagation) spec.linux!.rootfsPropagation = propagation;
        spec.mounts = [...spec.mounts!, { destination: '/data', type: 'bind', source: join(b.dir, 'data'), options: ['rbind', 'ro'] }];
        const job: SharedHostJob = {
          dir: b.dir,
          self: __filename,
          job: { config: config(b, spec), probes: { hostname: ['hostname'], data: ['cat', '/data/hello'] } },
        };
        const jobFile = join(b.dir, 'shared-job.json');
        writeFileSync(jobFile, JSON.stringify(job));
        const r = spawnSync(process.execPath, [__filename], { env: childEnv(jobFile, 'TSRUN_ROOTFS_SHARED'), encoding: 'utf8', timeout: 90000, killSignal: 'SIGKILL' });
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        assert.ok(line, r.stdout + r.stderr);
        const res = JSON.parse(line.slice('RESULT '.length)) as SharedHostResult;
        assert.equal(res.error, '');
        assert.ok(res.inner, `no result from the inner child: ${res.innerStderr}`);
        ok(res.inner);
        assert.equal(res.inner.probes.hostname!.stdout.trim(), 'rootfs-it');
        assert.equal(res.inner.probes.data!.stdout, 'hi from the host\n');
        assert.deepEqual(res.added, [], 'mounts propagated out of the container');
        assert.deepEqual(res.removed, [], 'unmounts propagated out of the container');
        assertHostMountsUnchanged(hostMounts);
      } finally {
        b.cleanup();
      }
    });
  }
}
