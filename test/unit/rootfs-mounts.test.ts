// prepareRootfs / mountEntry on FakeSyscalls + an in-memory tree (rootfs-tree.ts): which
// mount(2) calls the OCI mount options become, in which order, on which (re-opened) fds, and
// what is created inside the rootfs. Nothing here touches the real system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSyscalls } from '../../src/linux/fake';
import * as C from '../../src/linux/constants';
import { makedev } from '../../src/linux/syscalls';
import type { Mount, Spec } from '../../src/spec';
import type { InitConfig } from '../../src/runtime/protocol';
import { enterRootfs, prepareRootfs } from '../../src/init/rootfs';
import type { HostEnv } from '../../src/init/rootfs/env';
import { FakeTree, fakeHostEnv, mounts, type TreeNode } from './rootfs-tree';

const ROOTFS = '/b/rootfs';
const P = (s: string): string => ROOTFS + s; // host path of a container path

/** Sources named *.txt are files, *missing* do not exist, the rest are directories. */
function env(over: Partial<HostEnv> = {}): HostEnv {
  return fakeHostEnv({
    sourceKind: (p) => {
      if (p.includes('missing')) throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${p}'`), { code: 'ENOENT' });
      return p.endsWith('.txt') ? 'file' : 'dir';
    },
    ...over,
  });
}

function spec(mounts: Mount[], over: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    mounts,
    linux: { namespaces: [{ type: 'mount' }] },
    ...over,
  };
}

function config(s: Spec): InitConfig {
  return {
    kind: 'init',
    id: 'c1',
    bundle: '/b',
    rootfs: ROOTFS,
    spec: s,
    hostPid: 1,
    fifoFd: 3,
    preserveFds: 0,
    noPivot: false,
    noNewKeyring: false,
  };
}

/** A fake system with a rootfs holding proc, dev, sys, etc, tmp (plus `extra`). */
function setup(extra: Record<string, TreeNode> = {}): { sys: FakeSyscalls; tree: FakeTree } {
  const sys = new FakeSyscalls();
  const tree = new FakeTree(sys, {
    [P('/proc')]: { type: 'dir', mode: 0o555 },
    [P('/dev')]: { type: 'dir' },
    [P('/sys')]: { type: 'dir' },
    [P('/etc')]: { type: 'dir' },
    [P('/tmp')]: { type: 'dir', mode: 0o1777 },
    '/b/data': { type: 'dir' },
    '/dev/null': { type: 'node', mode: C.S_IFCHR | 0o666, rdev: makedev(1, 3) },
    ...extra,
  });
  return { sys, tree };
}

/** Runs prepareRootfs with /dev set up elsewhere (a /dev bind), so only `ms` are mounted. */
function prepareOnly(ms: Mount[], over: Partial<Spec> = {}, e: Partial<HostEnv> = {}, extra: Record<string, TreeNode> = {}) {
  const { sys, tree } = setup(extra);
  const devBind: Mount = { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] };
  prepareRootfs(sys, config(spec([devBind, ...ms], over)), env(e));
  return { sys, tree, calls: mounts(tree).slice(3) }; // after: propagation of /, rootfs bind, /dev bind
}

function noLeaks(sys: FakeSyscalls, tree: FakeTree): void {
  assert.equal(sys.openFds.size, 0, `fds left open: ${[...sys.openFds].map((fd) => `${fd}=${tree.fdPath.get(fd)}`).join(' ')}`);
  assert.equal(tree.badCloses, 0, 'an fd was closed twice');
}

