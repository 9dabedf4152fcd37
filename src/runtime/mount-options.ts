// OCI mount options → mount(2) flags, propagation changes, recursive mount attributes
// (mount_setattr) and the filesystem data string. The tables here are also what
// `tsrun features` reports as mountOptions.

import * as C from '../linux/constants';

const MS = {
  RDONLY: C.MS_RDONLY, NOSUID: C.MS_NOSUID, NODEV: C.MS_NODEV, NOEXEC: C.MS_NOEXEC, SYNCHRONOUS: C.MS_SYNCHRONOUS,
  REMOUNT: C.MS_REMOUNT, MANDLOCK: C.MS_MANDLOCK, DIRSYNC: C.MS_DIRSYNC, NOSYMFOLLOW: C.MS_NOSYMFOLLOW,
  NOATIME: C.MS_NOATIME, NODIRATIME: C.MS_NODIRATIME, BIND: C.MS_BIND, REC: C.MS_REC, SILENT: C.MS_SILENT,
  UNBINDABLE: C.MS_UNBINDABLE, PRIVATE: C.MS_PRIVATE, SLAVE: C.MS_SLAVE, SHARED: C.MS_SHARED,
  RELATIME: C.MS_RELATIME, STRICTATIME: C.MS_STRICTATIME, LAZYTIME: C.MS_LAZYTIME,
} as const;

const MOUNT_ATTR = {
  RDONLY: C.MOUNT_ATTR_RDONLY, NOSUID: C.MOUNT_ATTR_NOSUID, NODEV: C.MOUNT_ATTR_NODEV, NOEXEC: C.MOUNT_ATTR_NOEXEC,
  ATIME_MASK: C.MOUNT_ATTR__ATIME, RELATIME: C.MOUNT_ATTR_RELATIME, NOATIME: C.MOUNT_ATTR_NOATIME,
  STRICTATIME: C.MOUNT_ATTR_STRICTATIME, NODIRATIME: C.MOUNT_ATTR_NODIRATIME, NOSYMFOLLOW: C.MOUNT_ATTR_NOSYMFOLLOW,
} as const;

/** Options that set (true) or clear (false) a mount(2) flag. */
const FLAG_OPTIONS: Record<string, [set: boolean, flag: number]> = {
  async: [false, MS.SYNCHRONOUS], atime: [false, MS.NOATIME], bind: [true, MS.BIND], defaults: [false, 0],
  dev: [false, MS.NODEV], diratime: [false, MS.NODIRATIME], dirsync: [true, MS.DIRSYNC], exec: [false, MS.NOEXEC],
  lazytime: [true, MS.LAZYTIME], loud: [false, MS.SILENT], mand: [true, MS.MANDLOCK], noatime: [true, MS.NOATIME],
  nodev: [true, MS.NODEV], nodiratime: [true, MS.NODIRATIME], noexec: [true, MS.NOEXEC], nolazytime: [false, MS.LAZYTIME],
  nomand: [false, MS.MANDLOCK], norelatime: [false, MS.RELATIME], nostrictatime: [false, MS.STRICTATIME],
  nosuid: [true, MS.NOSUID], nosymfollow: [true, MS.NOSYMFOLLOW], rbind: [true, MS.BIND | MS.REC],
  relatime: [true, MS.RELATIME], remount: [true, MS.REMOUNT], ro: [true, MS.RDONLY], rw: [false, MS.RDONLY],
  silent: [true, MS.SILENT], strictatime: [true, MS.STRICTATIME], suid: [false, MS.NOSUID], sync: [true, MS.SYNCHRONOUS],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Recursive attributes applied with mount_setattr(AT_RECURSIVE): [set, attribute]. */
const RECURSIVE_OPTIONS: Record<string, [set: boolean, attr: number]> = {
  rro: [true, MOUNT_ATTR.RDONLY], rrw: [false, MOUNT_ATTR.RDONLY], rnosuid: [true, MOUNT_ATTR.NOSUID],
  rsuid: [false, MOUNT_ATTR.NOSUID], rnodev: [true, MOUNT_ATTR.NODEV], rdev: [false, MOUNT_ATTR.NODEV],
  rnoexec: [true, MOUNT_ATTR.NOEXEC], rexec: [false, MOUNT_ATTR.NOEXEC], rnodiratime: [true, MOUNT_ATTR.NODIRATIME],
  rdiratime: [false, MOUNT_ATTR.NODIRATIME], rnosymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW],
  rsymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
};

/** The atime family replaces the whole ATIME field rather than toggling a bit. */
const RECURSIVE_ATIME: Record<string, number> = {
  rrelatime: MOUNT_ATTR.RELATIME, rnoatime: MOUNT_ATTR.NOATIME, rstrictatime: MOUNT_ATTR.STRICTATIME,
};
const RECURSIVE_ATIME_CLEAR = new Set(['rnorelatime', 'ratime', 'rnostrictatime']);

export interface ParsedMountOptions {
  /** Flags for the mount(2) call itself. */
  flags: number;
  /** Propagation changes, each applied with its own mount(2) call after the mount. */
  propagation: number[];
  /** mount_setattr(AT_RECURSIVE) attributes to set and clear; 0 when there are none. */
  attrSet: number;
  attrClear: number;
  /** Options the kernel filesystem interprets, joined with commas (e.g. "mode=755,size=64k"). */
  data: string;
  /**
   * Flags an option explicitly cleared ("rw", "suid", "dev", "exec", ...). A bind mount needs
   * its remount pass when any are given, so that e.g. "bind,rw" of a read-only source is rw.
   */
  cleared: number;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, propagation: [], attrSet: 0, attrClear: 0, data: '', cleared: 0 };
  const data: string[] = [];
  for (const option of options) {
    const flag = FLAG_OPTIONS[option];
    if (flag) {
      out.flags = flag[0] ? out.flags | flag[1] : out.flags & ~flag[1];
      out.cleared = flag[0] ? out.cleared & ~flag[1] : out.cleared | flag[1];
      continue;
    }
    const propagation = PROPAGATION_OPTIONS[option];
    if (propagation !== undefined) {
      out.propagation.push(propagation);
      continue;
    }
    const rec = RECURSIVE_OPTIONS[option];
    if (rec) {
      if (rec[0]) {
        out.attrSet |= rec[1];
        out.attrClear &= ~rec[1];
      } else {
        out.attrClear |= rec[1];
        out.attrSet &= ~rec[1];
      }
      continue;
    }
    const atime = RECURSIVE_ATIME[option];
    if (atime !== undefined || RECURSIVE_ATIME_CLEAR.has(option)) {
      out.attrClear |= MOUNT_ATTR.ATIME_MASK;
      out.attrSet = (out.attrSet & ~MOUNT_ATTR.ATIME_MASK) | (atime ?? MOUNT_ATTR.RELATIME);
      continue;
    }
    data.push(option);
  }
  out.data = data.join(',');
  return out;
}

/** Every option name with a meaning to tsrun (anything else is passed to the filesystem). */
export function knownMountOptions(): string[] {
  return [
    ...Object.keys(FLAG_OPTIONS),
    ...Object.keys(PROPAGATION_OPTIONS),
    ...Object.keys(RECURSIVE_OPTIONS),
    ...Object.keys(RECURSIVE_ATIME),
    ...RECURSIVE_ATIME_CLEAR,
  ].sort();
}
