// Linux constants for the libc layer. Values are the kernel's UAPI values for x86_64 and arm64
// (the two architectures tsrun targets); where the two differ, the table is chosen by
// `process.arch`. Tests check them against /usr/include where the headers are present.
//
// Pure data: importing this module loads nothing native.
import { constants as osConstants } from 'node:os';

type Arch = 'x64' | 'arm64';
const ARCH: string = process.arch;

function perArch<T>(tables: Record<Arch, T>, what: string): T {
  const t = (tables as Record<string, T | undefined>)[ARCH];
  if (t !== undefined) return t;
  // Unsupported architecture: fail loudly on first use rather than pass wrong numbers.
  return new Proxy({} as object, {
    get(_t, prop) {
      throw new Error(`tsrun: no ${what} table for architecture ${ARCH} (wanted ${String(prop)})`);
    },
  }) as T;
}

// ---------------------------------------------------------------------------------------------
// Namespaces: clone(2)/unshare(2)/setns(2) flags

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_PIDFD = 0x00001000;
export const CLONE_PTRACE = 0x00002000;
export const CLONE_VFORK = 0x00004000;
export const CLONE_PARENT = 0x00008000;
export const CLONE_THREAD = 0x00010000;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_SETTLS = 0x00080000;
export const CLONE_PARENT_SETTID = 0x00100000;
export const CLONE_CHILD_CLEARTID = 0x00200000;
export const CLONE_DETACHED = 0x00400000;
export const CLONE_UNTRACED = 0x00800000;
export const CLONE_CHILD_SETTID = 0x01000000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
// 0x80000000 does not fit a positive int32: combine flags with `|` only into values passed
// as `int` (unshare/setns take int, so a negative result is the right bit pattern).
export const CLONE_IO = 0x80000000;

/** OCI `linux.namespaces[].type` → CLONE_NEW* flag. */
export const NAMESPACE_FLAGS: Readonly<Record<string, number>> = {
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  mount: CLONE_NEWNS,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  user: CLONE_NEWUSER,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/** OCI `linux.namespaces[].type` → file name under /proc/PID/ns/. */
export const NAMESPACE_PROC_NAMES: Readonly<Record<string, string>> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

// ---------------------------------------------------------------------------------------------
// mount(2) / umount2(2)

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_POSIXACL = 1 << 16;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_KERNMOUNT = 1 << 22;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;
/** All propagation flags. */
export const MS_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

/** statvfs(3) f_flag bits (ST_*), as returned by Syscalls.statvfsFlags. */
export const ST_RDONLY = 1;
export const ST_NOSUID = 2;
export const ST_NODEV = 4;
export const ST_NOEXEC = 8;
export const ST_SYNCHRONOUS = 16;
export const ST_MANDLOCK = 64;
export const ST_NOATIME = 1024;
export const ST_NODIRATIME = 2048;
export const ST_RELATIME = 4096;

// New mount API (open_tree/move_mount/mount_setattr).
export const OPEN_TREE_CLONE = 1;
export const MOVE_MOUNT_F_SYMLINKS = 0x01;
export const MOVE_MOUNT_F_AUTOMOUNTS = 0x02;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x04;
export const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

// fsopen(2)/fsconfig(2)/fsmount(2), memfd_create(2) and file seals (src/runtime/seal.ts)
export const FSOPEN_CLOEXEC = 0x1;
export const FSCONFIG_SET_STRING = 1;
export const FSCONFIG_CMD_CREATE = 6;
export const FSMOUNT_CLOEXEC = 0x1;
export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const F_ADD_SEALS = 1033;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;

// ---------------------------------------------------------------------------------------------
// open(2) flags and *at() flags

interface OpenFlags {
  O_DIRECT: number;
  O_LARGEFILE: number;
  O_DIRECTORY: number;
  O_NOFOLLOW: number;
}
const OPEN_FLAGS_BY_ARCH: Record<Arch, OpenFlags> = {
  // glibc on x86_64 defines O_LARGEFILE as 0 (files are always large on LP64).
  x64: { O_DIRECT: 0o40000, O_LARGEFILE: 0, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000 },
  arm64: { O_DIRECT: 0o200000, O_LARGEFILE: 0o400000, O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000 },
};
const OF = perArch(OPEN_FLAGS_BY_ARCH, 'open flags');

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT: number = OF.O_DIRECT;
export const O_LARGEFILE: number = OF.O_LARGEFILE;
export const O_DIRECTORY: number = OF.O_DIRECTORY;
export const O_NOFOLLOW: number = OF.O_NOFOLLOW;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE: number = 0o20000000 | OF.O_DIRECTORY;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;

/** openat2(2) `resolve` flags. */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;
export const RESOLVE_CACHED = 0x20;

// fcntl(2)
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;

// close_range(2)
export const CLOSE_RANGE_UNSHARE = 1 << 1;
export const CLOSE_RANGE_CLOEXEC = 1 << 2;

// flock(2)
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

// ---------------------------------------------------------------------------------------------
// File modes (stat st_mode)

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

// ---------------------------------------------------------------------------------------------
// prctl(2)

export const PR_SET_PDEATHSIG = 1;
export const PR_GET_PDEATHSIG = 2;
export const PR_GET_DUMPABLE = 3;
export const PR_SET_DUMPABLE = 4;
export const PR_GET_KEEPCAPS = 7;
export const PR_SET_KEEPCAPS = 8;
export const PR_SET_NAME = 15;
export const PR_GET_NAME = 16;
export const PR_GET_SECCOMP = 21;
export const PR_SET_SECCOMP = 22;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_GET_SECUREBITS = 27;
export const PR_SET_SECUREBITS = 28;
export const PR_SET_TIMERSLACK = 29;
export const PR_GET_TIMERSLACK = 30;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_GET_CHILD_SUBREAPER = 37;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_IS_SET = 1;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_LOWER = 3;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

// securebits (PR_SET_SECUREBITS)
export const SECBIT_NOROOT = 1 << 0;
export const SECBIT_NOROOT_LOCKED = 1 << 1;
export const SECBIT_NO_SETUID_FIXUP = 1 << 2;
export const SECBIT_NO_SETUID_FIXUP_LOCKED = 1 << 3;
export const SECBIT_KEEP_CAPS = 1 << 4;
export const SECBIT_KEEP_CAPS_LOCKED = 1 << 5;
export const SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 6;
export const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 7;

// ---------------------------------------------------------------------------------------------
// Resource limits (identical on x86_64 and arm64)

export const RLIMIT: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};
export const RLIMIT_NOFILE = 7;
export const RLIMIT_CORE = 4;
/** RLIM_INFINITY for prlimit64: all ones (2^64 - 1). */
export const RLIM_INFINITY = 0xffffffffffffffffn;

