// open_tree(2) and move_mount(2) (kernel 5.2+), for idmapped bind mounts: a detached copy of a
// tree is made, idmapped with mount_setattr(MOUNT_ATTR_IDMAP) while still detached (the kernel
// allows that only then), and attached where it belongs.
import { errnoError } from './errors';
import { libc } from './libc';
import { SYS } from './constants';

export const OPEN_TREE_CLOEXEC = 0o2000000;

/** open_tree(dirfd, path, flags): an fd of the (cloned, with OPEN_TREE_CLONE) mount tree at path. */
export function openTree(dirfd: number, path: string, flags: number): number {
  const r = Number(libc().syscall(SYS.open_tree, 'int', dirfd, 'str', path, 'uint32_t', flags >>> 0));
  if (r < 0) throw errnoError('open_tree', path);
  return r;
}

/** move_mount(fromFd, fromPath, toFd, toPath, flags). */
export function moveMount(fromFd: number, fromPath: string, toFd: number, toPath: string, flags: number, what: string): void {
  const r = Number(libc().syscall(SYS.move_mount, 'int', fromFd, 'str', fromPath, 'int', toFd, 'str', toPath, 'uint32_t', flags >>> 0));
  if (r < 0) throw errnoError('move_mount', what);
}
