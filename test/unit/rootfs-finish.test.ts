// enterRootfs (pivot_root / --no-pivot), the /dev setup, and finishRootfs (masked and read-only
// paths, delayed read-only remounts, read-only root) on FakeSyscalls: the calls and their order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSyscalls } from '../../src/linux/fake';
import { SyscallError } from '../../src/linux/errors';
import * as C from '../../src/linux/constants';
import { makedev, type FileStat } from '../../src/linux/syscalls';
import type { Spec } from '../../src/spec';
import type { InitConfig } from '../../src/runtime/protocol';
import { enterRootfs, finishRootfs, prepareRootfs } from '../../src/init/rootfs';
import { maskPaths, readonlyPaths } from '../../src/init/rootfs/finish';
import { FakeTree, fakeHostEnv, mounts } from './rootfs-tree';

const ROOTFS = '/b/rootfs';
const P = (s: string): string => ROOTFS + s;

const env = fakeHostEnv;

function config(spec: Spec, over: Partial<Omit<InitConfig, 'kind'>> = {}): InitConfig {
  return { kind: 'init', id: 'c1', bundle: '/b', rootfs: ROOTFS, spec, hostPid: 1, fifoFd: 3, preserveFds: 0, noPivot: false, noNewKeyring: false, ...over };
}

function spec(over: Partial<Spec> = {}): Spec {
  return { ociVersion: '1.2.0', root: { path: 'rootfs' }, mounts: [], linux: { namespaces: [{ type: 'mount' }] }, ...over };
}

const stat = (mode: number, rdev = 0n): FileStat => ({ mode, uid: 0, gid: 0, ino: 1n, size: 0n, rdev, dev: 0n, mntId: 0n });
const enoent = (p: string): never => {
  throw SyscallError.of('statx', 'ENOENT', p);
};

test('enterRootfs: pivot_root(".", ".") from inside the rootfs, old root made rslave and detached, no old-root dir', () => {
  const sys = new FakeSyscalls();
  enterRootfs(sys, config(spec()), env());
  const opens = sys.callsTo('open');
  assert.deepEqual(opens, [
    ['/', C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, undefined],
    [ROOTFS, C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, undefined],
  ]);
  const [oldFd, newFd] = [100, 101];
  assert.deepEqual(
    sys.calls.map((c) => [c.name, ...c.args]),
    [
      ['open', '/', C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, undefined],
      ['open', ROOTFS, C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, undefined],
      ['fchdir', newFd],
      ['close', newFd],
      ['pivotRoot', '.', '.'],
      ['fchdir', oldFd],
      ['mount', null, '.', null, C.MS_SLAVE | C.MS_REC, null],
      ['umount2', '.', C.MNT_DETACH],
      ['chdir', '/'],
      ['close', oldFd],
    ],
  );
  assert.equal(sys.openFds.size, 0);
});

test('enterRootfs: a failed pivot_root names the step; the fds are closed', () => {
  const sys = new FakeSyscalls();
  sys.failOn('pivotRoot', undefined, 'EINVAL');
  assert.throws(() => enterRootfs(sys, config(spec()), env()), /^RootfsError: pivot_root to \/b\/rootfs: pivot_root\("\.", "\."\): EINVAL: Invalid argument$/);
  assert.equal(sys.openFds.size, 0);
});

test('enterRootfs --no-pivot: host proc/sysfs outside the rootfs detached (or covered), MS_MOVE, chroot', () => {
  const sys = new FakeSyscalls();
  sys.failOn('umount2', '/sys', 'EPERM');
  const mountinfo = [
    '22 27 0:21 / /proc rw - proc proc rw',
    '23 27 0:22 / /sys rw - sysfs sysfs rw',
    '24 27 0:6 / /dev rw - devtmpfs devtmpfs rw',
    '25 22 0:21 /sys /proc/sys ro - proc proc rw', // not a full procfs: left alone
    `26 27 0:40 / ${ROOTFS}/proc rw - proc proc rw`, // inside the rootfs: left alone
  ].join('\n');
  enterRootfs(sys, config(spec(), { noPivot: true }), env({ mountInfo: () => mountinfo }));
  assert.deepEqual(
    sys.calls.map((c) => [c.name, ...c.args]),
    [
      ['chdir', ROOTFS],
      ['mount', null, '/proc', null, C.MS_SLAVE | C.MS_REC, null],
      ['umount2', '/proc', C.MNT_DETACH],
      ['mount', null, '/sys', null, C.MS_SLAVE | C.MS_REC, null],
      ['umount2', '/sys', C.MNT_DETACH],
      ['mount', 'tmpfs', '/sys', 'tmpfs', 0, null],
      ['mount', ROOTFS, '/', null, C.MS_MOVE, null],
      ['chroot', '.'],
      ['chdir', '/'],
    ],
  );
});

