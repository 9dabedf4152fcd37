// Where the cgroup hierarchies are, read from /proc/self/mountinfo, and where a container's
// cgroup goes in each of them (linux.cgroupsPath, absolute or relative, or the default).
//
// Three layouts exist:
//   v1      every controller in its own (or a shared, "cpu,cpuacct") v1 hierarchy;
//   hybrid  v1 hierarchies plus a cgroup2 hierarchy (usually /sys/fs/cgroup/unified) holding
//           the controllers no v1 hierarchy took (on this kind of machine: hugetlb only);
//   v2      one cgroup2 hierarchy at /sys/fs/cgroup ("unified"), every controller in it.
// runc 1.1.5 drives v1 and hybrid with its v1 ("fs") manager, which in hybrid mode also
// creates and joins the same path in the cgroup2 hierarchy; tsrun does the same.
import { posix } from 'node:path';
import { parseMountInfo, type MountInfo } from '../init/rootfs/mountinfo';

export type LayoutMode = 'v1' | 'hybrid' | 'v2';

export interface V1Hierarchy {
  /** Controllers of the hierarchy ("cpu", "cpuacct"), or ["name=systemd"] for a named one. */
  controllers: string[];
  mountPoint: string;
  /** The cgroup directory mounted at mountPoint ("/" on a host, "/docker/ID" inside a container). */
  root: string;
}

export interface CgroupLayout {
  mode: LayoutMode;
  v1: V1Hierarchy[];
  /** The cgroup2 mount (v2 and hybrid), with the cgroup directory mounted there. */
  unified?: { mountPoint: string; root: string } | undefined;
}

/** The v1 controllers runc's fs manager handles (in its order), plus the name=systemd hierarchy. */
export const V1_CONTROLLERS = [
  'cpuset',
  'devices',
  'memory',
  'cpu',
  'cpuacct',
  'pids',
  'blkio',
  'hugetlb',
  'net_cls',
  'net_prio',
  'perf_event',
  'freezer',
  'rdma',
  'name=systemd',
] as const;

export class CgroupLayoutError extends Error {}

/** The layout described by a mountinfo text (the first mount of each hierarchy counts). */
export function detectLayout(mountinfo: string): CgroupLayout {
  const mounts = parseMountInfo(mountinfo);
  const v1: V1Hierarchy[] = [];
  const seen = new Set<string>();
  let unified: MountInfo | undefined;
  for (const m of mounts) {
    if (m.fstype === 'cgroup') {
      const controllers = m.superOptions.filter((o) => o !== 'rw' && o !== 'ro' && o !== 'xattr' && !o.startsWith('release_agent=') && o !== 'clone_children' && o !== 'noprefix' && o !== 'none' && o !== 'cpuset_v2_mode' && o !== 'favordynmods');
      const key = [...controllers].sort().join(',');
      if (key === '' || seen.has(key)) continue;
      seen.add(key);
      v1.push({ controllers, mountPoint: m.mountPoint, root: m.root });
    } else if (m.fstype === 'cgroup2') {
      // Prefer the canonical places when there are several cgroup2 mounts.
      if (!unified || m.mountPoint === '/sys/fs/cgroup' || (m.mountPoint === '/sys/fs/cgroup/unified' && unified.mountPoint !== '/sys/fs/cgroup')) unified = m;
    }
  }
  const u = unified ? { mountPoint: unified.mountPoint, root: unified.root } : undefined;
  if (v1.length > 0) return { mode: u ? 'hybrid' : 'v1', v1, unified: u };
  if (u) return { mode: 'v2', v1: [], unified: u };
  throw new CgroupLayoutError('no cgroup filesystem is mounted (neither cgroup v1 nor cgroup2 in /proc/self/mountinfo)');
}

/** One line of /proc/PID/cgroup: hierarchy id, controllers ("" for cgroup2), path. */
export interface ProcCgroupEntry {
  id: number;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    out.push({ id: Number(m[1]), controllers: m[2] === '' ? [] : m[2]!.split(','), path: m[3]! });
  }
  return out;
}

