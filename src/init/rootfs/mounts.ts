// spec.mounts, one entry at a time, inside the rootfs (before pivot_root). Modelled on runc's
// mountToRootfs: destinations are resolved and created inside the root (resolve.ts), mounts
// target /proc/self/fd/N of the resolved O_PATH fd, and every later operation on the new
// mount (propagation, remount, mount_setattr) uses a fresh fd re-opened on top of it.
import { posix } from 'node:path';
import type { Mount } from '../../spec';
import type { Syscalls } from '../../linux/syscalls';
import { isErrno } from '../../linux/errors';
import {
  AT_EMPTY_PATH,
  AT_RECURSIVE,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  S_IFDIR,
  S_IFMT,
  O_NOFOLLOW,
  O_PATH,
} from '../../linux/constants';
import { parseMountOptions, type ParsedMountOptions } from '../../runtime/mount-options';
import type { HostEnv } from './env';
import { RootfsError, attempt, wrapError } from './errors';
import { MS_ATIME_FLAGS, MS_LOCKED_FLAGS, describeMountFlags, statvfsToMountFlags } from './flags';
import { cgroupV1Hierarchies, parseMountInfo, type CgroupHierarchy } from './mountinfo';
import { cleanPath, isWithin } from './paths';
import { RootDir, procFd } from './resolve';
import { isIdmapped, runtimeMount, type RuntimeMount } from './idmap';

export interface MountContext {
  sys: Syscalls;
  /** The container's rootfs (already bind-mounted onto itself). */
  root: RootDir;
  /** Relative bind sources are taken from here. */
  bundle: string;
  env: HostEnv;
  /**
   * Host cgroup mount point → the container's own cgroup directory there. `cgroup` mounts bind
   * these (as runc does without a cgroup namespace) rather than showing the host's hierarchy.
   */
  cgroupDirs?: Record<string, string> | undefined;
}

/** Flags of every cgroup v1 mount runc makes (and of the tmpfs under them). */
const CGROUP_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/** The files under /proc that may be mount destinations (what lxcfs provides), as in runc. */
const PROC_MOUNT_ALLOWED = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
]);

