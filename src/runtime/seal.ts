// What a container may see of the runtime's own executables (CVE-2019-5736 class).
//
// Two host binaries run inside a container's namespaces: the clone stage (dist/tsrun-stage,
// the container's init until it execs Node) and Node itself (the init and `exec` stages, until
// they execve the user's program). Any process of the container that can open /proc/PID/exe
// of one of them, or that makes the init exec "#!/proc/self/exe", gets a handle on that host
// file; once the runtime has exited (ETXTBSY no longer applies), reopening the handle through
// /proc/self/fd/N for writing would replace the host's `node` or `tsrun-stage`, and every
// later tsrun command would run the container's code as host root.
//
// So neither is ever executed from its host path. Each is opened from a detached, read-only
// overlayfs mount whose top (and only useful) layer is the binary's own directory: the mount
// belongs to no mount namespace (fsmount without move_mount: nothing appears in any mount
// table, nothing to clean up, it lives as long as a file of it is open or executing), the
// overlay has no upper layer so nothing can be written through it (EROFS), and it is
// MOUNT_ATTR_RDONLY. /proc/PID/exe then names that overlay file, never the host inode. This is
// runc's own protection (libcontainer/exeseal, "sealedOverlayfs"); it costs well under a
// millisecond per command.
//
// Fallback (no overlayfs, e.g. a kernel without it): a sealed memfd copy (F_SEAL_WRITE...),
// runc's older protection; for Node (about 100 MB) that costs some 50 ms per command, so it is
// used only for a binary this process could write: one we cannot write (a rootless runtime,
// a read-only /usr) cannot be written by the container's processes either, which never have
// more privilege over host files than the runtime that started them.
import { accessSync, constants as fsConstants, copyFileSync, realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Syscalls } from '../linux/syscalls';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  O_CLOEXEC,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
} from '../linux/constants';

/** How a binary is executed: from `fd` (close-on-exec here) when set, else from `path`. */
export interface SealedExecutable {
  /** The host path of the binary (all symlinks resolved). */
  path: string;
  fd?: number | undefined;
  how: 'overlay' | 'memfd' | 'path';
}

/** Paths that only an exec through /proc/self/fd/N can use (a spawn from this process). */
export function execPathOf(e: SealedExecutable): string {
  return e.fd === undefined ? e.path : `/proc/self/fd/${e.fd}`;
}

/** Overlayfs escapes ':' (layer separator), ',' (option separator) and '\' in lowerdir. */
export function escapeLowerDir(dir: string): string {
  return dir.replace(/[\\:,]/g, (c) => `\\${c}`);
}

const cache = new Map<string, SealedExecutable>();

/**
 * `binary` opened through a sealed read-only view (see above), once per process. `others`
 * are directories tried, in order, as the overlay's required second (never reached) layer.
 */
export function sealedExecutable(sys: Syscalls, binary: string, others: string[], debug: (m: string) => void = () => undefined): SealedExecutable {
  const path = realpathSync(binary);
  const known = cache.get(path);
  if (known) return known;
  let sealed: SealedExecutable | undefined;
  const failures: string[] = [];
  for (const other of [...others, '/dev']) {
    try {
      sealed = { path, fd: overlayOpen(sys, path, realpathSafe(other)), how: 'overlay' };
      break;
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  if (!sealed) {
    debug(`no read-only overlay for ${path} (${failures.join('; ')})`);
    sealed = writable(path) ? { path, fd: memfdCopy(sys, path), how: 'memfd' } : { path, how: 'path' };
  }
  debug(`${path} is executed from ${sealed.how === 'path' ? 'its path (not writable by this process)' : `a sealed ${sealed.how}`}`);
  cache.set(path, sealed);
  return sealed;
}

function realpathSafe(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** An O_PATH fd of `path` through a detached read-only overlay of its directory. */
export function overlayOpen(sys: Syscalls, path: string, other: string): number {
  const dir = dirname(path);
  const ctx = sys.fsopen('overlay', FSOPEN_CLOEXEC);
  let mnt = -1;
  try {
    // Without an upper layer overlayfs needs two lower ones; the binary's directory is on top.
    sys.fsconfig(ctx, FSCONFIG_SET_STRING, 'lowerdir', `${escapeLowerDir(dir)}:${escapeLowerDir(other)}`);
    try {
      sys.fsconfig(ctx, FSCONFIG_SET_STRING, 'xino', 'off'); // no inode-number remapping, no dmesg noise
    } catch {
      // older kernels: the default is fine
    }
    sys.fsconfig(ctx, FSCONFIG_CMD_CREATE, null, null);
    mnt = sys.fsmount(ctx, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  } finally {
    sys.close(ctx);
  }
  try {
    const fd = sys.openat(mnt, basename(path), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    // The file seen through the overlay must be the binary itself (same inode and size).
    const real = sys.statx(AT_FDCWD, path, 0);
    const seen = sys.statx(fd, '', AT_EMPTY_PATH);
    if (seen.ino !== real.ino || seen.size !== real.size || seen.mode !== real.mode) {
      sys.close(fd);
      throw new Error(`overlay of ${dir}: ${basename(path)} is not ${path}`);
    }
    return fd;
  } finally {
    sys.close(mnt);
  }
}

/** A read-only fd of a sealed memfd holding a copy of `path`. */
export function memfdCopy(sys: Syscalls, path: string): number {
  const memfd = sys.memfdCreate(basename(path), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  try {
    copyFileSync(path, `/proc/self/fd/${memfd}`);
    sys.addSeals(memfd, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    return sys.open(`/proc/self/fd/${memfd}`, O_RDONLY | O_CLOEXEC);
  } finally {
    sys.close(memfd);
  }
}