/** Resource number for an OCI rlimit name ('RLIMIT_NOFILE'); undefined if unknown. */
export function rlimitNumber(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(RLIMIT, name) ? RLIMIT[name] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Capabilities (linux/capability.h)

export const CAPABILITIES: ReadonlyArray<string> = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL', // 5
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE', // 40
];
/** Highest capability number this table knows (the kernel's may be lower or higher). */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;

const CAP_BY_NAME: Map<string, number> = new Map(CAPABILITIES.map((n, i) => [n, i]));

/** Capability number for a name; accepts 'CAP_CHOWN', 'chown', 'CHOWN'. */
export function capabilityNumber(name: string): number | undefined {
  const upper = name.toUpperCase();
  return CAP_BY_NAME.get(upper.startsWith('CAP_') ? upper : 'CAP_' + upper);
}

/** Capability name for a number ('CAP_CHOWN'); undefined beyond the table. */
export function capabilityName(cap: number): string | undefined {
  return CAPABILITIES[cap];
}

// capget/capset header versions
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

// ---------------------------------------------------------------------------------------------
// Signals

/** Signal numbers by name, from Node (which takes them from the platform headers). */
export const SIGNALS: Readonly<Record<string, number>> = osConstants.signals as Record<string, number>;
/** glibc's SIGRTMIN (the kernel's is 32; glibc reserves two for NPTL). runc uses 34 too. */
// keyctl(2) operations (<linux/keyctl.h>) and key permission bits
export const KEYCTL_JOIN_SESSION_KEYRING = 1;
export const KEYCTL_SETPERM = 5;
/** A container's session keyring: possessor all; user view, read, search, link (as runc). */
export const KEY_SESSION_PERM = 0x3f1b0000;

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;
export const SIGKILL = 9;
export const SIGTERM = 15;
export const SIGCHLD = 17;
export const SIGSTOP = 19;
export const SIGCONT = 18;
export const SIGWINCH = 28;

/**
 * Parse a signal as given on a command line: 'KILL', 'SIGKILL', 'sigkill', '9',
 * 'RTMIN', 'RTMIN+3', 'SIGRTMAX-1'. Returns undefined when invalid (or out of 1..64).
 */
export function parseSignal(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 1 && input <= SIGRTMAX ? input : undefined;
  const s = input.trim();
  if (/^\d+$/.test(s)) return parseSignal(Number(s));
  let name = s.toUpperCase();
  if (!name.startsWith('SIG')) name = 'SIG' + name;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
    const off = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '-' ? -1 : 1);
    const n = base + off;
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  return Object.prototype.hasOwnProperty.call(SIGNALS, name) ? SIGNALS[name] : undefined;
}

