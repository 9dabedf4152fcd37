// The container's root filesystem, in three steps the init runs in its new mount namespace
// (see main.ts): prepareRootfs (mounts, devices: still in the host's root), enterRootfs
// (pivot_root, or MS_MOVE + chroot with --no-pivot) and finishRootfs (masked and read-only
// paths, read-only root). Modelled on runc's libcontainer/rootfs_linux.go.
//
// Security: every destination inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT)
// from an fd of the rootfs and mounted through /proc/self/fd/N (rootfs/resolve.ts), so a
// symlink in the image can never make a mount land on the host.
import { posix } from 'node:path';
import type { InitConfig } from '../runtime/protocol';
import type { Spec } from '../spec';
import type { Syscalls } from '../linux/syscalls';
import { isErrno } from '../linux/errors';
import {
  MNT_DETACH,
  MS_BIND,
  MS_MOVE,
  MS_PRIVATE,
  MS_REC,
  MS_SLAVE,
  O_CLOEXEC,
  O_DIRECTORY,
  O_PATH,
} from '../linux/constants';
import { hostEnv, type HostEnv } from './rootfs/env';
import { RootfsError, attempt, wrapError } from './rootfs/errors';
import { ROOTFS_PROPAGATION, describeMountFlags } from './rootfs/flags';
import { mountEntry, type MountContext } from './rootfs/mounts';
import { needsDevSetup, setupDev } from './rootfs/devices';
import { maskPaths, readonlyPaths, remountDelayedReadonly, remountRootReadonly } from './rootfs/finish';
import { parseMountInfo } from './rootfs/mountinfo';
import { cleanPath, isWithin } from './rootfs/paths';
import { RootDir } from './rootfs/resolve';

export { RootfsError } from './rootfs/errors';
export type { HostEnv } from './rootfs/env';

/** linux.rootfsPropagation as mount(2) flags; MS_REC|MS_PRIVATE when unset. */
export function rootPropagation(spec: Spec): number {
  const name = spec.linux?.rootfsPropagation;
  if (name === undefined) return MS_REC | MS_PRIVATE;
  const flags = ROOTFS_PROPAGATION[name];
  if (flags === undefined) throw new RootfsError(`linux.rootfsPropagation: unknown value ${JSON.stringify(name)}`);
  return flags;
}

/**
 * Before the hooks and pivot_root: "/" gets the root propagation (private unless the spec says
 * otherwise, so nothing we mount reaches the host), the rootfs is bind-mounted onto itself (it
 * must be a mount point for pivot_root), then every spec.mounts entry is mounted in order and,
 * unless /dev is a bind of the host's, the device nodes and /dev symlinks are created.
 */
export function prepareRootfs(sys: Syscalls, config: InitConfig, env: HostEnv = hostEnv): void {
  const { spec, rootfs } = config;
  if (!posix.isAbsolute(rootfs)) throw new RootfsError(`rootfs ${rootfs}: the path must be absolute`);
  const prop = rootPropagation(spec);
  attempt(`set the propagation of / to ${describeMountFlags(prop)}`, undefined, () => sys.mount(null, '/', null, prop, null));
  // With a non-recursive or shared propagation, the mount holding the rootfs may still be
  // shared: the bind below would then appear on the host.
  if ((prop & MS_REC) === 0 || (prop & (MS_PRIVATE | MS_SLAVE)) === 0) makeParentMountPrivate(sys, rootfs, prop);
  attempt(`bind the rootfs ${rootfs} onto itself`, undefined, () => sys.mount(rootfs, rootfs, null, MS_BIND | MS_REC, null));

  const root = RootDir.open(sys, rootfs);
  try {
    const ctx: MountContext = { sys, root, bundle: config.bundle, env, cgroupDirs: config.cgroupDirs };
    for (const [i, m] of (spec.mounts ?? []).entries()) mountEntry(ctx, m, config.runtimeMountFds?.[i]);
    if (needsDevSetup(spec)) setupDev(ctx, spec);
  } finally {
    root.closeQuietly(root.fd);
  }
}

/** The mount holding `rootfs` (found by walking up until mount(2) stops saying EINVAL) made private/slave. */
function makeParentMountPrivate(sys: Syscalls, rootfs: string, prop: number): void {
  const flags = (prop & MS_SLAVE) !== 0 ? MS_SLAVE : MS_PRIVATE;
  for (let path = rootfs; ; path = posix.dirname(path)) {
    try {
      sys.mount(null, path, null, flags, null);
      return;
    } catch (err) {
      if (!isErrno(err, 'EINVAL') || path === '/') throw wrapError(`set the propagation of ${path} (holding the rootfs) to ${describeMountFlags(flags)}`, err);
    }
  }
}

