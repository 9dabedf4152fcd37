// Path resolution inside the container's root filesystem, before pivot_root, when a symlink
// in the rootfs could otherwise point anywhere on the host (CVE-2021-30465 class).
//
// Every path is resolved relative to an O_PATH fd of the rootfs with openat2(2)
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: absolute symlinks and ".." stay inside the rootfs,
// so "rootfs/proc -> /etc" resolves to rootfs/etc, never to the host's /etc. Missing components
// are created one at a time with mkdirat(2) relative to the fd of their (already resolved)
// parent, each step opening a single name with RESOLVE_NO_SYMLINKS and expanding symlinks
// itself, inside the root. Mounts then target "/proc/self/fd/N" of the resulting O_PATH fd:
// the kernel mounts on exactly the inode that was resolved.
import { posix } from 'node:path';
import type { Syscalls } from '../../linux/syscalls';
import { SyscallError, isErrno } from '../../linux/errors';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
} from '../../linux/constants';
import { RootfsError } from './errors';
import { cleanPath, splitPath } from './paths';

/** Linux's limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;

/** The magic-link path of an fd, for calls (mount) that only take a path. */
export function procFd(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** A SyscallError naming the in-container path rather than a dirfd-relative name. */
function renamed(err: unknown, call: string, path: string): unknown {
  return err instanceof SyscallError ? new SyscallError(call, err.errno, path) : err;
}

/** An open O_PATH handle on a root directory and the operations resolved inside it. */
export class RootDir {
  private realRoot: string | undefined;

  private constructor(
    readonly sys: Syscalls,
    /** O_PATH fd of the root directory. */
    readonly fd: number,
    /** The root as given (host path). */
    readonly hostPath: string,
  ) {}

  /** Opens `hostPath` (a directory) as a root. */
  static open(sys: Syscalls, hostPath: string): RootDir {
    let fd: number;
    try {
      fd = sys.open(hostPath, O_PATH | O_DIRECTORY | O_CLOEXEC);
    } catch (err) {
      throw new RootfsError(`open root ${hostPath}: ${(err as Error).message}`, err);
    }
    return new RootDir(sys, fd, hostPath);
  }

  close(): void {
    this.sys.close(this.fd);
  }

  /** Closes an fd, ignoring errors (cleanup paths). */
  closeQuietly(fd: number): void {
    try {
      this.sys.close(fd);
    } catch {
      // already closed: nothing to do
    }
  }

  /**
   * An fd (O_PATH unless `flags` says otherwise) of an existing path, every symlink resolved
   * inside the root. Errors name the in-container path.
   */
  open(path: string, flags = O_PATH): number {
    const clean = cleanPath(path);
    const rel = clean === '/' ? '.' : clean.slice(1);
    try {
      return this.sys.openat2(this.fd, rel, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    } catch (err) {
      throw renamed(err, 'openat2', clean);
    }
  }

  /** Like open(), but null when the path (or a component of it) does not exist. */
  tryOpen(path: string, flags = O_PATH): number | null {
    try {
      return this.open(path, flags);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  /**
   * An O_PATH fd of `path`, creating what is missing: directories for the intermediate
   * components, and for the last one a directory or an empty file (mode 0644) as `last` says.
   * A dangling symlink is followed (inside the root) and its target created.
   */
  ensure(path: string, last: 'dir' | 'file', mode = 0o755): number {
    return this.tryOpen(path) ?? this.walk(path, last, mode);
  }

  /** ensure() for a path already known to be missing (skips the first lookup). */
  create(path: string, last: 'dir' | 'file', mode = 0o755): number {
    return this.walk(path, last, mode);
  }

  /** The parent directory of `path` (created as needed, as an O_PATH fd) and the last name. */
  parent(path: string, mode = 0o755): { dirfd: number; name: string } {
    const clean = cleanPath(path);
    if (clean === '/') throw new RootfsError(`${path}: the root directory has no parent`);
    return { dirfd: this.ensure(posix.dirname(clean), 'dir', mode), name: posix.basename(clean) };
  }

  /**
   * The in-container path an fd opened through this root refers to (its real location, all
   * symlinks resolved), read from /proc/self/fd. Throws if it is not inside the root.
   */
  pathOf(fd: number): string {
    this.realRoot ??= this.sys.readlinkat(AT_FDCWD, procFd(this.fd));
    const real = this.sys.readlinkat(AT_FDCWD, procFd(fd));
    const root = this.realRoot;
    if (root === '/') return real;
    if (real === root) return '/';
    if (real.startsWith(root + '/')) return real.slice(root.length);
    throw new RootfsError(`${real} is outside of the container root ${root}`);
  }

  /**
   * After a mount on `path`: a new O_PATH fd of the mount now on top of it. `before` is the fd
   * the mount was made on; when the kernel reports mount ids, the new fd must be on another
   * mount (else something moved under us and the path no longer leads to what we mounted).
   */
  reopen(path: string, before: number): number {
    const fd = this.open(path);
    try {
      const a = this.sys.statx(before, '', AT_EMPTY_PATH).mntId;
      const b = this.sys.statx(fd, '', AT_EMPTY_PATH).mntId;
      if (a !== 0n && a === b) throw new RootfsError(`${path}: the new mount is not at its mount point after mounting`);
    } catch (err) {
      this.closeQuietly(fd);
      throw err;
    }
    return fd;
  }

  /** Opens exactly one name in a directory fd without following it; null when missing. */
  private openName(dirfd: number, name: string, shown: string): number | null {
    try {
      return this.sys.openat2(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw renamed(err, 'openat2', shown);
    }
  }

  private createName(dirfd: number, name: string, kind: 'dir' | 'file', mode: number, shown: string): void {
    try {
      if (kind === 'dir') {
        this.sys.mkdirat(dirfd, name, mode);
      } else {
        const fd = this.sys.openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644);
        this.sys.close(fd);
      }
    } catch (err) {
      // Someone (or a dangling symlink we are about to read) got there first: open decides.
      if (!isErrno(err, 'EEXIST')) throw renamed(err, kind === 'dir' ? 'mkdirat' : 'openat', shown);
    }
  }

  /** Component-by-component resolution with creation (see ensure()). */
  private walk(path: string, last: 'dir' | 'file', mode: number): number {
    let pending = splitPath(path);
    let done: string[] = [];
    let cur = this.open('/', O_PATH | O_DIRECTORY);
    let links = 0;
    try {
      while (pending.length > 0) {
        const name = pending.shift()!;
        if (name === '..') {
          // `done` never contains symlinks, so its parent is the real parent.
          if (done.length > 0) {
            done.pop();
            const up = this.open('/' + done.join('/'), O_PATH | O_DIRECTORY);
            this.closeQuietly(cur);
            cur = up;
          }
          continue;
        }
        const isLast = pending.length === 0;
        const shown = '/' + [...done, name].join('/');
        let fd = this.openName(cur, name, shown);
        if (fd === null) {
          this.createName(cur, name, isLast ? last : 'dir', mode, shown);
          fd = this.openName(cur, name, shown);
          if (fd === null) throw SyscallError.of('openat2', 'ENOENT', shown);
        }
        let type: number;
        try {
          type = this.sys.statx(fd, '', AT_EMPTY_PATH).mode & S_IFMT;
        } catch (err) {
          this.closeQuietly(fd);
          throw renamed(err, 'statx', shown);
        }
        if (type === S_IFLNK) {
          if (++links > MAX_SYMLINKS) {
            this.closeQuietly(fd);
            throw SyscallError.of('openat2', 'ELOOP', cleanPath(path));
          }
          let target: string;
          try {
            target = this.sys.readlinkat(fd, '');
          } catch (err) {
            throw renamed(err, 'readlinkat', shown);
          } finally {
            this.closeQuietly(fd);
          }
          if (target.startsWith('/')) {
            const top = this.open('/', O_PATH | O_DIRECTORY);
            this.closeQuietly(cur);
            cur = top;
            done = [];
          }
          pending = [...splitPath(target), ...pending];
          continue;
        }
        if (type !== S_IFDIR && !isLast) {
          this.closeQuietly(fd);
          throw SyscallError.of('openat2', 'ENOTDIR', shown);
        }
        this.closeQuietly(cur);
        cur = fd;
        done.push(name);
      }
      return cur;
    } catch (err) {
      this.closeQuietly(cur);
      throw err;
    }
  }
}
