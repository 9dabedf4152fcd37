// After pivot_root: masked and read-only paths, the delayed read-only remounts, and a
// read-only root. Runs inside the container's root, so plain paths cannot lead out of it.
import type { Spec } from '../../spec';
import type { Syscalls } from '../../linux/syscalls';
import { makedev } from '../../linux/syscalls';
import { isErrno } from '../../linux/errors';
import { AT_FDCWD, MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, S_IFCHR, S_IFDIR, S_IFMT } from '../../linux/constants';
import { parseMountOptions } from '../../runtime/mount-options';
import { RootfsError, attempt, wrapError } from './errors';
import { MS_LOCKED_FLAGS, describeMountFlags, statvfsToMountFlags } from './flags';
import { isBindMount } from './mounts';
import { cleanPath } from './paths';
import { sleepMs } from '../../linux/sleep';

/** Data of the empty read-only tmpfs that masks a directory (as small as tmpfs allows). */
const MASK_TMPFS_DATA = 'nr_blocks=1,nr_inodes=1';

/**
 * linux.maskedPaths: /dev/null bound over a file, an empty read-only tmpfs over a directory;
 * a path that does not exist is skipped (as runc does).
 */
export function maskPaths(sys: Syscalls, paths: readonly string[]): void {
  const seen = new Set<string>();
  let devNullChecked = false;
  for (const raw of paths) {
    const path = cleanPath(raw);
    if (seen.has(path)) continue;
    seen.add(path);
    const what = `masked path ${path}`;
    let mode: number;
    try {
      mode = sys.statx(AT_FDCWD, path, 0).mode;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      throw wrapError(what, err);
    }
    if ((mode & S_IFMT) === S_IFDIR) {
      try {
        sys.mount('tmpfs', path, 'tmpfs', MS_RDONLY, MASK_TMPFS_DATA);
      } catch (err) {
        // Some kernels refuse nr_inodes=1: an empty read-only tmpfs is all we need anyway.
        if (!isErrno(err, 'EINVAL')) throw wrapError(`${what}: mount tmpfs`, err);
        attempt(`${what}: mount tmpfs`, undefined, () => sys.mount('tmpfs', path, 'tmpfs', MS_RDONLY, null));
      }
    } else {
      if (!devNullChecked) {
        checkDevNull(sys);
        devNullChecked = true;
      }
      attempt(`${what}: bind /dev/null`, undefined, () => sys.mount('/dev/null', path, null, MS_BIND, null));
    }
  }
}

/** The container's /dev/null must be the null device before it is bound over anything. */
function checkDevNull(sys: Syscalls): void {
  const st = attempt('masked paths: /dev/null', undefined, () => sys.statx(AT_FDCWD, '/dev/null', 0));
  if ((st.mode & S_IFMT) !== S_IFCHR || st.rdev !== makedev(1, 3)) {
    throw new RootfsError(`masked paths: the container's /dev/null is not the null device (char 1:3)`);
  }
}

/**
 * linux.readonlyPaths: each path is bound onto itself, then remounted MS_BIND|MS_REMOUNT|
 * MS_RDONLY keeping the flags the mount has (nosuid, nodev, noexec, atime: read with statvfs).
 * A path that does not exist is skipped.
 */
export function readonlyPaths(sys: Syscalls, paths: readonly string[]): void {
  for (const raw of paths) {
    const path = cleanPath(raw);
    const what = `readonly path ${path}`;
    try {
      sys.mount(path, path, null, MS_BIND | MS_REC, null);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      throw wrapError(`${what}: bind`, err);
    }
    const current = statvfsToMountFlags(attempt(what, 'statvfs', () => sys.statvfsFlags(path)));
    const flags = (current & MS_LOCKED_FLAGS) | MS_BIND | MS_REMOUNT | MS_RDONLY;
    attempt(what, `remount ${describeMountFlags(flags)}`, () => sys.mount(path, path, null, flags, null));
  }
}

/**
 * tmpfs mounts and /dev were mounted read-write so that files could be created in them; the
 * ones the spec wants read-only are remounted now (EBUSY is retried, as runc does).
 */
export function remountDelayedReadonly(sys: Syscalls, spec: Spec): void {
  for (const m of spec.mounts ?? []) {
    const opts = parseMountOptions(m.options);
    if ((opts.flags & MS_RDONLY) === 0) continue;
    const dest = cleanPath(m.destination);
    if (!((m.type === 'tmpfs' && !isBindMount(m)) || dest === '/dev')) continue;
    const flags = (opts.flags & ~MS_REC) | MS_BIND | MS_REMOUNT | MS_RDONLY;
    const what = `remount ${dest} read-only`;
    for (let attemptNo = 1; ; attemptNo++) {
      try {
        sys.mount(null, dest, null, flags, null);
        break;
      } catch (err) {
        if (isErrno(err, 'EBUSY') && attemptNo < 5) {
          sleepMs(100);
          continue;
        }
        throw wrapError(`${what} (${describeMountFlags(flags)})`, err);
      }
    }
  }
}

/** root.readonly: "/" remounted read-only, keeping its other flags. */
export function remountRootReadonly(sys: Syscalls): void {
  const current = statvfsToMountFlags(attempt('read-only root', 'statvfs /', () => sys.statvfsFlags('/')));
  const flags = (current & MS_LOCKED_FLAGS) | MS_BIND | MS_REMOUNT | MS_RDONLY;
  attempt(`read-only root: remount / ${describeMountFlags(flags)}`, undefined, () => sys.mount(null, '/', null, flags, null));
}
