// What criu must be told about a container that its images cannot say, derived from the
// bundle's config as runc does (libcontainer/criu_linux.go):
// - bind mounts, masked files and device nodes are "external" mounts: at dump each is named by
//   its destination, at restore that name is mapped to the host path to bind again;
// - network and pid namespaces joined by path are external namespaces (criu neither dumps nor
//   creates them): named by inode at dump, handed to criu as an fd at restore; other
//   namespaces joined by path are joined again at restore (join_ns);
// - the network namespace itself is always restored empty (criu's empty_ns): tsrun, like runc,
//   does not manage network devices, and criu would need iptables/ip to save them.
import { closeSync, openSync, statSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { CommandError } from '../cli/context';
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from '../linux/constants';
import { hostLayout } from '../cgroups';
import { isBindMount } from '../init/rootfs/mounts';
import { cleanPath } from '../init/rootfs/paths';
import { containerDevices } from '../init/rootfs/devices';
import type { Spec } from '../spec';
import type { CriuOpts } from './criu-proto';
import { STAGE_NAMES } from './namespaces';

type ExtMount = { key: string; val: string };

/** --empty-ns values → criu's mask; the network namespace is always among them (see above). */
export function emptyNamespaces(names: readonly string[]): number {
  let mask = CLONE_NEWNET;
  for (const name of names) {
    if (name !== 'network') throw new CommandError(`--empty-ns: namespace ${JSON.stringify(name)} is not supported (only "network")`);
    mask |= CLONE_NEWNET;
  }
  return mask;
}

/** A cgroup v1 mount without a cgroup namespace is a set of host binds tsrun does not describe to criu. */
function refuseV1CgroupMount(spec: Spec): void {
  const hasCgroupMount = (spec.mounts ?? []).some((m) => m.type === 'cgroup');
  const cgroupns = (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'cgroup');
  if (hasCgroupMount && !cgroupns && hostLayout().mode !== 'v2') {
    throw new CommandError('checkpoint/restore of a container with a cgroup mount on a cgroup v1 host without a cgroup namespace is not supported');
  }
}

/** Dump: every bind mount, masked file and device node, named by its destination. */
export function dumpExternalMounts(spec: Spec, initPid: number): ExtMount[] {
  refuseV1CgroupMount(spec);
  const out: ExtMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (isBindMount(m)) out.push({ key: cleanPath(m.destination), val: cleanPath(m.destination) });
  }
  for (const path of spec.linux?.maskedPaths ?? []) {
    let isDir: boolean;
    try {
      isDir = statSync(`/proc/${initPid}/root${cleanPath(path)}`).isDirectory();
    } catch {
      continue; // not there: nothing was masked
    }
    if (!isDir) out.push({ key: cleanPath(path), val: '/dev/null' });
  }
  for (const d of containerDevices(spec)) out.push({ key: cleanPath(d.path), val: cleanPath(d.path) });
  return out;
}

/** Restore: each name given at dump → the host path to bind there. */
export function restoreExternalMounts(spec: Spec, bundleDir: string): ExtMount[] {
  refuseV1CgroupMount(spec);
  const out: ExtMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (!isBindMount(m)) continue;
    if (m.source === undefined) throw new CommandError(`mounts: the bind mount on ${m.destination} has no source`);
    out.push({ key: cleanPath(m.destination), val: resolve(bundleDir, m.source) });
  }
  if ((spec.linux?.maskedPaths ?? []).length > 0) out.push({ key: '/dev/null', val: '/dev/null' });
  for (const d of containerDevices(spec)) out.push({ key: cleanPath(d.path), val: cleanPath(d.path) });
  return out;
}

/** criu's key of an external namespace, as runc names it (extRootNetNS, extRootPidNS). */
function externalKey(type: 'network' | 'pid'): string {
  return type === 'network' ? 'extRootNetNS' : 'extRootPidNS';
}

/** Dump: `net[INODE]:extRootNetNS` for a network (or pid) namespace joined by path. */
export function dumpExternalNamespaces(spec: Spec): string[] {
  const out: string[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path || (ns.type !== 'network' && ns.type !== 'pid')) continue;
    let inode: number;
    try {
      inode = statSync(ns.path).ino;
    } catch (err) {
      throw new CommandError(`linux.namespaces: ${ns.type} namespace ${ns.path}: ${(err as Error).message}`);
    }
    out.push(`${STAGE_NAMES[ns.type]}[${inode}]:${externalKey(ns.type)}`);
  }
  return out;
}

export interface RestoreNamespaces {
  /** Opened namespace files, passed to criu as its fds 4, 5, ... (the caller closes them). */
  fds: number[];
  inheritFd: NonNullable<CriuOpts['inheritFd']>;
  joinNs: NonNullable<CriuOpts['joinNs']>;
}

/** Restore: external namespaces by fd, other namespaces given by path joined again. */
export function restoreNamespaces(spec: Spec): RestoreNamespaces {
  const out: RestoreNamespaces = { fds: [], inheritFd: [], joinNs: [] };
  try {
    for (const ns of spec.linux?.namespaces ?? []) {
      if (!ns.path) continue;
      if (ns.type === 'network' || ns.type === 'pid') {
        let fd: number;
        try {
          fd = openSync(ns.path, O_RDONLY | O_CLOEXEC);
        } catch (err) {
          throw new CommandError(`linux.namespaces: ${ns.type} namespace ${ns.path} must exist to restore into it: ${(err as Error).message}`);
        }
        out.fds.push(fd);
        // criu's fds 0-2 are stdio, 3 its socket: the namespace files follow.
        out.inheritFd.push({ key: externalKey(ns.type), fd: 3 + out.fds.length });
      } else if (ns.type === 'cgroup' || ns.type === 'mount') {
        throw new CommandError(`linux.namespaces: criu cannot restore into an existing ${ns.type} namespace (${ns.path})`);
      } else {
        out.joinNs.push({ ns: STAGE_NAMES[ns.type], nsFile: ns.path });
      }
    }
  } catch (err) {
    closeAll(out.fds);
    throw err;
  }
  return out;
}

export function closeAll(fds: number[]): void {
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** readlink of the init's stdio (runc's descriptors.json): pipes are reconnected at restore. */
export function stdioDescriptors(pid: number): string[] {
  return [0, 1, 2].map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}

/** Restore: each stdio pipe of the dumped init becomes criu's (so the caller's) fd of that number. */
export function inheritStdioPipes(descriptors: unknown): NonNullable<CriuOpts['inheritFd']> {
  if (!Array.isArray(descriptors)) throw new CommandError('descriptors.json: not a JSON array');
  const out: NonNullable<CriuOpts['inheritFd']> = [];
  descriptors.forEach((d, i) => {
    if (typeof d === 'string' && d.includes('pipe:')) out.push({ key: d, fd: i });
  });
  return out;
}
