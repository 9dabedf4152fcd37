// mount(2) flag helpers for the rootfs setup: names for error messages, and statvfs(3)
// f_flag bits turned back into MS_* flags (to keep the flags a remount must not drop).
import * as C from '../../linux/constants';

const NAMES: Array<[number, string]> = [
  [C.MS_RDONLY, 'MS_RDONLY'],
  [C.MS_NOSUID, 'MS_NOSUID'],
  [C.MS_NODEV, 'MS_NODEV'],
  [C.MS_NOEXEC, 'MS_NOEXEC'],
  [C.MS_SYNCHRONOUS, 'MS_SYNCHRONOUS'],
  [C.MS_REMOUNT, 'MS_REMOUNT'],
  [C.MS_MANDLOCK, 'MS_MANDLOCK'],
  [C.MS_DIRSYNC, 'MS_DIRSYNC'],
  [C.MS_NOSYMFOLLOW, 'MS_NOSYMFOLLOW'],
  [C.MS_NOATIME, 'MS_NOATIME'],
  [C.MS_NODIRATIME, 'MS_NODIRATIME'],
  [C.MS_BIND, 'MS_BIND'],
  [C.MS_MOVE, 'MS_MOVE'],
  [C.MS_REC, 'MS_REC'],
  [C.MS_SILENT, 'MS_SILENT'],
  [C.MS_UNBINDABLE, 'MS_UNBINDABLE'],
  [C.MS_PRIVATE, 'MS_PRIVATE'],
  [C.MS_SLAVE, 'MS_SLAVE'],
  [C.MS_SHARED, 'MS_SHARED'],
  [C.MS_RELATIME, 'MS_RELATIME'],
  [C.MS_STRICTATIME, 'MS_STRICTATIME'],
  [C.MS_LAZYTIME, 'MS_LAZYTIME'],
];

/** "MS_BIND|MS_REMOUNT|MS_RDONLY" (unknown bits in hex, "0" for none). */
export function describeMountFlags(flags: number): string {
  return C.describeFlags(flags, NAMES);
}

/** The atime "enum": a mount has exactly one of these (MS_STRICTATIME when none is reported). */
export const MS_ATIME_FLAGS = C.MS_NOATIME | C.MS_RELATIME | C.MS_STRICTATIME;
/** Per-mount flags the kernel locks in a less privileged mount namespace (MNT_LOCK_*). */
export const MS_LOCKED_FLAGS = C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC | MS_ATIME_FLAGS | C.MS_NODIRATIME;

const ST_NOSYMFOLLOW = 0x2000;

/** statvfs f_flag (ST_*) → the MS_* flags of that mount. */
export function statvfsToMountFlags(st: number): number {
  const pairs: Array<[number, number]> = [
    [C.ST_RDONLY, C.MS_RDONLY],
    [C.ST_NOSUID, C.MS_NOSUID],
    [C.ST_NODEV, C.MS_NODEV],
    [C.ST_NOEXEC, C.MS_NOEXEC],
    [C.ST_SYNCHRONOUS, C.MS_SYNCHRONOUS],
    [C.ST_MANDLOCK, C.MS_MANDLOCK],
    [C.ST_NOATIME, C.MS_NOATIME],
    [C.ST_NODIRATIME, C.MS_NODIRATIME],
    [C.ST_RELATIME, C.MS_RELATIME],
    [ST_NOSYMFOLLOW, C.MS_NOSYMFOLLOW],
  ];
  let flags = 0;
  for (const [s, m] of pairs) if ((st & s) !== 0) flags |= m;
  if ((flags & MS_ATIME_FLAGS) === 0) flags |= C.MS_STRICTATIME;
  return flags;
}

/** OCI linux.rootfsPropagation → the mount(2) propagation flags for "/". */
export const ROOTFS_PROPAGATION: Readonly<Record<string, number>> = {
  shared: C.MS_SHARED,
  rshared: C.MS_SHARED | C.MS_REC,
  slave: C.MS_SLAVE,
  rslave: C.MS_SLAVE | C.MS_REC,
  private: C.MS_PRIVATE,
  rprivate: C.MS_PRIVATE | C.MS_REC,
  unbindable: C.MS_UNBINDABLE,
  runbindable: C.MS_UNBINDABLE | C.MS_REC,
};