test('prepareRootfs: / made rprivate, the rootfs bound onto itself, then each mount in order through /proc/self/fd', () => {
  const { sys, tree } = setup();
  const s = spec([
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ]);
  prepareRootfs(sys, config(s), env());
  const m = mounts(tree);
  assert.deepEqual(m.slice(0, 6), [
    [null, '/', null, C.MS_REC | C.MS_PRIVATE, null],
    [ROOTFS, ROOTFS, null, C.MS_BIND | C.MS_REC, null],
    ['proc', P('/proc'), 'proc', 0, null],
    ['sysfs', P('/sys'), 'sysfs', C.MS_NOSUID | C.MS_NOEXEC | C.MS_NODEV | C.MS_RDONLY, null],
    ['devpts', P('/dev/pts'), 'devpts', C.MS_NOSUID | C.MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5'],
    ['mqueue', P('/dev/mqueue'), 'mqueue', C.MS_NOSUID | C.MS_NOEXEC | C.MS_NODEV, null],
  ]);
  // every mount target was a /proc/self/fd path of an fd resolved IN_ROOT from the rootfs fd
  for (const args of sys.callsTo('mount').slice(2, 6)) assert.match(args[1] as string, /^\/proc\/self\/fd\/\d+$/);
  const rootFd = sys.callsTo('open').find((a) => a[0] === ROOTFS)!;
  assert.equal(rootFd[1], C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC);
  // proc and sysfs: the destination itself is looked at first without following it (never
  // mounted through a symlink, as runc), then resolved in the root.
  const [look, first] = sys.callsTo('openat2');
  assert.equal(look![1], 'proc');
  assert.equal(look![2], C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC);
  assert.equal(first![1], 'proc');
  assert.equal(first![2], C.O_PATH | C.O_CLOEXEC);
  assert.equal(first![3], C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS);
  // the rootfs fd is opened only after the self-bind (else it would see the mount below)
  const names = sys.names();
  assert.ok(names.indexOf('open') > names.indexOf('mount'));
  // missing mount points were created inside the rootfs with mkdirat
  assert.equal(tree.nodes.get(P('/dev/pts'))?.type, 'dir');
  assert.equal(tree.nodes.get(P('/dev/mqueue'))?.type, 'dir');
  noLeaks(sys, tree);
});

test('bind with ro,nosuid: MS_BIND first, then MS_BIND|MS_REMOUNT with the flags on the re-opened mount', () => {
  const { sys, tree, calls } = prepareOnly([{ destination: '/data', type: 'bind', source: '/b/data', options: ['rbind', 'ro', 'nosuid'] }]);
  assert.deepEqual(calls, [
    ['/b/data', P('/data'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/data'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID, null],
  ]);
  // the remount targets a new fd opened after the mount (the first fd is below the new mount)
  const targets = sys.callsTo('mount').slice(3).map((a) => a[1]);
  assert.notEqual(targets[0], targets[1]);
  assert.equal(tree.nodes.get(P('/data'))?.type, 'dir', 'a directory source gets a directory mount point');
  noLeaks(sys, tree);
});

test('bind without flags needs no remount; "rw" (a cleared flag) does; relative sources are in the bundle', () => {
  const plain = prepareOnly([{ destination: '/data', source: 'data', options: ['bind'] }]);
  assert.deepEqual(plain.calls, [['/b/data', P('/data'), null, C.MS_BIND, null]]);
  const rw = prepareOnly([{ destination: '/data', type: 'bind', source: 'data', options: ['rw'] }]);
  assert.deepEqual(rw.calls, [
    ['/b/data', P('/data'), null, C.MS_BIND, null],
    [null, P('/data'), null, C.MS_BIND | C.MS_REMOUNT, null],
  ]);
});

test('a file source gets an empty file as mount point (created with O_CREAT|O_EXCL|O_NOFOLLOW)', () => {
  const { sys, tree, calls } = prepareOnly([{ destination: '/etc/resolv.conf', type: 'bind', source: '/host/resolv.txt', options: ['bind', 'ro'] }]);
  assert.equal(tree.nodes.get(P('/etc/resolv.conf'))?.type, 'file');
  const create = sys.callsTo('openat').find((a) => a[1] === 'resolv.conf')!;
  assert.equal((create[2] as number) & (C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW), C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW);
  assert.equal(calls[0]![1], P('/etc/resolv.conf'));
  noLeaks(sys, tree);
});

test('propagation options are separate calls after the mount, in order; r* options use mount_setattr(AT_RECURSIVE)', () => {
  const { sys, tree, calls } = prepareOnly([
    { destination: '/data', type: 'bind', source: '/b/data', options: ['rbind', 'rslave', 'shared', 'rro', 'rnosuid', 'rnoatime'] },
  ]);
  assert.deepEqual(calls, [
    ['/b/data', P('/data'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/data'), null, C.MS_SLAVE | C.MS_REC, null],
    [null, P('/data'), null, C.MS_SHARED, null],
  ]);
  const setattr = sys.callsTo('mountSetattr');
  assert.equal(setattr.length, 1);
  const [fd, path, flags, attr] = setattr[0]!;
  assert.equal(tree.fdPath.get(fd as number), P('/data'));
  assert.equal(path, '');
  assert.equal(flags, C.AT_EMPTY_PATH | C.AT_RECURSIVE);
  assert.deepEqual(attr, {
    attrSet: C.MOUNT_ATTR_RDONLY | C.MOUNT_ATTR_NOSUID | C.MOUNT_ATTR_NOATIME,
    attrClr: C.MOUNT_ATTR__ATIME,
  });
  // mount_setattr comes after the propagation calls
  const names = sys.names();
  assert.ok(names.lastIndexOf('mount') < names.indexOf('mountSetattr'));
});

test('remount refused (EPERM, locked flags): retried keeping the flags the mount has; clearing one is an error', () => {
  const { sys, tree } = setup();
  let n = 0;
  sys.failOn('mount', (a) => ((a[3] as number) & C.MS_REMOUNT) !== 0 && n++ === 0, 'EPERM');
  sys.stub('statvfsFlags', () => C.ST_NOSUID | C.ST_NODEV | C.ST_RELATIME);
  prepareRootfs(sys, config(spec([{ destination: '/data', type: 'bind', source: '/b/data', options: ['bind', 'ro'] }], {})), env());
  const remounts = mounts(tree).filter((m) => (m[3] & C.MS_REMOUNT) !== 0);
  assert.deepEqual(remounts, [
    [null, P('/data'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY, null],
    [null, P('/data'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_RELATIME, null],
  ]);

  const s2 = setup();
  s2.sys.failOn('mount', (a) => ((a[3] as number) & C.MS_REMOUNT) !== 0, 'EPERM');
  s2.sys.stub('statvfsFlags', () => C.ST_RDONLY | C.ST_RELATIME);
  assert.throws(
    () => prepareRootfs(s2.sys, config(spec([{ destination: '/data', type: 'bind', source: '/b/data', options: ['bind', 'rw'] }])), env()),
    /^RootfsError: mount \/b\/data on \/data \(bind\): remount: cannot clear locked flags MS_RDONLY: EPERM/,
  );
  noLeaks(s2.sys, s2.tree);
});

test('tmpfs: mounted without MS_RDONLY (remounted later), keeps the mode of an existing directory', () => {
  const { calls } = prepareOnly([
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid', 'size=64k'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['mode=700'] },
    { destination: '/new', type: 'tmpfs', source: 'tmpfs' },
  ]);
  assert.deepEqual(calls, [
    ['tmpfs', P('/tmp'), 'tmpfs', C.MS_NOSUID, 'mode=1777,size=64k'],
    ['tmpfs', P('/run'), 'tmpfs', 0, 'mode=700'],
    ['tmpfs', P('/new'), 'tmpfs', 0, null],
  ]);
});

test('a mount failure names the mount and the in-container destination; errno kept as code', () => {
  const { sys } = setup();
  sys.failOn('mount', (a) => a[2] === 'proc', 'EPERM');
  assert.throws(
    () => prepareRootfs(sys, config(spec([{ destination: '/proc', type: 'proc', source: 'proc' }])), env()),
    (e: unknown) => {
      assert.equal((e as Error).message, 'mount proc on /proc (proc): EPERM: Operation not permitted');
      assert.equal((e as { code?: string }).code, 'EPERM');
      return true;
    },
  );
  const { sys: s2, tree: t2 } = setup();
  t2.failOn('mkdirat', (a) => a[1] === 'pts', 'EROFS');
  assert.throws(
    () => prepareRootfs(s2, config(spec([{ destination: '/dev/pts', type: 'devpts', source: 'devpts' }])), env()),
    /^RootfsError: mount devpts on \/dev\/pts \(devpts\): mkdirat \/dev\/pts: EROFS: Read-only file system$/,
  );
  noLeaks(s2, t2);
  assert.throws(
    () => prepareOnly([{ destination: '/x', type: 'bind', source: '/b/missing' }]),
    /^RootfsError: mount \/b\/missing on \/x \(bind\): source \/b\/missing: ENOENT/,
  );
});

test('symlinks in the rootfs are followed inside it: absolute, "..", dangling (target created inside)', () => {
  const { sys, tree, calls } = prepareOnly(
    [
      { destination: '/proc', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/x/sub', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/up/data', type: 'bind', source: '/b/data', options: ['bind'] },
      { destination: '/etc/deep/sub', type: 'tmpfs', source: 'tmpfs' },
    ],
    {},
    {},
    {
      [P('/proc')]: { type: 'link', target: '/../../etc' },
      [P('/x')]: { type: 'link', target: '/outside/dir' },
      [P('/up')]: { type: 'link', target: '../../../../tmp' },
      [P('/etc/deep')]: { type: 'link', target: '/abs/two' },
    },
  );
  assert.deepEqual(
    calls.map((c) => c[1]),
    [P('/etc'), P('/outside/dir/sub'), P('/tmp/data'), P('/abs/two/sub')],
  );
  assert.equal(tree.nodes.get(P('/outside/dir/sub'))?.type, 'dir');
  assert.equal(tree.nodes.has('/outside'), false, 'nothing created outside the rootfs');
  for (const a of sys.callsTo('mkdirat')) assert.ok(tree.fdPath.get(a[0] as number)!.startsWith(ROOTFS), `mkdirat in ${tree.fdPath.get(a[0] as number)}`);
  noLeaks(sys, tree);
});

test('proc and sysfs are never mounted through a symlink (or on a file): runc\'s error', () => {
  for (const type of ['proc', 'sysfs']) {
    const dest = type === 'proc' ? '/proc' : '/sys';
    assert.throws(
      () => prepareOnly([{ destination: dest, type, source: type }], {}, {}, { [P(dest)]: { type: 'link', target: '/elsewhere' } }),
      new RegExp(`^RootfsError: mount ${type} on ${dest} \\(${type}\\): filesystem "${type}" must be mounted on ordinary directory$`),
    );
  }
});

test('destinations resolving to the root or into /proc are refused (runc checkProcMount)', () => {
  assert.throws(
    () => prepareOnly([{ destination: '/loop', type: 'tmpfs', source: 'tmpfs' }], {}, {}, { [P('/loop')]: { type: 'link', target: '/' } }),
    /^RootfsError: mount tmpfs on \/loop \(tmpfs\): the destination resolves to the container's root directory$/,
  );
  assert.throws(
    () => prepareOnly([{ destination: '/p/sys', type: 'bind', source: '/b/data', options: ['bind'] }], {}, {}, { [P('/p')]: { type: 'link', target: '/proc' } }),
    /"\/proc\/sys" cannot be mounted because it is inside \/proc$/,
  );
  // the lxcfs files are allowed, and a bind of a procfs root on /proc
  const ok = prepareOnly(
    [
      { destination: '/proc/meminfo', type: 'bind', source: '/var/lib/lxcfs/proc/meminfo.txt', options: ['bind'] },
      { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] },
    ],
    {},
    { isProcfsRoot: (p) => p === '/proc' },
  );
  assert.equal(ok.calls.length, 2);
});

test('sysfs refused (EPERM): falls back to a recursive bind of the host /sys with the same flags', () => {
  const { sys, tree } = setup();
  sys.failOn('mount', (a) => a[2] === 'sysfs', 'EPERM');
  prepareRootfs(sys, config(spec([{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'ro'] }])), env());
  assert.deepEqual(mounts(tree).slice(2, 5), [
    ['sysfs', P('/sys'), 'sysfs', C.MS_NOSUID | C.MS_RDONLY, null],
    ['/sys', P('/sys'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/sys'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_NOSUID | C.MS_RDONLY, null],
  ]);
  noLeaks(sys, tree);
});

const HYBRID_MOUNTINFO = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '36 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

test('cgroup on a v1/hybrid host: tmpfs + one cgroup mount per hierarchy (same options), symlinks, ro tmpfs', () => {
  const { sys, tree, calls } = prepareOnly(
    [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }],
    {},
    { mountInfo: () => HYBRID_MOUNTINFO },
  );
  const F = C.MS_NOSUID | C.MS_NOEXEC | C.MS_NODEV;
  assert.deepEqual(calls, [
    ['tmpfs', P('/sys/fs/cgroup'), 'tmpfs', F, 'mode=755'],
    ['cgroup', P('/sys/fs/cgroup/cpu,cpuacct'), 'cgroup', F | C.MS_RELATIME | C.MS_RDONLY, 'cpu,cpuacct'],
    ['cgroup', P('/sys/fs/cgroup/memory'), 'cgroup', F | C.MS_RELATIME | C.MS_RDONLY, 'memory'],
    ['cgroup', P('/sys/fs/cgroup/systemd'), 'cgroup', F | C.MS_RELATIME | C.MS_RDONLY, 'xattr,name=systemd'],
    [null, P('/sys/fs/cgroup'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | F, null],
  ]);
  assert.deepEqual(tree.nodes.get(P('/sys/fs/cgroup/cpu')), { type: 'link', target: 'cpu,cpuacct' });
  assert.deepEqual(tree.nodes.get(P('/sys/fs/cgroup/cpuacct')), { type: 'link', target: 'cpu,cpuacct' });
  noLeaks(sys, tree);
});

test('cgroup on a v2 host: one cgroup2 mount; EPERM falls back to a bind of /sys/fs/cgroup', () => {
  const v2 = prepareOnly([{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'ro'] }], {}, { cgroup2Unified: () => true });
  assert.deepEqual(v2.calls, [['cgroup', P('/sys/fs/cgroup'), 'cgroup2', C.MS_NOSUID | C.MS_RDONLY, null]]);
  const { sys, tree } = setup();
  sys.failOn('mount', (a) => a[2] === 'cgroup2', 'EPERM');
  prepareRootfs(sys, config(spec([{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'ro'] }])), env({ cgroup2Unified: () => true }));
  assert.deepEqual(mounts(tree).slice(3, 5), [
    ['/sys/fs/cgroup', P('/sys/fs/cgroup'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/sys/fs/cgroup'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_NOSUID | C.MS_RDONLY, null],
  ]);
});

test("cgroup with the container's cgroup directories (tsrun's create): each hierarchy binds its own directory, read-only", () => {
  const { sys, tree } = setup();
  const cgroupDirs = {
    '/sys/fs/cgroup/cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/ns/ctr',
    '/sys/fs/cgroup/memory': '/sys/fs/cgroup/memory/ns/ctr',
    '/sys/fs/cgroup/systemd': '/sys/fs/cgroup/systemd/ns/ctr',
    '/sys/fs/cgroup/unified': '/sys/fs/cgroup/unified/ns/ctr',
  };
  const devBind: Mount = { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] };
  const cfg = { ...config(spec([devBind, { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] }])), cgroupDirs };
  prepareRootfs(sys, cfg, env({ mountInfo: () => HYBRID_MOUNTINFO }));
  const F = C.MS_NOSUID | C.MS_NOEXEC | C.MS_NODEV;
  const R = C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | F;
  assert.deepEqual(mounts(tree).slice(3), [
    ['tmpfs', P('/sys/fs/cgroup'), 'tmpfs', F, 'mode=755'],
    ['/sys/fs/cgroup/cpu,cpuacct/ns/ctr', P('/sys/fs/cgroup/cpu,cpuacct'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/sys/fs/cgroup/cpu,cpuacct'), null, R, null],
    ['/sys/fs/cgroup/memory/ns/ctr', P('/sys/fs/cgroup/memory'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/sys/fs/cgroup/memory'), null, R, null],
    ['/sys/fs/cgroup/systemd/ns/ctr', P('/sys/fs/cgroup/systemd'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/sys/fs/cgroup/systemd'), null, R, null],
    [null, P('/sys/fs/cgroup'), null, R, null],
  ]);
  noLeaks(sys, tree);
  // v2: a bind of the container's directory, not a cgroup2 mount showing the host's root
  const v2 = setup();
  const cfg2 = { ...config(spec([{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'ro'] }])), cgroupDirs: { '/sys/fs/cgroup': '/sys/fs/cgroup/ns/ctr' } };
  prepareRootfs(v2.sys, cfg2, env({ cgroup2Unified: () => true }));
  assert.deepEqual(mounts(v2.tree).slice(2, 4), [
    ['/sys/fs/cgroup/ns/ctr', P('/sys/fs/cgroup'), null, C.MS_BIND | C.MS_REC, null],
    [null, P('/sys/fs/cgroup'), null, C.MS_BIND | C.MS_REMOUNT | C.MS_NOSUID | C.MS_RDONLY, null],
  ]);
});

test('rootfsPropagation: rslave on /; "shared" also makes the rootfs parent mount private and is re-applied after pivot', () => {
  const slave = setup();
  prepareRootfs(slave.sys, config(spec([], { linux: { rootfsPropagation: 'rslave' } })), env());
  assert.deepEqual(mounts(slave.tree)[0], [null, '/', null, C.MS_SLAVE | C.MS_REC, null]);

  const { sys, tree } = setup();
  // /b/rootfs and /b are not mount points (EINVAL): the walk stops at /, the mount holding them
  sys.failOn('mount', (a) => a[1] === ROOTFS && a[3] === C.MS_PRIVATE, 'EINVAL');
  sys.failOn('mount', (a) => a[1] === '/b' && a[3] === C.MS_PRIVATE, 'EINVAL');
  const s = spec([], { linux: { rootfsPropagation: 'shared' } });
  prepareRootfs(sys, config(s), env());
  assert.deepEqual(mounts(tree).slice(0, 5), [
    [null, '/', null, C.MS_SHARED, null],
    [null, ROOTFS, null, C.MS_PRIVATE, null],
    [null, '/b', null, C.MS_PRIVATE, null],
    [null, '/', null, C.MS_PRIVATE, null],
    [ROOTFS, ROOTFS, null, C.MS_BIND | C.MS_REC, null],
  ]);
  sys.clearCalls();
  enterRootfs(sys, config(s), env());
  assert.deepEqual(sys.callsTo('mount').at(-1), [null, '/', null, C.MS_SHARED, null]);
  assert.throws(() => prepareRootfs(new FakeSyscalls(), config(spec([], { linux: { rootfsPropagation: 'bogus' as never } })), env()), /rootfsPropagation: unknown value "bogus"/);
});
