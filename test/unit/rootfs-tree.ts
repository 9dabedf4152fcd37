// A tiny in-memory file tree behind FakeSyscalls for the rootfs unit tests: open/openat2
// (RESOLVE_IN_ROOT resolution with symlinks, O_NOFOLLOW), mkdirat, openat(O_CREAT), statx,
// readlinkat (symlinks, and /proc/self/fd/N → the fd's path), mknodat, symlinkat, unlinkat.
// mount() is only recorded (FakeSyscalls' default). Paths are host paths, e.g.
// "/b/rootfs/dev".
import type { HostEnv } from '../../src/init/rootfs/env';
import { posix } from 'node:path';
import { FakeSyscalls } from '../../src/linux/fake';
import { SyscallError } from '../../src/linux/errors';
import type { FileStat } from '../../src/linux/syscalls';
import {
  AT_FDCWD,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  RESOLVE_IN_ROOT,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
} from '../../src/linux/constants';

export type TreeNode =
  | { type: 'dir'; mode?: number }
  | { type: 'file'; mode?: number }
  | { type: 'link'; target: string }
  | { type: 'node'; mode: number; rdev: bigint };

function split(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

type Stubbed = 'open' | 'openat2' | 'openat' | 'mkdirat' | 'mknodat' | 'symlinkat' | 'unlinkat' | 'statx' | 'readlinkat';

export class FakeTree {
  readonly nodes = new Map<string, TreeNode>();
  /** Every fd ever handed out → its path (fd numbers are never reused by the fake). */
  readonly fdPath = new Map<number, string>();
  /** close() calls of fds that were not open (double closes). */
  badCloses = 0;
  private failures: Array<{ name: Stubbed; match: (args: unknown[]) => boolean; errno: string; times: number }> = [];

  constructor(
    readonly sys: FakeSyscalls,
    paths: Record<string, TreeNode> = {},
  ) {
    this.nodes.set('/', { type: 'dir' });
    for (const [p, n] of Object.entries(paths)) this.add(p, n);
    this.install();
  }

  /** Adds a node (and its missing parent directories). */
  add(path: string, node: TreeNode): void {
    const parts = split(path);
    for (let i = 1; i < parts.length; i++) {
      const dir = '/' + parts.slice(0, i).join('/');
      if (!this.nodes.has(dir)) this.nodes.set(dir, { type: 'dir' });
    }
    this.nodes.set('/' + parts.join('/'), node);
  }

  /**
   * Makes matching calls of a call the tree implements fail (FakeSyscalls.failOn cannot: the
   * tree's stubs take precedence over rules added later).
   */
  failOn(name: Stubbed, match: (args: unknown[]) => boolean, errno: string, times = Infinity): this {
    this.failures.push({ name, match, errno, times });
    return this;
  }

  private checkFail(name: Stubbed, args: unknown[], subject: string): void {
    for (const f of this.failures) {
      if (f.name === name && f.times > 0 && f.match(args)) {
        f.times--;
        throw SyscallError.of(name, f.errno, subject);
      }
    }
  }

  /** Host path an fd was opened on. */
  pathOf(fd: number): string {
    const p = this.fdPath.get(fd);
    if (p === undefined) throw new Error(`fake tree: fd ${fd} is not open`);
    return p;
  }

  private fail(call: string, errno: string, path: string): never {
    throw SyscallError.of(call, errno, path);
  }

  private newFd(path: string): number {
    const fd = this.sys.nextFd++;
    this.sys.openFds.add(fd);
    this.fdPath.set(fd, path);
    return fd;
  }

  /** Walks `path` from `base`; ".." and absolute symlinks stay under `root` when given. */
  resolve(base: string, path: string, followLast: boolean, root: string | null, call: string): string {
    let pending = split(path);
    let cur = path.startsWith('/') && root !== null ? root : base;
    let links = 0;
    while (pending.length > 0) {
      const c = pending.shift()!;
      if (c === '..') {
        if (root === null || cur !== root) cur = posix.dirname(cur);
        continue;
      }
      const next = cur === '/' ? `/${c}` : `${cur}/${c}`;
      const node = this.nodes.get(next);
      if (!node) this.fail(call, 'ENOENT', path);
      if (node.type === 'link' && (pending.length > 0 || followLast)) {
        if (++links > 40) this.fail(call, 'ELOOP', path);
        if (node.target.startsWith('/')) cur = root ?? '/';
        pending = [...split(node.target), ...pending];
        continue;
      }
      if (pending.length > 0 && node.type !== 'dir') this.fail(call, 'ENOTDIR', path);
      cur = next;
    }
    return cur;
  }

  private child(dirfd: number, name: string): string {
    const base = dirfd === AT_FDCWD ? '/' : this.pathOf(dirfd);
    return name.startsWith('/') ? name : base === '/' ? `/${name}` : `${base}/${name}`;
  }

  private stat(path: string): FileStat {
    const n = this.nodes.get(path);
    if (!n) this.fail('statx', 'ENOENT', path);
    const base = { uid: 0, gid: 0, ino: 1n, size: 0n, dev: 0n, mntId: 0n, rdev: 0n };
    switch (n.type) {
      case 'dir':
        return { ...base, mode: S_IFDIR | (n.mode ?? 0o755) };
      case 'file':
        return { ...base, mode: S_IFREG | (n.mode ?? 0o644) };
      case 'link':
        return { ...base, mode: S_IFLNK | 0o777 };
      case 'node':
        return { ...base, mode: n.mode, rdev: n.rdev };
    }
  }

  private install(): void {
    const s = this.sys;
    s.stub('open', (path) => this.newFd(this.resolve('/', path, true, null, 'open')));
    s.stub('close', (fd) => {
      if (!s.openFds.delete(fd)) {
        this.badCloses++;
        throw SyscallError.of('close', 'EBADF', `fd ${fd}`);
      }
    });
    s.stub('openat2', (dirfd, path, flags, resolve) => {
      this.checkFail('openat2', [dirfd, path, flags, resolve], path);
      const base = dirfd === AT_FDCWD ? '/' : this.pathOf(dirfd);
      const inRoot = (resolve & RESOLVE_IN_ROOT) !== 0;
      return this.newFd(this.resolve(base, path, (flags & O_NOFOLLOW) === 0, inRoot ? base : null, 'openat2'));
    });
    s.stub('openat', (dirfd, path, flags) => {
      this.checkFail('openat', [dirfd, path, flags], path);
      const p = this.child(dirfd, path);
      if (this.nodes.has(p)) {
        if ((flags & O_CREAT) !== 0 && (flags & O_EXCL) !== 0) this.fail('openat', 'EEXIST', path);
      } else {
        if ((flags & O_CREAT) === 0) this.fail('openat', 'ENOENT', path);
        this.add(p, { type: 'file' });
      }
      return this.newFd(p);
    });
    s.stub('mkdirat', (dirfd, path, mode) => {
      this.checkFail('mkdirat', [dirfd, path, mode], path);
      const p = this.child(dirfd, path);
      if (this.nodes.has(p)) this.fail('mkdirat', 'EEXIST', path);
      this.add(p, { type: 'dir', mode });
    });
    s.stub('mknodat', (dirfd, path, mode, dev) => {
      this.checkFail('mknodat', [dirfd, path, mode, dev], path);
      const p = this.child(dirfd, path);
      if (this.nodes.has(p)) this.fail('mknodat', 'EEXIST', path);
      this.add(p, { type: 'node', mode, rdev: BigInt(dev) });
    });
    s.stub('symlinkat', (target, dirfd, path) => {
      const p = this.child(dirfd, path);
      if (this.nodes.has(p)) this.fail('symlinkat', 'EEXIST', path);
      this.add(p, { type: 'link', target });
    });
    s.stub('unlinkat', (dirfd, path) => {
      const p = this.child(dirfd, path);
      if (!this.nodes.delete(p)) this.fail('unlinkat', 'ENOENT', path);
    });
    s.stub('statx', (dirfd, path, flags) => {
      this.checkFail('statx', [dirfd, path, flags], path);
      return path === '' ? this.stat(this.pathOf(dirfd)) : this.stat(this.resolve('/', this.child(dirfd, path), true, null, 'statx'));
    });
    s.stub('readlinkat', (dirfd, path) => {
      const m = /^\/proc\/self\/fd\/(\d+)$/.exec(path);
      if (dirfd === AT_FDCWD && m) return this.pathOf(Number(m[1]));
      const p = path === '' ? this.pathOf(dirfd) : this.child(dirfd, path);
      const n = this.nodes.get(p);
      if (!n) this.fail('readlinkat', 'ENOENT', path);
      if (n.type !== 'link') this.fail('readlinkat', 'EINVAL', path);
      return n.target;
    });
  }
}

/** "/proc/self/fd/N" → the tree path of fd N (for readable assertions on mount targets). */
export function targetPath(tree: FakeTree, target: string): string {
  const m = /^\/proc\/self\/fd\/(\d+)$/.exec(target);
  return m ? (tree.fdPath.get(Number(m[1])) ?? target) : target;
}

/** The recorded mount calls with /proc/self/fd/N targets replaced by the fd's tree path. */
export function mounts(tree: FakeTree): Array<[string | null, string, string | null, number, string | null]> {
  return tree.sys.callsTo('mount').map((a) => [a[0] as string | null, targetPath(tree, a[1] as string), a[2] as string | null, a[3] as number, a[4] as string | null]);
}

/** A host with nothing on it: every HostEnv answer neutral unless overridden. */
export function fakeHostEnv(over: Partial<HostEnv> = {}): HostEnv {
  return {
    sourceKind: () => 'dir',
    mountInfo: () => '',
    selfCgroup: () => '',
    isProcfsRoot: () => false,
    cgroup2Unified: () => false,
    inUserNamespace: () => false,
    exists: () => false,
    ...over,
  };
}
