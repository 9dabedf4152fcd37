// The container's /dev when it is not a bind of the host's: the default device nodes, the
// spec's linux.devices, /dev/ptmx and the /dev/fd, /dev/std* (and /dev/core) symlinks. As runc
// (createDevices, setupPtmx, setupDevSymlinks), all resolved inside the rootfs.
import type { LinuxDevice, Spec } from '../../spec';
import { isErrno } from '../../linux/errors';
import { makedev } from '../../linux/syscalls';
import {
  AT_EMPTY_PATH,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  MS_BIND,
  RESOLVE_BENEATH,
  RESOLVE_NO_SYMLINKS,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
} from '../../linux/constants';
import { RootfsError, attempt, wrapError } from './errors';
import { isBindMount, type MountContext } from './mounts';
import { cleanPath } from './paths';
import { procFd } from './resolve';

/** The devices every container gets (runc's AllowedDevices that have a path). */
export const DEFAULT_DEVICES: readonly LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const TYPE_BITS: Readonly<Record<string, number>> = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

/** /dev is set up unless a spec mount binds something (the host's /dev) onto it. */
export function needsDevSetup(spec: Spec): boolean {
  return !(spec.mounts ?? []).some((m) => isBindMount(m) && cleanPath(m.destination) === '/dev');
}

/** Default devices not overridden by the spec (same path), then the spec's; never /dev/ptmx. */
export function containerDevices(spec: Spec): LinuxDevice[] {
  const own = spec.linux?.devices ?? [];
  const paths = new Set(own.map((d) => cleanPath(d.path)));
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...own].filter((d) => cleanPath(d.path) !== '/dev/ptmx');
}

/**
 * Creates the device nodes (umask 0 meanwhile), /dev/ptmx when /dev/pts is mounted, and the
 * standard symlinks. Inside a user namespace mknod is not allowed: the host's node is
 * bind-mounted onto an empty file instead (also the fallback when mknod fails with EPERM).
 */
export function setupDev(ctx: MountContext, spec: Spec): void {
  const useBind = (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'user') || ctx.env.inUserNamespace();
  const old = ctx.sys.umask(0);
  try {
    for (const d of containerDevices(spec)) createDevice(ctx, d, useBind);
  } finally {
    ctx.sys.umask(old);
  }
  if ((spec.mounts ?? []).some((m) => cleanPath(m.destination) === '/dev/pts')) setupPtmx(ctx);
  setupDevSymlinks(ctx);
}

export function createDevice(ctx: MountContext, d: LinuxDevice, useBind: boolean): void {
  const { sys, root } = ctx;
  const path = cleanPath(d.path);
  const what = `device ${path}`;
  const typeBits = TYPE_BITS[d.type];
  if (typeBits === undefined) throw new RootfsError(`${what}: unknown device type "${String(d.type)}"`);
  if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
    throw new RootfsError(`${what}: type ${d.type} needs major and minor numbers`);
  }
  if (path === '/') throw new RootfsError(`${what}: refusing to create a device over the root directory`);
  const mode = ((d.fileMode ?? 0o666) & 0o7777) | typeBits;
  const dev = d.type === 'p' ? 0n : makedev(Number(d.major), Number(d.minor));
  const { dirfd, name } = attempt(what, undefined, () => root.parent(path));
  try {
    if (useBind && d.type !== 'p') {
      bindDevice(ctx, what, path, dirfd, name);
      return;
    }
    try {
      sys.mknodat(dirfd, name, mode, dev);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return;
      if (isErrno(err, 'EPERM') && d.type !== 'p') {
        bindDevice(ctx, what, path, dirfd, name);
        return;
      }
      throw wrapError(what, err, 'mknodat');
    }
    const fd = attempt(what, 'open', () =>
      sys.openat2(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
    );
    try {
      const st = attempt(what, 'statx', () => sys.statx(fd, '', AT_EMPTY_PATH));
      if ((st.mode & S_IFMT) !== typeBits || (d.type !== 'p' && st.rdev !== dev)) {
        throw new RootfsError(`${what}: the new node is not the device asked for (mode 0${st.mode.toString(8)})`);
      }
      attempt(what, 'fchownat', () => sys.fchownat(fd, '', d.uid ?? 0, d.gid ?? 0, AT_EMPTY_PATH));
    } finally {
      root.closeQuietly(fd);
    }
  } finally {
    root.closeQuietly(dirfd);
  }
}

/** Bind-mounts the host's node at `hostPath` onto an empty file (created if missing). */
function bindDevice(ctx: MountContext, what: string, hostPath: string, dirfd: number, name: string): void {
  const { sys, root } = ctx;
  try {
    const f = sys.openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    sys.close(f);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw wrapError(what, err, 'create the bind mount point');
  }
  const fd = attempt(what, 'open', () =>
    sys.openat2(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
  );
  try {
    const st = attempt(what, 'statx', () => sys.statx(fd, '', AT_EMPTY_PATH));
    if ((st.mode & S_IFMT) === S_IFLNK) throw new RootfsError(`${what}: is a symlink, refusing to mount on it`);
    attempt(what, `bind the host's ${hostPath}`, () => sys.mount(hostPath, procFd(fd), null, MS_BIND, null));
  } finally {
    root.closeQuietly(fd);
  }
}

/** /dev/ptmx -> pts/ptmx (the ptmx of the container's own devpts instance). */
function setupPtmx(ctx: MountContext): void {
  const { sys, root } = ctx;
  const { dirfd, name } = attempt('/dev/ptmx', undefined, () => root.parent('/dev/ptmx'));
  try {
    try {
      sys.unlinkat(dirfd, name, 0);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw wrapError('/dev/ptmx', err, 'unlinkat');
    }
    attempt('/dev/ptmx', 'symlinkat', () => sys.symlinkat('pts/ptmx', dirfd, name));
  } finally {
    root.closeQuietly(dirfd);
  }
}

function setupDevSymlinks(ctx: MountContext): void {
  const { sys, root } = ctx;
  const links: Array<[string, string]> = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  // The kernel may be built without /proc/kcore; link it only when there is one (as runc).
  if (ctx.env.exists('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  for (const [target, path] of links) {
    const { dirfd, name } = attempt(path, undefined, () => root.parent(path));
    try {
      sys.symlinkat(target, dirfd, name);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw wrapError(`symlink ${path} -> ${target}`, err, 'symlinkat');
    } finally {
      root.closeQuietly(dirfd);
    }
  }
}
