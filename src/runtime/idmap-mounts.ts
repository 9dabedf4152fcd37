// Idmapped mounts, runtime side. mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN in the user
// namespace of the source's filesystem (the host's), which an init in a user namespace does
// not have; so, as runc does, the runtime makes the mount and the init only attaches it:
//
// 1. every mount that asks for it (uidMappings/gidMappings, or the idmap/ridmap option with the
//    container's own mappings) gets a user namespace with those mappings, made by the native
//    stage (a Node process cannot create one): the stage clones a child into a new user
//    namespace, the child waits for our go byte, we write its maps, open /proc/PID/ns/user and
//    kill it without ever releasing it (the fd alone keeps the namespace);
// 2. the source is cloned detached (open_tree OPEN_TREE_CLONE, AT_RECURSIVE for rbind) and
//    idmapped with that namespace (mount_setattr, AT_RECURSIVE for ridmap);
// 3. the tree's fd goes to the init, which move_mounts it onto the resolved destination
//    (src/init/rootfs/idmap.ts).
import { closeSync, openSync, writeFileSync } from 'node:fs';
import type { LinuxIDMapping, Mount, Spec } from '../spec';
import { posix } from 'node:path';
import { AT_EMPTY_PATH, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_IDMAP, OPEN_TREE_CLONE, O_CLOEXEC, O_RDONLY, O_RDWR } from '../linux/constants';
import { openTree, OPEN_TREE_CLOEXEC } from '../linux/mount-api';
import { isErrno } from '../linux/errors';
import { linux } from '../linux/syscalls';
import { clonedPid, killQuietly, startStage, STAGE_BINARY, type StartedStage } from './launch';
import { isIdmapped } from '../init/rootfs/idmap';

const isBindMount = (m: Mount): boolean => m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');

interface IdmapRequest {
  index: number;
  mount: Mount;
  uid: LinuxIDMapping[];
  gid: LinuxIDMapping[];
}

/** The idmapped mounts of the config with their mappings; throws on what cannot be done. */
export function planIdmappedMounts(spec: Spec): IdmapRequest[] {
  const out: IdmapRequest[] = [];
  (spec.mounts ?? []).forEach((m: Mount, index) => {
    if (!isIdmapped(m)) return;
    const where = `mounts[${index}] (${m.destination})`;
    if (!isBindMount(m)) throw new Error(`${where}: idmapped mounts are supported for bind mounts only`);
    const hasUid = (m.uidMappings?.length ?? 0) > 0;
    const hasGid = (m.gidMappings?.length ?? 0) > 0;
    if (hasUid !== hasGid) throw new Error(`${where}: uidMappings and gidMappings must be given together`);
    let uid = m.uidMappings ?? [];
    let gid = m.gidMappings ?? [];
    if (!hasUid) {
      // idmap/ridmap without mappings: the container's user namespace mappings.
      uid = spec.linux?.uidMappings ?? [];
      gid = spec.linux?.gidMappings ?? [];
      if (uid.length === 0 || gid.length === 0) {
        throw new Error(`${where}: the idmap option without uidMappings/gidMappings needs the container's user namespace mappings (linux.uidMappings/gidMappings)`);
      }
    }
    out.push({ index, mount: m, uid, gid });
  });
  return out;
}

export interface IdmapMounts {
  /** One detached, idmapped mount tree fd per idmapped mount, in `indexes` order (ours to close). */
  fds: number[];
  /** spec.mounts index of each fd. */
  indexes: number[];
}

/**
 * Makes the idmapped mount trees of `spec` (relative sources are taken from `bundle`), and plain
 * detached copies of the bind mounts at `plainIndex` (a source the init cannot reach).
 */
export function openIdmapMounts(spec: Spec, bundle: string, plainIndex?: number): IdmapMounts {
  const requests = planIdmappedMounts(spec);
  const result: IdmapMounts = { fds: [], indexes: [] };
  try {
    const plain = plainIndex === undefined ? undefined : spec.mounts?.[plainIndex];
    if (plain && plainIndex !== undefined && !requests.some((r) => r.index === plainIndex)) {
      const options = plain.options ?? [];
      result.fds.push(openTree(AT_FDCWD, posix.resolve(bundle, plain.source ?? ''), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (options.includes('rbind') ? AT_RECURSIVE : 0)));
      result.indexes.push(plainIndex);
    }
    for (const r of requests) {
      const what = `mounts[${r.index}] (${r.mount.destination})`;
      const userns = usernsWithMappings(r.uid, r.gid, what);
      try {
        result.fds.push(idmappedTree(posix.resolve(bundle, r.mount.source ?? ''), r.mount.options ?? [], userns, what));
      } finally {
        closeSync(userns);
      }
      result.indexes.push(r.index);
    }
  } catch (err) {
    closeIdmapMounts(result);
    throw err;
  }
  return result;
}

export function closeIdmapMounts(u: IdmapMounts | undefined): void {
  for (const fd of u?.fds ?? []) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  if (u) u.fds = [];
}

/** mount index → fd number in the init, from the numbers launchInit gave the fds. */
export function idmapFdsInChild(u: IdmapMounts, childNumbers: number[]): Record<number, number> | undefined {
  if (u.indexes.length === 0) return undefined;
  return Object.fromEntries(u.indexes.map((index, k) => [index, childNumbers[k] as number]));
}

function idmappedTree(source: string, options: readonly string[], userns: number, what: string): number {
  let tree: number;
  try {
    tree = openTree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (options.includes('rbind') ? AT_RECURSIVE : 0));
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    linux().mountSetattr(tree, '', AT_EMPTY_PATH | (options.includes('ridmap') ? AT_RECURSIVE : 0), { attrSet: MOUNT_ATTR_IDMAP, usernsFd: userns });
    return tree;
  } catch (err) {
    closeSync(tree);
    if (isErrno(err, 'EINVAL')) {
      throw new Error(`${what}: mount_setattr(MOUNT_ATTR_IDMAP) on ${source}: EINVAL: the filesystem does not support idmapped mounts on this kernel (or a mount under it is idmapped already)`, { cause: err });
    }
    throw new Error(`${what}: idmapping ${source}: ${(err as Error).message}`, { cause: err });
  }
}

function usernsWithMappings(uid: LinuxIDMapping[], gid: LinuxIDMapping[], what: string): number {
  const sys = linux();
  // A process in a new user namespace, only to hold it while we map it and open it.
  const devNull = openSync('/dev/null', O_RDWR | O_CLOEXEC);
  let stage: StartedStage;
  try {
    stage = startStage(sys, STAGE_BINARY, ['--sync', '3', '--clone', 'user', '--', '/bin/true'], 3, [[devNull, 0], [devNull, 1]]);
  } finally {
    closeSync(devNull);
  }
  let pid = 0;
  try {
    try {
      pid = clonedPid(sys, stage);
    } catch (err) {
      throw new Error(`${what}: making the user namespace of an idmapped mount: ${(err as Error).message}`, { cause: err });
    }
    const format = (maps: LinuxIDMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
    try {
      writeFileSync(`/proc/${pid}/uid_map`, format(uid));
      writeFileSync(`/proc/${pid}/setgroups`, 'deny');
      writeFileSync(`/proc/${pid}/gid_map`, format(gid));
    } catch (err) {
      throw new Error(`${what}: writing the id mappings of an idmapped mount: ${(err as Error).message}`, { cause: err });
    }
    return openSync(`/proc/${pid}/ns/user`, O_RDONLY | O_CLOEXEC);
  } finally {
    if (pid > 0) killQuietly(pid);
    stage.channel.close();
  }
}