test('/dev: default devices with mknodat under umask 0, owner set, ptmx and std links; nothing with a /dev bind', () => {
  const sys = new FakeSyscalls();
  const tree = new FakeTree(sys, { [P('/dev')]: { type: 'dir' } });
  const s = spec({
    mounts: [
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts' },
    ],
    linux: {
      namespaces: [{ type: 'mount' }],
      devices: [
        { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o620, uid: 7, gid: 8 },
        { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 }, // overrides the default
        { path: '/dev/fifo0', type: 'p', fileMode: 0o644 },
      ],
    },
  });
  prepareRootfs(sys, config(s), env({ exists: (p) => p === '/proc/kcore' }));
  const mk = sys.callsTo('mknodat').map((a) => [tree.fdPath.get(a[0] as number) + '/' + a[1], a[2], a[3]]);
  assert.deepEqual(mk, [
    [P('/dev/zero'), C.S_IFCHR | 0o666, makedev(1, 5)],
    [P('/dev/full'), C.S_IFCHR | 0o666, makedev(1, 7)],
    [P('/dev/random'), C.S_IFCHR | 0o666, makedev(1, 8)],
    [P('/dev/urandom'), C.S_IFCHR | 0o666, makedev(1, 9)],
    [P('/dev/tty'), C.S_IFCHR | 0o666, makedev(5, 0)],
    [P('/dev/fuse'), C.S_IFCHR | 0o620, makedev(10, 229)],
    [P('/dev/null'), C.S_IFCHR | 0o600, makedev(1, 3)],
    [P('/dev/fifo0'), C.S_IFIFO | 0o644, 0n],
  ]);
  // umask 0 around the mknods, restored after
  const names = sys.names();
  assert.deepEqual(sys.callsTo('umask'), [[0], [0o022]]);
  assert.ok(names.indexOf('umask') < names.indexOf('mknodat') && names.lastIndexOf('umask') > names.lastIndexOf('mknodat'));
  const chown = sys.callsTo('fchownat').find((a) => tree.fdPath.get(a[0] as number) === P('/dev/fuse'))!;
  assert.deepEqual(chown.slice(1), ['', 7, 8, C.AT_EMPTY_PATH]);
  assert.deepEqual(tree.nodes.get(P('/dev/ptmx')), { type: 'link', target: 'pts/ptmx' });
  assert.deepEqual(tree.nodes.get(P('/dev/fd')), { type: 'link', target: '/proc/self/fd' });
  assert.deepEqual(tree.nodes.get(P('/dev/stdin')), { type: 'link', target: '/proc/self/fd/0' });
  assert.deepEqual(tree.nodes.get(P('/dev/stderr')), { type: 'link', target: '/proc/self/fd/2' });
  assert.deepEqual(tree.nodes.get(P('/dev/core')), { type: 'link', target: '/proc/kcore' });
  assert.equal(sys.openFds.size, 0);

  const bound = new FakeSyscalls();
  new FakeTree(bound, { [P('/dev')]: { type: 'dir' } });
  prepareRootfs(bound, config(spec({ mounts: [{ destination: '/dev/', source: '/dev', options: ['rbind'] }] })), env());
  assert.equal(bound.callsTo('mknodat').length, 0);
  assert.equal(bound.callsTo('symlinkat').length, 0);
});

test('/dev in a user namespace: the host nodes bind-mounted on empty files; mknodat EPERM falls back the same way', () => {
  const sys = new FakeSyscalls();
  const tree = new FakeTree(sys, { [P('/dev')]: { type: 'dir' } });
  const s = spec({ linux: { namespaces: [{ type: 'mount' }, { type: 'user' }] } });
  prepareRootfs(sys, config(s), env());
  assert.equal(sys.callsTo('mknodat').length, 0);
  assert.deepEqual(mounts(tree).slice(2), [
    ['/dev/null', P('/dev/null'), null, C.MS_BIND, null],
    ['/dev/zero', P('/dev/zero'), null, C.MS_BIND, null],
    ['/dev/full', P('/dev/full'), null, C.MS_BIND, null],
    ['/dev/random', P('/dev/random'), null, C.MS_BIND, null],
    ['/dev/urandom', P('/dev/urandom'), null, C.MS_BIND, null],
    ['/dev/tty', P('/dev/tty'), null, C.MS_BIND, null],
  ]);
  assert.equal(tree.nodes.get(P('/dev/null'))?.type, 'file');

  const s2 = new FakeSyscalls();
  const t2 = new FakeTree(s2, { [P('/dev')]: { type: 'dir' } });
  t2.failOn('mknodat', (a) => a[1] === 'tty', 'EPERM');
  prepareRootfs(s2, config(spec()), env());
  assert.deepEqual(mounts(t2).slice(2), [['/dev/tty', P('/dev/tty'), null, C.MS_BIND, null]]);
  assert.equal(t2.nodes.get(P('/dev/null'))?.type, 'node');
});

