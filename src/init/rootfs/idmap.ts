// Mounts the runtime made for the init: idmapped bind mounts (mount uidMappings/gidMappings,
// options idmap/ridmap: mount_setattr(MOUNT_ATTR_IDMAP) needs privileges over the source's
// filesystem that an init in a user namespace lacks), and bind sources the init may not be able
// to reach (the NOTIFY_SOCKET directory in tsrun's 0700 state directory, for an init that is
// root of a user namespace only). See src/runtime/idmap-mounts.ts. Each comes as the fd of a
// detached mount tree; the init attaches it on the resolved destination with move_mount onto the
// destination's O_PATH fd (no path is looked up again).
import type { Mount } from '../../spec';
import type { Syscalls } from '../../linux/syscalls';
import { AT_EMPTY_PATH, MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT_T_EMPTY_PATH, S_IFDIR, S_IFMT } from '../../linux/constants';
import { moveMount } from '../../linux/mount-api';

/** True when the mount asks to be idmapped. */
export function isIdmapped(m: Mount): boolean {
  return (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0 || (m.options ?? []).some((o) => o === 'idmap' || o === 'ridmap');
}

/** A mount made by the runtime: what it is (for the mount point to create) and how to attach it. */
export interface RuntimeMount {
  kind: 'dir' | 'file';
  attach(source: string, targetFd: number): void;
}

export function runtimeMount(sys: Syscalls, treeFd: number): RuntimeMount {
  const kind = (sys.statx(treeFd, '', AT_EMPTY_PATH).mode & S_IFMT) === S_IFDIR ? 'dir' : 'file';
  return {
    kind,
    attach: (source, targetFd) => moveMount(treeFd, '', targetFd, '', MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, `${source} (made by the runtime)`),
  };
}