/**
 * runc's utils.CleanPath: a lexically clean path; a relative path is cleaned as if it were
 * absolute first, so that "../../x" cannot climb out of its parent.
 */
export function cleanCgroupPath(path: string): string {
  if (path === '') return '';
  const cleaned = posix.normalize(path).replace(/\/+$/, '') || '/';
  if (posix.isAbsolute(path)) return cleaned;
  const abs = posix.normalize('/' + path);
  return posix.relative('/', abs);
}

/** The directory (under a mount) of the cgroup `path` of a hierarchy mounted with `root`. */
function underMount(mountPoint: string, root: string, path: string): string {
  let rel = path;
  if (root !== '/' && root !== '') {
    if (path === root) rel = '/';
    else if (path.startsWith(root + '/')) rel = path.slice(root.length);
    // A path outside the mounted subtree cannot be reached: use the mount itself (as runc).
    else rel = '/';
  }
  return posix.join(mountPoint, rel);
}

/**
 * The container's cgroup directory in every hierarchy, keyed as runc keys them in its state:
 * one key per v1 controller ("cpu" and "cpuacct" both, for a shared hierarchy), "name=systemd",
 * and "" for the cgroup2 directory (hybrid and v2).
 *
 * `cgroupsPath` absolute: the same path under every hierarchy's mount. Relative (or absent:
 * the container id is used, as runc does): under this process's own cgroup of each v1
 * hierarchy; on a v2 host under the PARENT of our own cgroup (runc's fs2 defaultDirPath: a
 * cgroup2 cgroup with processes cannot have children with controllers).
 */
export function containerCgroupPaths(layout: CgroupLayout, cgroupsPath: string | undefined, id: string, selfCgroup: string): Record<string, string> {
  const inner = cleanCgroupPath(cgroupsPath && cgroupsPath !== '' ? cgroupsPath : id);
  if (inner === '' || inner === '/' || inner === '.') throw new CgroupLayoutError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)}: the container cannot use the root cgroup`);
  const own = parseProcCgroup(selfCgroup);
  const paths: Record<string, string> = {};
  const known = new Set<string>(V1_CONTROLLERS);
  for (const h of layout.v1) {
    if (!h.controllers.some((c) => known.has(c))) continue; // other named hierarchies are not ours
    let dir: string;
    if (posix.isAbsolute(inner)) {
      dir = posix.join(h.mountPoint, inner);
    } else {
      const mine = own.find((e) => e.controllers.length > 0 && e.controllers.every((c) => h.controllers.includes(c)) && h.controllers.every((c) => e.controllers.includes(c)));
      dir = posix.join(underMount(h.mountPoint, h.root, mine?.path ?? '/'), inner);
    }
    for (const c of h.controllers) if (known.has(c)) paths[c] = dir;
  }
  if (layout.unified) {
    const u = layout.unified;
    if (posix.isAbsolute(inner)) {
      paths[''] = posix.join(u.mountPoint, inner);
    } else {
      const mine = own.find((e) => e.id === 0 && e.controllers.length === 0)?.path ?? '/';
      const base = layout.mode === 'v2' ? posix.dirname(mine) : mine;
      paths[''] = posix.join(underMount(u.mountPoint, u.root, base), inner);
    }
  }
  return paths;
}

/** The hierarchy mount holding `dir` (the longest mount point that is a prefix of it). */
export function mountOf(layout: CgroupLayout, dir: string): string | undefined {
  const points = [...layout.v1.map((h) => h.mountPoint), ...(layout.unified ? [layout.unified.mountPoint] : [])];
  let best: string | undefined;
  for (const p of points) {
    if ((dir === p || dir.startsWith(p + '/')) && (!best || p.length > best.length)) best = p;
  }
  return best;
}