/** Name of a signal number ('SIGTERM', 'SIGRTMIN+2'); undefined if unknown. */
export function signalName(sig: number): string | undefined {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${sig - SIGRTMIN}`;
  for (const [name, n] of Object.entries(SIGNALS)) {
    if (n === sig && name !== 'SIGIOT' && name !== 'SIGPOLL') return name;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// wait

export const WNOHANG = 1;
export const WUNTRACED = 2;
export const WCONTINUED = 8;
export const __WALL = 0x40000000;

// ---------------------------------------------------------------------------------------------
// Terminals (ioctl requests; the generic values used by x86_64 and arm64)

export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCSCTTY = 0x540e;
export const TIOCNOTTY = 0x5422;
export const TIOCGPTN = 0x80045430;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;
export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
/** termios c_oflag: map NL to CR-NL on output. */
export const ONLCR = 0o4;

// ---------------------------------------------------------------------------------------------
// I/O priority and scheduling

export const IOPRIO_CLASS_NONE = 0;
export const IOPRIO_CLASS_RT = 1;
export const IOPRIO_CLASS_BE = 2;
export const IOPRIO_CLASS_IDLE = 3;
export const IOPRIO_CLASS_SHIFT = 13;
export const IOPRIO_WHO_PROCESS = 1;
export const IOPRIO_WHO_PGRP = 2;
export const IOPRIO_WHO_USER = 3;
/** OCI `process.ioPriority.class` → IOPRIO_CLASS_*. */
export const IOPRIO_CLASSES: Readonly<Record<string, number>> = {
  IOPRIO_CLASS_RT: IOPRIO_CLASS_RT,
  IOPRIO_CLASS_BE: IOPRIO_CLASS_BE,
  IOPRIO_CLASS_IDLE: IOPRIO_CLASS_IDLE,
};

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
export const SCHED_BATCH = 3;
export const SCHED_ISO = 4;
export const SCHED_IDLE = 5;
export const SCHED_DEADLINE = 6;
/** OCI `process.scheduler.policy` → SCHED_*. */
export const SCHED_POLICIES: Readonly<Record<string, number>> = {
  SCHED_OTHER,
  SCHED_FIFO,
  SCHED_RR,
  SCHED_BATCH,
  SCHED_ISO,
  SCHED_IDLE,
  SCHED_DEADLINE,
};
export const SCHED_FLAG_RESET_ON_FORK = 0x01;
export const SCHED_FLAG_RECLAIM = 0x02;
export const SCHED_FLAG_DL_OVERRUN = 0x04;
export const SCHED_FLAG_KEEP_POLICY = 0x08;
export const SCHED_FLAG_KEEP_PARAMS = 0x10;
export const SCHED_FLAG_UTIL_CLAMP_MIN = 0x20;
export const SCHED_FLAG_UTIL_CLAMP_MAX = 0x40;
/** OCI `process.scheduler.flags[]` → SCHED_FLAG_*. */
export const SCHED_FLAGS: Readonly<Record<string, number>> = {
  SCHED_FLAG_RESET_ON_FORK,
  SCHED_FLAG_RECLAIM,
  SCHED_FLAG_DL_OVERRUN,
  SCHED_FLAG_KEEP_POLICY,
  SCHED_FLAG_KEEP_PARAMS,
  SCHED_FLAG_UTIL_CLAMP_MIN,
  SCHED_FLAG_UTIL_CLAMP_MAX,
};

// ---------------------------------------------------------------------------------------------
// personality(2)

export const PER_LINUX = 0x0000;
export const PER_LINUX32 = 0x0008;
export const ADDR_NO_RANDOMIZE = 0x0040000;
/** personality(PERSONALITY_QUERY) returns the current persona without changing it. */
export const PERSONALITY_QUERY = 0xffffffff;
/** OCI `linux.personality.domain` → persona. */
export const PERSONALITY_DOMAINS: Readonly<Record<string, number>> = {
  LINUX: PER_LINUX,
  LINUX32: PER_LINUX32,
};

// ---------------------------------------------------------------------------------------------
// System call numbers, for calls glibc 2.36 has no wrapper for (or that we call directly)

export interface SyscallNumbers {
  readonly wait4: number;
  readonly kill: number;
  readonly execve: number;
  readonly execveat: number;
  readonly capget: number;
  readonly capset: number;
  readonly personality: number;
  readonly pivot_root: number;
  readonly prctl: number;
  readonly mount: number;
  readonly umount2: number;
  readonly sethostname: number;
  readonly setdomainname: number;
  readonly chroot: number;
  readonly gettid: number;
  readonly setresuid: number;
  readonly setresgid: number;
  readonly setgroups: number;
  readonly add_key: number;
  readonly keyctl: number;
  readonly ioprio_set: number;
  readonly ioprio_get: number;
  readonly unshare: number;
  readonly setns: number;
  readonly sched_setattr: number;
  readonly sched_getattr: number;
  readonly seccomp: number;
  readonly memfd_create: number;
  readonly pidfd_send_signal: number;
  readonly open_tree: number;
  readonly move_mount: number;
  readonly fsopen: number;
  readonly fsconfig: number;
  readonly fsmount: number;
  readonly fspick: number;
  readonly pidfd_open: number;
  readonly clone3: number;
  readonly close_range: number;
  readonly openat2: number;
  readonly pidfd_getfd: number;
  readonly mount_setattr: number;
  readonly bpf: number;
}

export const SYSCALL_NUMBERS_BY_ARCH: Readonly<Record<Arch, SyscallNumbers>> = {
  x64: {
    wait4: 61,
    kill: 62,
    execve: 59,
    execveat: 322,
    capget: 125,
    capset: 126,
    personality: 135,
    pivot_root: 155,
    prctl: 157,
    mount: 165,
    umount2: 166,
    sethostname: 170,
    setdomainname: 171,
    chroot: 161,
    gettid: 186,
    setgroups: 116,
    setresuid: 117,
    setresgid: 119,
    add_key: 248,
    keyctl: 250,
    ioprio_set: 251,
    ioprio_get: 252,
    unshare: 272,
    setns: 308,
    sched_setattr: 314,
    sched_getattr: 315,
    seccomp: 317,
    memfd_create: 319,
    pidfd_send_signal: 424,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    pidfd_open: 434,
    clone3: 435,
    close_range: 436,
    openat2: 437,
    pidfd_getfd: 438,
    mount_setattr: 442,
    bpf: 321,
  },
  // arm64 uses the asm-generic table.
  arm64: {
    wait4: 260,
    kill: 129,
    execve: 221,
    execveat: 281,
    capget: 90,
    capset: 91,
    personality: 92,
    pivot_root: 41,
    prctl: 167,
    mount: 40,
    umount2: 39,
    sethostname: 161,
    setdomainname: 162,
    chroot: 51,
    gettid: 178,
    setgroups: 159,
    setresuid: 147,
    setresgid: 149,
    add_key: 217,
    keyctl: 219,
    ioprio_set: 30,
    ioprio_get: 31,
    unshare: 97,
    setns: 268,
    sched_setattr: 274,
    sched_getattr: 275,
    seccomp: 277,
    memfd_create: 279,
    pidfd_send_signal: 424,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    pidfd_open: 434,
    clone3: 435,
    close_range: 436,
    openat2: 437,
    pidfd_getfd: 438,
    mount_setattr: 442,
    bpf: 280,
  },
};

/** System call numbers for this machine's architecture (throws on use if unsupported). */
export const SYS: SyscallNumbers = perArch(SYSCALL_NUMBERS_BY_ARCH, 'system call number');

// ---------------------------------------------------------------------------------------------
// statx(2) and mount_setattr(2) (used by the rootfs setup)

export const STATX_TYPE = 0x0001;
export const STATX_MODE = 0x0002;
export const STATX_NLINK = 0x0004;
export const STATX_UID = 0x0008;
export const STATX_GID = 0x0010;
export const STATX_INO = 0x0100;
export const STATX_SIZE = 0x0200;
export const STATX_BASIC_STATS = 0x07ff;
export const STATX_MNT_ID = 0x1000;
/** sizeof(struct mount_attr), MOUNT_ATTR_SIZE_VER0. */
export const MOUNT_ATTR_SIZE_VER0 = 32;
/** unlinkat(2) flag (same value as AT_REMOVEDIR, named for readability). */
export const AT_UNLINK_DIR = 0x200;

/**
 * A flag word as names joined with '|' ("MS_BIND|MS_REMOUNT"), unknown bits in hex, and
 * `none` for a word with no bit set: for error messages.
 */
export function describeFlags(flags: number, names: ReadonlyArray<readonly [number, string]>, none = '0'): string {
  let rest = flags >>> 0;
  const parts: string[] = [];
  for (const [bit, name] of names) {
    if ((rest & bit) !== 0) {
      parts.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) parts.push('0x' + rest.toString(16));
  return parts.length ? parts.join('|') : none;
}