test('maskedPaths: /dev/null over files, read-only tmpfs over directories; missing and duplicate paths skipped', () => {
  const sys = new FakeSyscalls();
  const kinds: Record<string, FileStat> = {
    '/proc/kcore': stat(C.S_IFREG | 0o400),
    '/proc/acpi': stat(C.S_IFDIR | 0o555),
    '/dev/null': stat(C.S_IFCHR | 0o666, makedev(1, 3)),
  };
  sys.stub('statx', (_fd, path) => kinds[path] ?? enoent(path));
  maskPaths(sys, ['/proc/kcore', '/proc/missing', '/proc/acpi', '/proc/./kcore']);
  assert.deepEqual(sys.callsTo('mount'), [
    ['/dev/null', '/proc/kcore', null, C.MS_BIND, null],
    ['tmpfs', '/proc/acpi', 'tmpfs', C.MS_RDONLY, 'nr_blocks=1,nr_inodes=1'],
  ]);
  // statx follows symlinks (flags 0) from the container root
  assert.deepEqual(sys.callsTo('statx')[0], [C.AT_FDCWD, '/proc/kcore', 0]);

  const bad = new FakeSyscalls();
  bad.stub('statx', (_fd, path) => (path === '/dev/null' ? stat(C.S_IFREG | 0o666) : stat(C.S_IFREG)));
  assert.throws(() => maskPaths(bad, ['/proc/kcore']), /the container's \/dev\/null is not the null device/);
  assert.equal(bad.callsTo('mount').length, 0);

  const einval = new FakeSyscalls();
  einval.stub('statx', () => stat(C.S_IFDIR | 0o755));
  einval.failOn('mount', 'nr_blocks=1,nr_inodes=1', 'EINVAL');
  maskPaths(einval, ['/sys/firmware']);
  assert.deepEqual(einval.callsTo('mount').at(-1), ['tmpfs', '/sys/firmware', 'tmpfs', C.MS_RDONLY, null]);
});

test('readonlyPaths: bind onto itself, then MS_BIND|MS_REMOUNT|MS_RDONLY keeping nosuid/nodev/noexec/atime; missing skipped', () => {
  const sys = new FakeSyscalls();
  sys.failOn('mount', '/proc/nothere', 'ENOENT');
  sys.stub('statvfsFlags', () => C.ST_NOSUID | C.ST_NODEV | C.ST_NOEXEC | C.ST_RELATIME);
  readonlyPaths(sys, ['/proc/sys', '/proc/nothere']);
  assert.deepEqual(sys.callsTo('mount'), [
    ['/proc/sys', '/proc/sys', null, C.MS_BIND | C.MS_REC, null],
    ['/proc/sys', '/proc/sys', null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC | C.MS_RELATIME, null],
    ['/proc/nothere', '/proc/nothere', null, C.MS_BIND | C.MS_REC, null],
  ]);
  assert.deepEqual(sys.callsTo('statvfsFlags'), [['/proc/sys']]);
  const eperm = new FakeSyscalls();
  eperm.failOn('mount', (a) => ((a[3] as number) & C.MS_REMOUNT) !== 0, 'EPERM');
  assert.throws(() => readonlyPaths(eperm, ['/proc/bus']), /^RootfsError: readonly path \/proc\/bus: remount MS_RDONLY\|MS_REMOUNT\|MS_BIND(\|[A-Z_]+)*: EPERM: Operation not permitted$/);
});

test('finishRootfs: cwd created, sysctl written before the read-only paths, masks, delayed ro remounts, read-only root last', () => {
  const sys = new FakeSyscalls();
  const tree = new FakeTree(sys, {
    '/proc/sys/kernel/msgmax': { type: 'file' },
    '/proc/kcore': { type: 'file' },
    '/dev/null': { type: 'node', mode: C.S_IFCHR | 0o666, rdev: makedev(1, 3) },
  });
  sys.stub('statvfsFlags', () => C.ST_NOSUID);
  const order: string[] = [];
  const mountsSeen: unknown[][] = [];
  sys.stub('mount', (...a) => {
    mountsSeen.push(a);
    order.push(`mount ${a[1]}`);
  });
  const s = spec({
    process: { cwd: '/work/dir', args: ['sh'] },
    root: { path: 'rootfs', readonly: true },
    mounts: [
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['rw'] },
      { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'noexec'] },
    ],
    linux: {
      namespaces: [{ type: 'mount' }],
      readonlyPaths: ['/proc/sys'],
      maskedPaths: ['/proc/kcore'],
    },
  });
  finishRootfs(sys, config(s));
  assert.equal(tree.nodes.get('/work/dir')?.type, 'dir', 'cwd created');
  assert.deepEqual(order, [
    'mount /proc/sys',
    'mount /proc/sys',
    'mount /proc/kcore',
    'mount /dev',
    'mount /scratch',
    'mount /',
  ]);
  assert.deepEqual(mountsSeen.slice(-3), [
    [null, '/dev', null, C.MS_NOSUID | C.MS_RDONLY | C.MS_BIND | C.MS_REMOUNT, null],
    [null, '/scratch', null, C.MS_NOEXEC | C.MS_RDONLY | C.MS_BIND | C.MS_REMOUNT, null],
    [null, '/', null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID | C.MS_STRICTATIME, null],
  ]);
  assert.equal(sys.openFds.size, 0);
});
