// What the rootfs setup reads from the host with Node's fs rather than through the Syscalls
// layer. Kept behind an interface so that unit tests running on FakeSyscalls can describe
// a host instead of reading the real one.
import { readFileSync, statSync, statfsSync, existsSync } from 'node:fs';

export interface HostEnv {
  /** 'dir' or 'file' (anything not a directory) for a host path, following symlinks; throws ENOENT. */
  sourceKind(path: string): 'dir' | 'file';
  /** The text of /proc/self/mountinfo (before pivot_root: the host's view). */
  mountInfo(): string;
  /** The text of /proc/self/cgroup. */
  selfCgroup(): string;
  /** True when `path` is the root directory of a procfs mount. */
  isProcfsRoot(path: string): boolean;
  /** True on a cgroup v2-only ("unified") host: /sys/fs/cgroup is cgroup2. */
  cgroup2Unified(): boolean;
  /** True when this process is in a user namespace other than the initial one. */
  inUserNamespace(): boolean;
  /** True when a host path exists (following symlinks). */
  exists(path: string): boolean;
}

const PROC_SUPER_MAGIC = 0x9fa0;
const CGROUP2_SUPER_MAGIC = 0x63677270;
const PROC_ROOT_INO = 1;

export const hostEnv: HostEnv = {
  sourceKind(path) {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  },
  mountInfo() {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  },
  selfCgroup() {
    return readFileSync('/proc/self/cgroup', 'utf8');
  },
  isProcfsRoot(path) {
    try {
      return statfsSync(path).type === PROC_SUPER_MAGIC && statSync(path).ino === PROC_ROOT_INO;
    } catch {
      return false;
    }
  },
  cgroup2Unified() {
    try {
      return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
    } catch {
      return false;
    }
  },
  inUserNamespace() {
    try {
      const fields = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      return !(fields.length === 3 && fields[0] === '0' && fields[1] === '0' && fields[2] === '4294967295');
    } catch {
      return false;
    }
  },
  exists: existsSync,
};