/**
 * Makes the rootfs the root: pivot_root(".", ".") from inside it, then the old root (now
 * stacked under "/") is made MS_SLAVE|MS_REC, so that detaching it cannot propagate to the host,
 * and lazily unmounted: no old-root directory is left anywhere. With config.noPivot: MS_MOVE of
 * the rootfs onto "/" and chroot("."), as runc --no-pivot. A shared/unbindable
 * linux.rootfsPropagation is applied to the new "/" afterwards.
 */
export function enterRootfs(sys: Syscalls, config: InitConfig, env: HostEnv = hostEnv): void {
  if (config.noPivot) moveRoot(sys, config.rootfs, env);
  else pivotRoot(sys, config.rootfs);
  const prop = rootPropagation(config.spec);
  if (config.spec.linux?.rootfsPropagation !== undefined && (prop & (MS_PRIVATE | MS_SLAVE)) === 0) {
    attempt(`set the propagation of the new / to ${describeMountFlags(prop)}`, undefined, () => sys.mount(null, '/', null, prop, null));
  }
}

function pivotRoot(sys: Syscalls, rootfs: string): void {
  const what = `pivot_root to ${rootfs}`;
  const oldRoot = attempt(what, 'open /', () => sys.open('/', O_PATH | O_DIRECTORY | O_CLOEXEC));
  try {
    const newRoot = attempt(what, `open ${rootfs}`, () => sys.open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
    try {
      attempt(what, 'fchdir to the rootfs', () => sys.fchdir(newRoot));
    } finally {
      sys.close(newRoot);
    }
    attempt(what, 'pivot_root(".", ".")', () => sys.pivotRoot('.', '.'));
    // The old root is now mounted on top of the new one, and is our cwd once we fchdir to it.
    attempt(what, 'fchdir to the old root', () => sys.fchdir(oldRoot));
    attempt(what, 'make the old root MS_SLAVE|MS_REC', () => sys.mount(null, '.', null, MS_SLAVE | MS_REC, null));
    attempt(what, 'detach the old root', () => sys.umount2('.', MNT_DETACH));
    attempt(what, 'chdir /', () => sys.chdir('/'));
  } finally {
    sys.close(oldRoot);
  }
}

/**
 * --no-pivot: the host's procfs and sysfs mounts outside the rootfs are detached first (or
 * covered with a tmpfs), since with chroot they would stay reachable in this mount namespace
 * and the kernel lets a process mount a new procfs whenever a full one is visible.
 */
function moveRoot(sys: Syscalls, rootfs: string, env: HostEnv): void {
  const what = `move the rootfs ${rootfs} to /`;
  attempt(what, `chdir ${rootfs}`, () => sys.chdir(rootfs));
  const exposed = parseMountInfo(env.mountInfo()).filter(
    (m) => m.root === '/' && (m.fstype === 'proc' || m.fstype === 'sysfs') && !isWithin(m.mountPoint, cleanPath(rootfs)),
  );
  for (const m of exposed) {
    const p = m.mountPoint;
    try {
      sys.mount(null, p, null, MS_SLAVE | MS_REC, null);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue; // under something already detached
      throw wrapError(what, err, `make ${p} MS_SLAVE|MS_REC`);
    }
    try {
      sys.umount2(p, MNT_DETACH);
    } catch (err) {
      if (!isErrno(err, 'EINVAL', 'EPERM')) throw wrapError(what, err, `detach ${p}`);
      attempt(what, `cover ${p} with a tmpfs`, () => sys.mount('tmpfs', p, 'tmpfs', 0, null));
    }
  }
  attempt(what, 'MS_MOVE', () => sys.mount(rootfs, '/', null, MS_MOVE, null));
  attempt(what, 'chroot .', () => sys.chroot('.'));
  attempt(what, 'chdir /', () => sys.chdir('/'));
}

/**
 * After pivot_root (and after applySystemSettings, whose sysctl values need /proc/sys still
 * writable): the working directory is created if missing, then linux.readonlyPaths,
 * linux.maskedPaths, the read-only remount of tmpfs mounts and /dev that asked for it, and
 * root.readonly.
 */
export function finishRootfs(sys: Syscalls, config: InitConfig): void {
  const { spec } = config;
  const cwd = spec.process?.cwd;
  if (cwd !== undefined && cwd !== '') {
    const root = RootDir.open(sys, '/');
    try {
      root.closeQuietly(attempt(`working directory ${cwd}`, 'create', () => root.ensure(cwd, 'dir')));
    } finally {
      root.closeQuietly(root.fd);
    }
  }
  readonlyPaths(sys, spec.linux?.readonlyPaths ?? []);
  maskPaths(sys, spec.linux?.maskedPaths ?? []);
  remountDelayedReadonly(sys, spec);
  if (spec.root?.readonly) remountRootReadonly(sys);
}
