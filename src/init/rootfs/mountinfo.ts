// /proc/self/mountinfo parsing (proc(5)).
export interface MountInfo {
  id: number;
  parent: number;
  /** "major:minor" of the filesystem. */
  dev: string;
  /** The directory of the filesystem that is mounted here ("/" for a whole filesystem). */
  root: string;
  mountPoint: string;
  /** Per-mount options (rw, nosuid, ...). */
  options: string[];
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  optional: string[];
  fstype: string;
  source: string;
  /** Per-superblock options (for cgroup v1: the controllers, name=..., ...). */
  superOptions: string[];
}

/** Undoes the octal escapes of mountinfo fields ("\040" is a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || f.length < sep + 3) continue;
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      dev: f[2]!,
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      options: f[5]!.split(','),
      optional: f.slice(6, sep),
      fstype: f[sep + 1]!,
      source: unescape(f[sep + 2]!),
      superOptions: (f[sep + 3] ?? '').split(',').filter((o) => o !== ''),
    });
  }
  return out;
}

/** A cgroup v1 hierarchy mounted on the host, as the container gets it. */
export interface CgroupHierarchy {
  /** Directory name under the cgroup mount ("cpu,cpuacct", "systemd"). */
  name: string;
  /** mount(2) data selecting the same hierarchy ("cpu,cpuacct", "name=systemd"). */
  data: string;
  /** Where the host has it mounted, and which cgroup directory of it is mounted there. */
  mountPoint: string;
  root: string;
}

/**
 * The cgroup v1 hierarchies of a mount table, one per hierarchy (the first mount of each).
 * Per-mount state (rw/ro) and release_agent are left out of the data: the container gets its
 * own flags, and a release agent is host policy.
 */
export function cgroupV1Hierarchies(mounts: readonly MountInfo[]): CgroupHierarchy[] {
  const out: CgroupHierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    const data = m.superOptions.filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent=')).join(',');
    const name = m.mountPoint.slice(m.mountPoint.lastIndexOf('/') + 1);
    if (name === '' || seen.has(data) || seen.has('name:' + name)) continue;
    seen.add(data);
    seen.add('name:' + name);
    out.push({ name, data, mountPoint: m.mountPoint, root: m.root });
  }
  return out;
}