/** True for bind mounts: type "bind", or a "bind"/"rbind" option (with type "none" or none). */
export function isBindMount(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** "mount SOURCE on DESTINATION (TYPE)", the destination as seen in the container. */
export function describeMount(m: Mount): string {
  const type = isBindMount(m) ? 'bind' : (m.type ?? 'none');
  return `mount ${m.source ?? m.type ?? 'none'} on ${cleanPath(m.destination)} (${type})`;
}

/**
 * Mounts one spec.mounts entry inside the root. Errors name the mount. `treeFd`: the bind mount
 * the runtime made for this entry (idmapped, or of a source out of the init's reach), to attach
 * (see rootfs/idmap.ts).
 */
export function mountEntry(ctx: MountContext, m: Mount, treeFd?: number): void {
  const label = describeMount(m);
  try {
    const opts = parseMountOptions(m.options);
    const dest = cleanPath(m.destination);
    let fd: number;
    if (isBindMount(m)) {
      if (!m.source) throw new RootfsError(`${label}: a bind mount needs a source`);
      if (isIdmapped(m) && treeFd === undefined) throw new RootfsError(`${label}: idmapped, but the runtime passed no mount for it`);
      const made = treeFd === undefined ? undefined : attempt(label, 'the mount made by the runtime', () => runtimeMount(ctx.sys, treeFd));
      fd = mountBind(ctx, label, posix.resolve(ctx.bundle, m.source), dest, opts, made);
    } else if (!m.type) {
      throw new RootfsError(`${label}: the mount has no type`);
    } else if (m.type === 'cgroup') {
      fd = mountCgroup(ctx, label, m, dest, opts);
    } else {
      if (m.type === 'proc' || m.type === 'sysfs') requireOrdinaryDirectory(ctx, m.type, dest);
      const fallback =
        m.type === 'sysfs'
          ? // Not allowed to mount a sysfs (a user namespace without its own network
            // namespace): bind the host's /sys instead, as runc does.
            () => mountBind(ctx, label, '/sys', dest, { ...opts, flags: opts.flags | MS_BIND | MS_REC })
          : undefined;
      fd = mountFilesystem(ctx, label, { source: m.source ?? m.type, type: m.type, dest, opts, fallback });
    }
    ctx.root.closeQuietly(fd);
  } catch (err) {
    throw wrapError(label, err);
  }
}

/**
 * proc and sysfs only on a directory that is one in the image, never through a symlink (or onto
 * a file), as runc: the masked and read-only paths, the sysctls and the init's own use of
 * /proc/self must find them where the spec says, not wherever an image's "/proc -> ..." leads
 * (e.g. under a later tmpfs, which would hide an unmasked procfs).
 */
function requireOrdinaryDirectory(ctx: MountContext, type: string, dest: string): void {
  const fd = ctx.root.tryOpen(dest, O_PATH | O_NOFOLLOW);
  if (fd === null) return; // created as a directory
  try {
    if ((ctx.sys.statx(fd, '', AT_EMPTY_PATH).mode & S_IFMT) !== S_IFDIR) {
      throw new RootfsError(`filesystem "${type}" must be mounted on ordinary directory`);
    }
  } finally {
    ctx.root.closeQuietly(fd);
  }
}

interface FsMount {
  source: string;
  type: string;
  dest: string;
  opts: ParsedMountOptions;
  /** Replaces the mount when the kernel refuses it with EPERM or EBUSY. */
  fallback?: (() => number) | undefined;
}

/**
 * A new filesystem (proc, tmpfs, devpts, ...) at f.dest. Returns an O_PATH fd of the new mount.
 * tmpfs mounts and /dev are mounted read-write (their read-only remount is finishRootfs's job:
 * files are still to be created in them); an existing directory's mode is kept for a tmpfs
 * unless the data sets one.
 */
export function mountFilesystem(ctx: MountContext, label: string, f: FsMount): number {
  const { sys, root } = ctx;
  const existing = root.tryOpen(f.dest);
  let fd = existing ?? root.create(f.dest, 'dir');
  try {
    const where = checkDestination(ctx, fd, f.type, null);
    let flags = f.opts.flags;
    if (f.type === 'tmpfs' || f.dest === '/dev') flags &= ~MS_RDONLY;
    let data = f.opts.data;
    if (f.type === 'tmpfs' && existing !== null && !/(^|,)mode=/.test(data)) {
      const st = sys.statx(fd, '', AT_EMPTY_PATH);
      if ((st.mode & S_IFMT) === S_IFDIR) {
        const mode = `mode=${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
        data = data === '' ? mode : `${mode},${data}`;
      }
    }
    try {
      sys.mount(f.source, procFd(fd), f.type, flags, data === '' ? null : data);
    } catch (err) {
      if (f.fallback && isErrno(err, 'EPERM', 'EBUSY')) {
        root.closeQuietly(fd);
        fd = -1;
        return f.fallback();
      }
      throw wrapError(label, err);
    }
    const top = root.reopen(where, fd);
    root.closeQuietly(fd);
    fd = top;
    applyPropagation(ctx, label, fd, f.opts.propagation);
    applyRecursiveAttrs(ctx, label, fd, f.opts);
    return fd;
  } catch (err) {
    if (fd >= 0) root.closeQuietly(fd);
    throw err;
  }
}

/**
 * A bind mount of a host path (already absolute). The mount point is created as a file for a
 * file source, a directory otherwise. bind ignores every other flag, so flags (ro, nosuid...)
 * are applied by a second MS_BIND|MS_REMOUNT pass on the new mount, propagation by separate
 * calls and r* attributes by mount_setattr(AT_RECURSIVE). Returns an O_PATH fd of the mount.
 */
export function mountBind(
  ctx: MountContext,
  label: string,
  source: string,
  dest: string,
  opts: ParsedMountOptions,
  made?: RuntimeMount,
): number {
  const { sys, root } = ctx;
  const kind = made ? made.kind : attempt(label, `source ${source}`, () => ctx.env.sourceKind(source));
  let fd = root.ensure(dest, kind);
  try {
    const where = checkDestination(ctx, fd, 'bind', source);
    const bindFd = fd;
    attempt(label, undefined, () => (made ? made.attach(source, bindFd) : sys.mount(source, procFd(bindFd), null, MS_BIND | (opts.flags & MS_REC), null)));
    const top = root.reopen(where, fd);
    root.closeQuietly(fd);
    fd = top;
    applyPropagation(ctx, label, fd, opts.propagation);
    if ((opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) !== 0 || opts.cleared !== 0) {
      remountBind(ctx, label, fd, opts.flags, opts.cleared);
    }
    applyRecursiveAttrs(ctx, label, fd, opts);
    return fd;
  } catch (err) {
    root.closeQuietly(fd);
    throw err;
  }
}

/**
 * MS_BIND|MS_REMOUNT with the requested flags. When the kernel refuses (EPERM: flags locked
 * by a less privileged mount namespace, e.g. nosuid on a source inside a user namespace), the
 * locked flags the mount already has are added and the remount is tried once more; asking to
 * clear a locked flag, or to change a locked atime mode, is an error.
 */
export function remountBind(ctx: MountContext, label: string, fd: number, requested: number, cleared: number): void {
  const { sys } = ctx;
  let flags = (requested & ~MS_REC) | MS_BIND | MS_REMOUNT;
  try {
    sys.mount(null, procFd(fd), null, flags, null);
    return;
  } catch (err) {
    if (!isErrno(err, 'EPERM')) throw wrapError(label, err, `remount ${describeMountFlags(flags)}`);
  }
  const current = statvfsToMountFlags(attempt(label, 'statvfs', () => sys.statvfsFlags(procFd(fd))));
  const cannotClear = current & cleared & MS_LOCKED_FLAGS;
  if (cannotClear !== 0) {
    throw new RootfsError(`${label}: remount: cannot clear locked flags ${describeMountFlags(cannotClear)}: EPERM: Operation not permitted`);
  }
  if ((requested & MS_ATIME_FLAGS) !== 0 && (requested & MS_ATIME_FLAGS) !== (current & MS_ATIME_FLAGS)) {
    throw new RootfsError(
      `${label}: remount: cannot change locked atime flags ${describeMountFlags(current & MS_ATIME_FLAGS)}: EPERM: Operation not permitted`,
    );
  }
  flags |= current & MS_LOCKED_FLAGS;
  attempt(label, `remount with the locked flags kept ${describeMountFlags(flags)}`, () =>
    sys.mount(null, procFd(fd), null, flags, null),
  );
}

/** One mount(2) call per propagation option (shared, rslave, ...), in order. */
function applyPropagation(ctx: MountContext, label: string, fd: number, propagation: readonly number[]): void {
  for (const p of propagation) {
    attempt(label, `set propagation ${describeMountFlags(p)}`, () => ctx.sys.mount(null, procFd(fd), null, p, null));
  }
}

/** The r* options (rro, rnosuid, rnoatime...): mount_setattr(AT_RECURSIVE) on the new mount. */
function applyRecursiveAttrs(ctx: MountContext, label: string, fd: number, opts: ParsedMountOptions): void {
  if (opts.attrSet === 0 && opts.attrClear === 0) return;
  attempt(label, 'mount_setattr', () =>
    ctx.sys.mountSetattr(fd, '', AT_EMPTY_PATH | AT_RECURSIVE, { attrSet: opts.attrSet, attrClr: opts.attrClear }),
  );
}

/**
 * Where an fd resolved for a destination really is inside the container; refuses the root
 * itself and, like runc's checkProcMount, anything under /proc other than a fresh proc on
 * /proc (or a bind of a procfs root), and the few files lxcfs provides.
 */
function checkDestination(ctx: MountContext, fd: number, type: string, bindSource: string | null): string {
  const where = ctx.root.pathOf(fd);
  if (where === '/') throw new RootfsError(`the destination resolves to the container's root directory`);
  if (!isWithin(where, '/proc')) return where;
  if (where === '/proc') {
    if (bindSource === null ? type === 'proc' : ctx.env.isProcfsRoot(bindSource)) return where;
    throw new RootfsError(`"${where}" cannot be mounted because it is not of type proc`);
  }
  if (PROC_MOUNT_ALLOWED.has(where)) return where;
  throw new RootfsError(`"${where}" cannot be mounted because it is inside /proc`);
}

/**
 * type "cgroup". On a cgroup v2 host: a cgroup2 mount (a bind of /sys/fs/cgroup when the kernel
 * refuses one). On a v1 (or hybrid) host: a tmpfs at the destination with one cgroup v1 mount
 * per hierarchy the host has (same controllers / name=), symlinks for merged controllers
 * ("cpu -> cpu,cpuacct"), and the tmpfs made read-only at the end if "ro" was asked.
 * When the container has a cgroup (ctx.cgroupDirs), its own directory is bind-mounted instead,
 * in every hierarchy (v2: the one): the init joins its cgroup namespace only at the very end,
 * so a fresh cgroup mount here would show the host's whole hierarchy (runc without cgroupns).
 */
function mountCgroup(ctx: MountContext, label: string, m: Mount, dest: string, opts: ParsedMountOptions): number {
  const { sys, env, root } = ctx;
  if (env.cgroup2Unified()) {
    const own = ctx.cgroupDirs?.['/sys/fs/cgroup'];
    if (own !== undefined) return mountBind(ctx, label, own, dest, { ...opts, flags: opts.flags | MS_BIND | MS_REC });
    return mountFilesystem(ctx, label, {
      source: m.source ?? 'cgroup2',
      type: 'cgroup2',
      dest,
      opts,
      fallback: () => mountBind(ctx, label, '/sys/fs/cgroup', dest, { ...opts, flags: opts.flags | MS_BIND | MS_REC }),
    });
  }
  const hierarchies = cgroupV1Hierarchies(parseMountInfo(env.mountInfo()));
  const tmpfs: ParsedMountOptions = {
    flags: CGROUP_FLAGS,
    propagation: opts.propagation,
    attrSet: 0,
    attrClear: 0,
    data: 'mode=755',
    cleared: 0,
  };
  const top = mountFilesystem(ctx, label, { source: 'tmpfs', type: 'tmpfs', dest, opts: tmpfs });
  try {
    const where = root.pathOf(top);
    const flags = (opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | CGROUP_FLAGS;
    for (const h of hierarchies) mountCgroupHierarchy(ctx, label, posix.join(where, h.name), h, flags, opts);
    for (const h of hierarchies) {
      if (!h.name.includes(',')) continue;
      for (const controller of h.name.split(',')) {
        try {
          sys.symlinkat(h.name, top, controller);
        } catch (err) {
          if (!isErrno(err, 'EEXIST')) throw wrapError(label, err, `symlink ${posix.join(where, controller)} -> ${h.name}`);
        }
      }
    }
    if ((opts.flags & MS_RDONLY) !== 0) {
      const ro = MS_BIND | MS_REMOUNT | MS_RDONLY | CGROUP_FLAGS;
      attempt(label, `remount ${describeMountFlags(ro)}`, () => sys.mount(null, procFd(top), null, ro, null));
    }
    applyRecursiveAttrs(ctx, label, top, opts);
    return top;
  } catch (err) {
    root.closeQuietly(top);
    throw err;
  }
}

function mountCgroupHierarchy(
  ctx: MountContext,
  label: string,
  path: string,
  h: CgroupHierarchy,
  flags: number,
  opts: ParsedMountOptions,
): void {
  const { sys, root } = ctx;
  const step = `cgroup hierarchy ${h.name}`;
  const fd = root.ensure(path, 'dir');
  let top = -1;
  try {
    let bound = false;
    const containerDir = ctx.cgroupDirs?.[h.mountPoint];
    if (containerDir !== undefined) {
      // The container's own directory of the hierarchy (its cgroup namespace does not exist yet).
      attempt(label, `${step}: bind ${containerDir}`, () => sys.mount(containerDir, procFd(fd), null, MS_BIND | MS_REC, null));
      bound = true;
    } else {
      try {
        sys.mount('cgroup', procFd(fd), 'cgroup', flags, h.data);
      } catch (err) {
        if (!isErrno(err, 'EPERM')) throw wrapError(label, err, step);
        // No new cgroup mount allowed (user namespace without a cgroup namespace): bind this
        // process's own cgroup directory of the hierarchy, as runc does without cgroupns.
        const own = ownCgroupDir(ctx.env, h);
        attempt(label, `${step}: bind ${own}`, () => sys.mount(own, procFd(fd), null, MS_BIND | MS_REC, null));
        bound = true;
      }
    }
    top = root.reopen(path, fd);
    if (bound) remountBind(ctx, label, top, flags | MS_BIND, 0);
    applyPropagation(ctx, label, top, opts.propagation);
  } finally {
    if (top >= 0) root.closeQuietly(top);
    root.closeQuietly(fd);
  }
}

/** Host directory of this process's cgroup in hierarchy `h` (from /proc/self/cgroup). */
function ownCgroupDir(env: HostEnv, h: CgroupHierarchy): string {
  const wanted = new Set(h.data.split(','));
  for (const line of env.selfCgroup().split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || m[1] === '') continue;
    const controllers = m[1]!.split(',');
    if (!controllers.every((c) => wanted.has(c))) continue;
    const path = m[2]!;
    let rel = path;
    if (h.root !== '/') rel = isWithin(path, h.root) ? path.slice(h.root.length) : '/';
    return posix.join(h.mountPoint, rel);
  }
  return h.mountPoint;
}
