// The typed system-call layer. Every method either succeeds or throws SyscallError; none
// returns -1. Production code uses `linux()`; unit tests substitute FakeSyscalls (fake.ts).
//
// Threading: koffi runs synchronous calls on the calling (main) thread, so per-thread state
// (namespaces after unshare/setns, capabilities, the signal mask) is the main thread's. Those
// survive execve, which turns the process into a single-threaded one. Async calls (only
// waitpidAsync here) run on a koffi worker thread.
import { readdirSync, readFileSync } from 'node:fs';
import { SyscallError, errnoError, errnoNumber, isErrno } from './errors';
import { libc, RawLibc } from './libc';
import {
  AT_FDCWD,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  CLONE_FS,
  CLONE_FILES,
  CLONE_SYSVSEM,
  CLOSE_RANGE_CLOEXEC,
  FD_CLOEXEC,
  F_GETFD,
  F_SETFD,
  LINUX_CAPABILITY_VERSION_3,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_CAP_AMBIENT_IS_SET,
  PR_CAP_AMBIENT_RAISE,
  PR_SET_CHILD_SUBREAPER,
  PR_SET_DUMPABLE,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_PDEATHSIG,
  SYS,
  TIOCGPTN,
  TIOCGPTPEER,
  TIOCGWINSZ,
  TIOCSCTTY,
  TIOCSPTLCK,
  TIOCSWINSZ,
  TCGETS,
  TCSETS,
  WNOHANG,
  KEYCTL_JOIN_SESSION_KEYRING,
  KEYCTL_SETPERM,
  F_ADD_SEALS,
  F_DUPFD_CLOEXEC,
  F_GETFL,
  F_SETFL,
  O_NONBLOCK,
  signalName,
  describeFlags,
} from './constants';
import { MOUNT_ATTR_SIZE_VER0, STATX_BASIC_STATS, STATX_MNT_ID } from './constants';

// ---------------------------------------------------------------------------------------------
// Types

/** A decoded wait status. Exactly one of exitCode / signal / stopSignal is set, or `continued`. */
export interface WaitStatus {
  /** The pid whose state changed. */
  pid: number;
  /** The raw status word. */
  status: number;
  /** Exit code when the process exited normally, else null. */
  exitCode: number | null;
  /** Terminating signal when killed by a signal, else null. */
  signal: number | null;
  coreDumped: boolean;
  /** Stop signal when stopped (WUNTRACED), else null. */
  stopSignal: number | null;
  continued: boolean;
}

/** Resource limit values; RLIM_INFINITY is 2^64-1. */
export interface Rlimit {
  soft: bigint;
  hard: bigint;
}

/** Capability sets as bit masks (bit N = capability N). */
export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** The kernel's struct termios (TCGETS/TCSETS): flags, line discipline, 19 control chars. */
export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  line: number;
  cc: number[];
}

export interface Winsize {
  rows: number;
  cols: number;
  xpixel?: number;
  ypixel?: number;
}

/** sched_setattr(2) attributes; see OCI `process.scheduler`. */
export interface SchedAttr {
  policy: number;
  flags?: number;
  nice?: number;
  priority?: number;
  runtime?: bigint | number;
  deadline?: bigint | number;
  period?: bigint | number;
  utilMin?: number;
  utilMax?: number;
}

/** Data and file descriptors received from a unix socket. */
export interface ReceivedFds {
  data: Buffer;
  fds: number[];
}

export interface Syscalls {
  // --- identity and process
  getpid(): number;
  getppid(): number;
  gettid(): number;
  getuid(): number;
  geteuid(): number;
  getgid(): number;
  getegid(): number;
  setsid(): number;
  /** Sets the umask, returns the previous one (never fails). */
  umask(mask: number): number;

  // --- file descriptors and files
  open(path: string, flags: number, mode?: number): number;
  openat(dirfd: number, path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  dup2(oldfd: number, newfd: number): number;
  dup3(oldfd: number, newfd: number, flags: number): number;
  /** Sets or clears FD_CLOEXEC. */
  setCloexec(fd: number, on: boolean): void;
  /**
   * close_range(first, last, flags). With CLOSE_RANGE_CLOEXEC the fds are only marked
   * close-on-exec. Falls back to walking /proc/self/fd on kernels without close_range.
   */
  closeRange(first: number, last?: number, flags?: number): void;
  flock(fd: number, op: number): void;
  mknod(path: string, mode: number, dev: number | bigint): void;
  mkfifo(path: string, mode: number): void;
  chown(path: string, uid: number, gid: number): void;
  lchown(path: string, uid: number, gid: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  chmod(path: string, mode: number): void;
  fchmod(fd: number, mode: number): void;
  symlink(target: string, linkpath: string): void;
  /** statvfs(path).f_flag: ST_RDONLY, ST_NOSUID, ... of the mount holding `path`. */
  statvfsFlags(path: string): number;

  // --- mounts and root
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chdir(path: string): void;
  fchdir(fd: number): void;
  chroot(path: string): void;

  // --- namespaces
  /** unshare(2). CLONE_NEWUSER always fails in Node (multi-threaded): EINVAL. */
  unshare(flags: number): void;
  /** setns(2). Joining a mount namespace needs unshare(CLONE_FS) first in Node. */
  setns(fd: number, nstype: number): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;

  // --- processes and signals
  /** kill(2); a missing process throws code ESRCH. */
  kill(pid: number, sig: number): void;
  pidfdOpen(pid: number, flags?: number): number;
  pidfdSendSignal(pidfd: number, sig: number): void;
  /**
   * Blocking waitpid(2) on the main thread (EINTR retried). Returns null only with WNOHANG
   * when no child changed state. Never use it on children spawned by node:child_process:
   * libuv reaps those itself and would lose their exit status.
   */
  waitpid(pid: number, options?: number): WaitStatus | null;
  /** waitpid(2) on a koffi worker thread; the same caveat as waitpid applies. */
  waitpidAsync(pid: number, options?: number): Promise<WaitStatus>;
  /**
   * posix_spawn(3) of `path` (no PATH search) with exactly `envp`; returns the child's pid.
   * The child gets fds 0-2 and every fd of ours that is not close-on-exec, plus `fds`: each
   * [ours, theirs] pair becomes fd `theirs` in the child. All signals start with their default
   * disposition (Node ignores SIGPIPE, which execve would otherwise pass on) and none blocked.
   * The child is ours to reap (waitpid); node:child_process knows nothing of it.
   */
  spawn(path: string, argv: readonly string[], envp: readonly string[], fds: ReadonlyArray<readonly [number, number]>): number;
  /** Clears O_NONBLOCK on an open file description (shared by every fd and process holding it). */
  setBlocking(fd: number): void;
  /** poll(2) for input (or hang-up) on one fd: true when ready, false after timeoutMs. EINTR counts as not ready. */
  pollIn(fd: number, timeoutMs: number): boolean;
  /** execve(2): replaces the process; returns only by throwing. Does not search PATH. */
  execve(path: string, argv: readonly string[], envp: readonly string[]): never;
  /** Sets one signal's disposition to SIG_DFL (only sensible right before execve). */
  signalDefault(sig: number): void;
  /** Empties the calling thread's signal mask. */
  unblockAllSignals(): void;

  // --- prctl, credentials, limits
  prctl(option: number, arg2?: number, arg3?: number, arg4?: number, arg5?: number): number;
  setChildSubreaper(on: boolean): void;
  setDumpable(on: boolean): void;
  setNoNewPrivs(): void;
  setKeepCaps(on: boolean): void;
  setPdeathsig(sig: number): void;
  /** personality(2); returns the previous persona. Pass PERSONALITY_QUERY to only read it. */
  personality(persona: number): number;
  setresuid(ruid: number, euid: number, suid: number): void;
  setresgid(rgid: number, egid: number, sgid: number): void;
  setgroups(gids: readonly number[]): void;
  /** prlimit64(2) on `pid` (0 = self): sets `limit` if given, returns the previous limit. */
  prlimit(pid: number, resource: number, limit?: { soft: bigint | number; hard: bigint | number }): Rlimit;
  setrlimit(resource: number, soft: bigint | number, hard: bigint | number): void;
  getrlimit(resource: number): Rlimit;

  // --- capabilities (of the calling thread)
  capget(): CapabilitySets;
  capset(sets: CapabilitySets): void;
  capbsetRead(cap: number): boolean;
  capbsetDrop(cap: number): void;
  capAmbientRaise(cap: number): void;
  capAmbientIsSet(cap: number): boolean;
  capAmbientClearAll(): void;

  // --- scheduling
  /** ioprio_set(2); `ioprio` = class << 13 | level. */
  ioprioSet(which: number, who: number, ioprio: number): void;
  schedSetattr(pid: number, attr: SchedAttr): void;

  // --- terminals
  /** ioctl(fd, TIOCSCTTY, steal). */
  setControllingTerminal(fd: number, steal?: boolean): void;
  setWinsize(fd: number, ws: Winsize): void;
  getWinsize(fd: number): Winsize;
  /** ioctl(master, TIOCSPTLCK, 0): unlocks the pts of a /dev/ptmx master. */
  unlockpt(fd: number): void;
  /** ioctl(master, TIOCGPTN): the N of /dev/pts/N. */
  ptsNumber(fd: number): number;
  /** ioctl(master, TIOCGPTPEER, flags): opens the pts through the master (mount-ns safe). */
  openPtsPeer(fd: number, flags: number): number;
  /** ioctl(fd, TCGETS). */
  getTermios(fd: number): Termios;
  /** ioctl(fd, TCSETS) (applied at once, like tcsetattr TCSANOW). */
  setTermios(fd: number, t: Termios): void;

  // --- unix sockets with fd passing (console socket)
  /** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC), or SOCK_SEQPACKET (message boundaries kept). */
  socketpair(kind?: 'stream' | 'seqpacket'): [number, number];
  /** A connected AF_UNIX stream socket (close-on-exec). */
  unixConnect(path: string): number;
  /** sendmsg with SCM_RIGHTS; `data` must not be empty. */
  sendFds(sock: number, data: Buffer, fds: readonly number[]): void;
  /** recvmsg with SCM_RIGHTS (received fds are close-on-exec). Empty data means EOF. */
  recvFds(sock: number, maxData?: number, maxFds?: number): ReceivedFds;
  /** A listening AF_UNIX stream socket bound to `path` (close-on-exec; accept fails EAGAIN when non-blocking). */
  unixListen(path: string, options?: { backlog?: number; nonBlocking?: boolean }): number;
  /** accept4(SOCK_CLOEXEC) on a listening socket: the connected socket. */
  accept(fd: number): number;

  // --- *at() calls, openat2, statx and mount_setattr (rootfs setup resolves every path
  // relative to a directory fd so that nothing can lead it out of the container's root)
  /**
   * openat2(2): `flags` are O_* (O_CLOEXEC is not implied), `resolve` RESOLVE_* (e.g.
   * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). Kernel 5.6+.
   */
  openat2(dirfd: number, path: string, flags: number, resolve: number, mode?: number): number;
  mkdirat(dirfd: number, path: string, mode: number): void;
  mknodat(dirfd: number, path: string, mode: number, dev: number | bigint): void;
  symlinkat(target: string, dirfd: number, linkpath: string): void;
  /** unlinkat(2); flags AT_REMOVEDIR to remove a directory. */
  unlinkat(dirfd: number, path: string, flags: number): void;
  /** readlinkat(2). With path '' it reads the symlink an O_PATH|O_NOFOLLOW fd refers to. */
  readlinkat(dirfd: number, path: string): string;
  /** fchownat(2); AT_EMPTY_PATH with path '' changes the file an (O_PATH) fd refers to. */
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void;
  /** statx(2) (basic stats + mount id); AT_EMPTY_PATH with path '' stats the fd itself. */
  statx(dirfd: number, path: string, flags: number): FileStat;
  /** mount_setattr(2) (kernel 5.12+); flags AT_RECURSIVE, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW. */
  mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void;

  // --- bpf(2) (the cgroup v2 device filter, src/cgroups/bpf.ts)
  /** bpf(cmd, attr, attr.length); returns the (non-negative) result. */
  bpf(cmd: number, attr: Buffer, what: string): number;
  /** The address of a Buffer's memory, for the pointer fields of a bpf attr (keep the Buffer alive). */
  bufferAddress(buf: Buffer): bigint;

  // --- sealed executables (src/runtime/seal.ts: what the container may see of Node and the stage)
  /** fsopen(2): a filesystem context (FSOPEN_CLOEXEC); kernel 5.2+. */
  fsopen(fsname: string, flags: number): number;
  /** fsconfig(2) FSCONFIG_SET_STRING(key, value) or FSCONFIG_CMD_CREATE (key and value null). */
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null): void;
  /** fsmount(2): a detached mount of the context (attached nowhere); returns its fd. */
  fsmount(fd: number, flags: number, attrs: number): number;
  /** memfd_create(2). */
  memfdCreate(name: string, flags: number): number;
  /** fcntl(fd, F_ADD_SEALS, seals). */
  addSeals(fd: number, seals: number): void;

  // --- keyrings
  /** keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring of that name; returns its serial. */
  joinSessionKeyring(name: string): number;
  /** keyctl(KEYCTL_SETPERM, key, perm). */
  setKeyPermissions(key: number, perm: number): void;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** glibc's makedev(): the dev_t for a device number pair. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** glibc's major() of a dev_t (e.g. fs.Stats#rdev, which is a number). */
export function devMajor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn));
}

/** glibc's minor() of a dev_t. */
export function devMinor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn));
}

/** Decodes a wait(2) status word. */
export function decodeWaitStatus(pid: number, status: number): WaitStatus {
  const low = status & 0x7f;
  const out: WaitStatus = {
    pid,
    status,
    exitCode: null,
    signal: null,
    coreDumped: false,
    stopSignal: null,
    continued: false,
  };
  if (status === 0xffff) out.continued = true;
  else if ((status & 0xff) === 0x7f) out.stopSignal = (status >> 8) & 0xff;
  else if (low === 0) out.exitCode = (status >> 8) & 0xff;
  else {
    out.signal = low;
    out.coreDumped = (status & 0x80) !== 0;
  }
  return out;
}

const NS_FLAG_NAMES: Array<[number, string]> = [
  [CLONE_NEWNS, 'CLONE_NEWNS'],
  [CLONE_NEWUTS, 'CLONE_NEWUTS'],
  [CLONE_NEWIPC, 'CLONE_NEWIPC'],
  [CLONE_NEWUSER, 'CLONE_NEWUSER'],
  [CLONE_NEWPID, 'CLONE_NEWPID'],
  [CLONE_NEWNET, 'CLONE_NEWNET'],
  [CLONE_NEWCGROUP, 'CLONE_NEWCGROUP'],
  [CLONE_NEWTIME, 'CLONE_NEWTIME'],
  [CLONE_FS, 'CLONE_FS'],
  [CLONE_FILES, 'CLONE_FILES'],
  [CLONE_SYSVSEM, 'CLONE_SYSVSEM'],
];

/** 'CLONE_NEWNS|CLONE_NEWUTS' for a flag word (unknown bits in hex). */
export function describeCloneFlags(flags: number): string {
  return describeFlags(flags, NS_FLAG_NAMES, '0x0');
}

function describeMount(source: string | null, target: string, fstype: string | null): string {
  return `${source ?? 'none'} on ${target}${fstype ? ` (${fstype})` : ''}`;
}

const EINVAL = 22;
const EINTR = 4;
const ENOSYS = 38;

/** Rejects strings koffi would silently truncate at an embedded NUL. */
function cstr(call: string, s: string): string {
  if (s.includes('\0')) throw new SyscallError(call, EINVAL, s.replace(/\0/g, '\\0'), undefined);
  return s;
}

function big(v: bigint | number): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

// ---------------------------------------------------------------------------------------------
// The real implementation

export class LinuxSyscalls implements Syscalls {
  private raw: RawLibc | undefined;

  /** libc is bound on the first system call, not at construction. */
  private get L(): RawLibc {
    return (this.raw ??= libc());
  }

  private check(r: number, call: string, subject?: string, detail?: string): number {
    if (r < 0) throw errnoError(call, subject, detail);
    return r;
  }

  // --- identity and process

  getpid(): number {
    return this.L.getpid();
  }
  getppid(): number {
    return this.L.getppid();
  }
  gettid(): number {
    return this.L.gettid();
  }
  getuid(): number {
    return this.L.getuid();
  }
  geteuid(): number {
    return this.L.geteuid();
  }
  getgid(): number {
    return this.L.getgid();
  }
  getegid(): number {
    return this.L.getegid();
  }
  setsid(): number {
    return this.check(this.L.setsid(), 'setsid');
  }
  umask(mask: number): number {
    return this.L.umask(mask);
  }

  // --- files

  open(path: string, flags: number, mode = 0): number {
    return this.check(this.L.open(cstr('open', path), flags, mode), 'open', path);
  }
  openat(dirfd: number, path: string, flags: number, mode = 0): number {
    const r = this.L.openat(dirfd, cstr('openat', path), flags, mode);
    if (r < 0) throw errnoError('openat', path, dirfd === AT_FDCWD ? path : `${path} (dirfd ${dirfd})`);
    return r;
  }
  close(fd: number): void {
    this.check(this.L.close(fd), 'close', `fd ${fd}`);
  }
  dup2(oldfd: number, newfd: number): number {
    return this.check(this.L.dup2(oldfd, newfd), 'dup2', `fd ${oldfd}`, `${oldfd} to ${newfd}`);
  }
  dup3(oldfd: number, newfd: number, flags: number): number {
    return this.check(this.L.dup3(oldfd, newfd, flags), 'dup3', `fd ${oldfd}`, `${oldfd} to ${newfd}`);
  }
  setCloexec(fd: number, on: boolean): void {
    const cur = this.check(this.L.fcntlInt(fd, F_GETFD, 0), 'fcntl', `fd ${fd}`);
    const next = on ? cur | FD_CLOEXEC : cur & ~FD_CLOEXEC;
    if (next !== cur) this.check(this.L.fcntlInt(fd, F_SETFD, next), 'fcntl', `fd ${fd}`);
  }
  closeRange(first: number, last = 0xffffffff, flags = 0): void {
    const r = this.L.syscall(SYS.close_range, 'uint32_t', first >>> 0, 'uint32_t', last >>> 0, 'uint32_t', flags >>> 0);
    if (r === 0) return;
    const err = this.L.errno();
    // ENOSYS: kernel < 5.9; EINVAL with CLOSE_RANGE_CLOEXEC: kernel < 5.11.
    if (err === ENOSYS || (err === EINVAL && (flags & CLOSE_RANGE_CLOEXEC) !== 0)) {
      this.closeRangeFallback(first, last >>> 0, (flags & CLOSE_RANGE_CLOEXEC) !== 0);
      return;
    }
    throw new SyscallError('close_range', err, `${first}..${last >>> 0}`);
  }
  private closeRangeFallback(first: number, last: number, cloexec: boolean): void {
    const fds = readdirSync('/proc/self/fd')
      .map(Number)
      .filter((fd) => Number.isInteger(fd) && fd >= first && fd <= last);
    for (const fd of fds) {
      try {
        if (cloexec) this.setCloexec(fd, true);
        else this.L.close(fd);
      } catch {
        // the fd that listed /proc/self/fd is gone by now (EBADF): ignore
      }
    }
  }
  flock(fd: number, op: number): void {
    let r: number;
    do r = this.L.flock(fd, op);
    while (r < 0 && this.L.errno() === EINTR);
    this.check(r, 'flock', `fd ${fd}`);
  }
  mknod(path: string, mode: number, dev: number | bigint): void {
    this.check(this.L.mknod(cstr('mknod', path), mode, big(dev)), 'mknod', path);
  }
  mkfifo(path: string, mode: number): void {
    this.check(this.L.mkfifo(cstr('mkfifo', path), mode), 'mkfifo', path);
  }
  chown(path: string, uid: number, gid: number): void {
    this.check(this.L.chown(cstr('chown', path), uid >>> 0, gid >>> 0), 'chown', path);
  }
  lchown(path: string, uid: number, gid: number): void {
    this.check(this.L.lchown(cstr('lchown', path), uid >>> 0, gid >>> 0), 'lchown', path);
  }
  fchown(fd: number, uid: number, gid: number): void {
    this.check(this.L.fchown(fd, uid >>> 0, gid >>> 0), 'fchown', `fd ${fd}`);
  }
  chmod(path: string, mode: number): void {
    this.check(this.L.chmod(cstr('chmod', path), mode), 'chmod', path);
  }
  fchmod(fd: number, mode: number): void {
    this.check(this.L.fchmod(fd, mode), 'fchmod', `fd ${fd}`);
  }
  symlink(target: string, linkpath: string): void {
    this.check(
      this.L.symlink(cstr('symlink', target), cstr('symlink', linkpath)),
      'symlink',
      linkpath,
      `${linkpath} -> ${target}`,
    );
  }
  statvfsFlags(path: string): number {
    // struct statvfs on LP64 glibc: 11 unsigned longs (f_flag is the 10th, offset 72) + int[6].
    const buf = Buffer.alloc(112);
    this.check(this.L.statvfs(cstr('statvfs', path), buf), 'statvfs', path);
    return Number(buf.readBigUInt64LE(72));
  }

  // --- mounts and root

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    const r = this.L.mount(
      source === null ? null : cstr('mount', source),
      cstr('mount', target),
      fstype === null ? null : cstr('mount', fstype),
      flags >>> 0,
      data === null ? null : cstr('mount', data),
    );
    if (r < 0) throw errnoError('mount', target, describeMount(source, target, fstype));
  }
  umount2(target: string, flags: number): void {
    this.check(this.L.umount2(cstr('umount2', target), flags), 'umount2', target);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    const r = this.L.syscall(SYS.pivot_root, 'str', cstr('pivot_root', newRoot), 'str', cstr('pivot_root', putOld));
    if (r < 0) throw errnoError('pivot_root', newRoot, `${newRoot} ${putOld}`);
  }
  chdir(path: string): void {
    this.check(this.L.chdir(cstr('chdir', path)), 'chdir', path);
  }
  fchdir(fd: number): void {
    this.check(this.L.fchdir(fd), 'fchdir', `fd ${fd}`);
  }
  chroot(path: string): void {
    this.check(this.L.chroot(cstr('chroot', path)), 'chroot', path);
  }

  // --- namespaces

  unshare(flags: number): void {
    this.check(this.L.unshare(flags | 0), 'unshare', describeCloneFlags(flags));
  }
  setns(fd: number, nstype: number): void {
    const r = this.L.setns(fd, nstype | 0);
    if (r < 0) throw errnoError('setns', `fd ${fd}`, `fd ${fd} (${describeCloneFlags(nstype)})`);
  }
  sethostname(name: string): void {
    this.check(this.L.sethostname(cstr('sethostname', name), Buffer.byteLength(name)), 'sethostname', name);
  }
  setdomainname(name: string): void {
    this.check(this.L.setdomainname(cstr('setdomainname', name), Buffer.byteLength(name)), 'setdomainname', name);
  }

  // --- processes and signals

  kill(pid: number, sig: number): void {
    const r = this.L.kill(pid, sig);
    if (r < 0) throw errnoError('kill', String(pid), `${pid} ${signalName(sig) ?? sig}`);
  }
  pidfdOpen(pid: number, flags = 0): number {
    return this.check(this.L.syscall(SYS.pidfd_open, 'int', pid, 'uint32_t', flags >>> 0), 'pidfd_open', String(pid));
  }
  pidfdSendSignal(pidfd: number, sig: number): void {
    const r = this.L.syscall(SYS.pidfd_send_signal, 'int', pidfd, 'int', sig, 'void *', null, 'uint32_t', 0);
    if (r < 0) throw errnoError('pidfd_send_signal', `fd ${pidfd}`, `fd ${pidfd} ${signalName(sig) ?? sig}`);
  }
  waitpid(pid: number, options = 0): WaitStatus | null {
    const st = new Int32Array(1);
    let r: number;
    do r = this.L.waitpid(pid, st, options);
    while (r < 0 && this.L.errno() === EINTR);
    this.check(r, 'waitpid', String(pid));
    return r === 0 ? null : decodeWaitStatus(r, st[0]!);
  }
  waitpidAsync(pid: number, options = 0): Promise<WaitStatus> {
    const L = this.L;
    return new Promise<WaitStatus>((resolve, reject) => {
      const attempt = (): void => {
        const st = new Int32Array(1);
        L.waitpid.async(pid, st, options & ~WNOHANG, (err: unknown, r: number) => {
          if (err) return reject(err);
          if (r > 0) return resolve(decodeWaitStatus(r, st[0]!));
          // The worker thread's errno is not visible here. Ask again without blocking, on
          // this thread: that either reports the real error (ECHILD...), finds the child
          // still running (the worker call was interrupted: wait again), or reaps it.
          const st2 = new Int32Array(1);
          const r2 = L.waitpid(pid, st2, options | WNOHANG);
          if (r2 < 0) return reject(errnoError('waitpid', String(pid)));
          if (r2 === 0) return attempt();
          return resolve(decodeWaitStatus(r2, st2[0]!));
        });
      };
      attempt();
    });
  }
  spawn(path: string, argv: readonly string[], envp: readonly string[], fds: ReadonlyArray<readonly [number, number]>): number {
    const L = this.L;
    // dup2 actions run in order in the child: a source that is also an earlier target would be
    // clobbered, so every source is first copied above all targets (close-on-exec, ours).
    const floor = Math.max(10, ...fds.map(([, theirs]) => theirs + 1));
    const copies: number[] = [];
    const actions = Buffer.alloc(256); // posix_spawn_file_actions_t: 80 bytes in glibc
    const attr = Buffer.alloc(512); // posix_spawnattr_t: 336 bytes in glibc
    const all = Buffer.alloc(128);
    const none = Buffer.alloc(128);
    const POSIX_SPAWN_SETSIGDEF = 0x04;
    const POSIX_SPAWN_SETSIGMASK = 0x08;
    const ok = (err: number, call: string) => {
      if (err !== 0) throw new SyscallError(call, err, path);
    };
    ok(L.posix_spawn_file_actions_init(actions), 'posix_spawn_file_actions_init');
    try {
      ok(L.posix_spawnattr_init(attr), 'posix_spawnattr_init');
      try {
        for (const [ours, theirs] of fds) {
          const copy = this.check(L.fcntlInt(ours, F_DUPFD_CLOEXEC, floor), 'fcntl', `fd ${ours}`, `fd ${ours} F_DUPFD_CLOEXEC`);
          copies.push(copy);
          ok(L.posix_spawn_file_actions_adddup2(actions, copy, theirs), 'posix_spawn_file_actions_adddup2');
        }
        L.sigfillset(all);
        L.sigemptyset(none);
        ok(L.posix_spawnattr_setsigdefault(attr, all), 'posix_spawnattr_setsigdefault');
        ok(L.posix_spawnattr_setsigmask(attr, none), 'posix_spawnattr_setsigmask');
        ok(L.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), 'posix_spawnattr_setflags');
        const pid = new Int32Array(1);
        const a: Array<string | null> = [...argv.map((s) => cstr('posix_spawn', s)), null];
        const e: Array<string | null> = [...envp.map((s) => cstr('posix_spawn', s)), null];
        ok(L.posix_spawn(pid, cstr('posix_spawn', path), actions, attr, a, e), 'posix_spawn');
        return pid[0]!;
      } finally {
        L.posix_spawnattr_destroy(attr);
      }
    } finally {
      L.posix_spawn_file_actions_destroy(actions);
      for (const fd of copies) L.close(fd);
    }
  }
  setBlocking(fd: number): void {
    const flags = this.check(this.L.fcntlInt(fd, F_GETFL, 0), 'fcntl', `fd ${fd}`, `fd ${fd} F_GETFL`);
    if (flags & O_NONBLOCK) this.check(this.L.fcntlInt(fd, F_SETFL, flags & ~O_NONBLOCK), 'fcntl', `fd ${fd}`, `fd ${fd} F_SETFL`);
  }
  pollIn(fd: number, timeoutMs: number): boolean {
    const POLLIN = 0x1;
    const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
    pfd.writeInt32LE(fd, 0);
    pfd.writeInt16LE(POLLIN, 4);
    const r = this.L.poll(pfd, 1, timeoutMs);
    if (r < 0 && this.L.errno() === EINTR) return false;
    this.check(r, 'poll', `fd ${fd}`);
    return r > 0;
  }
  execve(path: string, argv: readonly string[], envp: readonly string[]): never {
    const a: Array<string | null> = argv.map((s) => cstr('execve', s));
    const e: Array<string | null> = envp.map((s) => cstr('execve', s));
    a.push(null);
    e.push(null);
    this.L.execve(cstr('execve', path), a, e);
    throw errnoError('execve', path);
  }
  signalDefault(sig: number): void {
    // A zeroed struct sigaction is SIG_DFL, empty sa_mask, no flags (152 bytes on LP64 glibc).
    this.check(this.L.sigaction(sig, Buffer.alloc(256), null), 'sigaction', signalName(sig) ?? String(sig));
  }
  unblockAllSignals(): void {
    const SIG_SETMASK = 2;
    this.check(this.L.sigprocmask(SIG_SETMASK, Buffer.alloc(128), null), 'sigprocmask');
  }

  // --- prctl, credentials, limits

  prctl(option: number, arg2 = 0, arg3 = 0, arg4 = 0, arg5 = 0): number {
    return this.check(this.L.prctl(option, arg2, arg3, arg4, arg5), 'prctl', String(option));
  }
  setChildSubreaper(on: boolean): void {
    this.check(this.L.prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0), 'prctl', 'PR_SET_CHILD_SUBREAPER');
  }
  setDumpable(on: boolean): void {
    this.check(this.L.prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0), 'prctl', 'PR_SET_DUMPABLE');
  }
  setNoNewPrivs(): void {
    this.check(this.L.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'prctl', 'PR_SET_NO_NEW_PRIVS');
  }
  setKeepCaps(on: boolean): void {
    this.check(this.L.prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0), 'prctl', 'PR_SET_KEEPCAPS');
  }
  setPdeathsig(sig: number): void {
    this.check(this.L.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), 'prctl', 'PR_SET_PDEATHSIG');
  }
  personality(persona: number): number {
    return this.check(this.L.personality(persona >>> 0), 'personality', '0x' + (persona >>> 0).toString(16));
  }
  // set*id through the raw system call: it changes the calling thread only, like capset and
  // PR_CAPBSET_DROP. glibc's wrappers broadcast the change to every thread of the process and
  // abort() the whole process when one thread fails, which happens as soon as the main
  // thread's capabilities differ from the other Node threads' (after capset). Only the thread
  // that calls execve matters, and execve leaves only that thread.
  setresuid(ruid: number, euid: number, suid: number): void {
    const r = this.L.syscall(SYS.setresuid, 'uint32_t', ruid >>> 0, 'uint32_t', euid >>> 0, 'uint32_t', suid >>> 0);
    this.check(r, 'setresuid', `${ruid} ${euid} ${suid}`);
  }
  setresgid(rgid: number, egid: number, sgid: number): void {
    const r = this.L.syscall(SYS.setresgid, 'uint32_t', rgid >>> 0, 'uint32_t', egid >>> 0, 'uint32_t', sgid >>> 0);
    this.check(r, 'setresgid', `${rgid} ${egid} ${sgid}`);
  }
  setgroups(gids: readonly number[]): void {
    const list = gids.length === 0 ? null : Uint32Array.from(gids, (g) => g >>> 0);
    const r = this.L.syscall(SYS.setgroups, 'size_t', gids.length, 'void *', list);
    this.check(r, 'setgroups', gids.join(','));
  }
  prlimit(pid: number, resource: number, limit?: { soft: bigint | number; hard: bigint | number }): Rlimit {
    const old: { cur?: number | bigint; max?: number | bigint } = {};
    const nw = limit === undefined ? null : { cur: big(limit.soft), max: big(limit.hard) };
    this.check(this.L.prlimit(pid, resource, nw, old), 'prlimit', String(resource), `${resource} of pid ${pid}`);
    return { soft: big(old.cur ?? 0), hard: big(old.max ?? 0) };
  }
  setrlimit(resource: number, soft: bigint | number, hard: bigint | number): void {
    this.prlimit(0, resource, { soft, hard });
  }
  getrlimit(resource: number): Rlimit {
    return this.prlimit(0, resource);
  }

  // --- capabilities

  capget(): CapabilitySets {
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    const data = Buffer.alloc(24);
    this.check(this.L.capget(hdr, data), 'capget');
    const word = (i: number): bigint => BigInt(data.readUInt32LE(i * 4));
    return {
      effective: word(0) | (word(3) << 32n),
      permitted: word(1) | (word(4) << 32n),
      inheritable: word(2) | (word(5) << 32n),
    };
  }
  capset(sets: CapabilitySets): void {
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    const data = Buffer.alloc(24);
    const put = (i: number, v: bigint): void => {
      data.writeUInt32LE(Number(v & 0xffffffffn), i * 4);
      data.writeUInt32LE(Number((v >> 32n) & 0xffffffffn), (i + 3) * 4);
    };
    put(0, sets.effective);
    put(1, sets.permitted);
    put(2, sets.inheritable);
    this.check(this.L.capset(hdr, data), 'capset');
  }
  capbsetRead(cap: number): boolean {
    return this.check(this.L.prctl(PR_CAPBSET_READ, cap, 0, 0, 0), 'prctl', `PR_CAPBSET_READ ${cap}`) === 1;
  }
  capbsetDrop(cap: number): void {
    this.check(this.L.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), 'prctl', `PR_CAPBSET_DROP ${cap}`);
  }
  capAmbientRaise(cap: number): void {
    this.check(this.L.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), 'prctl', `PR_CAP_AMBIENT_RAISE ${cap}`);
  }
  capAmbientIsSet(cap: number): boolean {
    const r = this.L.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
    return this.check(r, 'prctl', `PR_CAP_AMBIENT_IS_SET ${cap}`) === 1;
  }
  capAmbientClearAll(): void {
    this.check(this.L.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 'prctl', 'PR_CAP_AMBIENT_CLEAR_ALL');
  }

  // --- scheduling

  ioprioSet(which: number, who: number, ioprio: number): void {
    const r = this.L.syscall(SYS.ioprio_set, 'int', which, 'int', who, 'int', ioprio);
    if (r < 0) throw errnoError('ioprio_set', String(who));
  }
  schedSetattr(pid: number, attr: SchedAttr): void {
    // struct sched_attr: u32 size, u32 policy, u64 flags, s32 nice, u32 priority,
    // u64 runtime, deadline, period (48 bytes, VER0), u32 util_min, util_max (56, VER1).
    const withUtil = attr.utilMin !== undefined || attr.utilMax !== undefined;
    const size = withUtil ? 56 : 48;
    const b = Buffer.alloc(size);
    b.writeUInt32LE(size, 0);
    b.writeUInt32LE(attr.policy >>> 0, 4);
    b.writeBigUInt64LE(BigInt(attr.flags ?? 0), 8);
    b.writeInt32LE(attr.nice ?? 0, 16);
    b.writeUInt32LE((attr.priority ?? 0) >>> 0, 20);
    b.writeBigUInt64LE(big(attr.runtime ?? 0), 24);
    b.writeBigUInt64LE(big(attr.deadline ?? 0), 32);
    b.writeBigUInt64LE(big(attr.period ?? 0), 40);
    if (withUtil) {
      b.writeUInt32LE((attr.utilMin ?? 0) >>> 0, 48);
      b.writeUInt32LE((attr.utilMax ?? 1024) >>> 0, 52);
    }
    const r = this.L.syscall(SYS.sched_setattr, 'int', pid, 'void *', b, 'uint32_t', 0);
    if (r < 0) throw errnoError('sched_setattr', String(pid));
  }

  // --- terminals

  setControllingTerminal(fd: number, steal = false): void {
    this.check(this.L.ioctl(fd, TIOCSCTTY, 'int', steal ? 1 : 0), 'ioctl', `fd ${fd}`, `fd ${fd} TIOCSCTTY`);
  }
  setWinsize(fd: number, ws: Winsize): void {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(ws.rows, 0);
    b.writeUInt16LE(ws.cols, 2);
    b.writeUInt16LE(ws.xpixel ?? 0, 4);
    b.writeUInt16LE(ws.ypixel ?? 0, 6);
    this.check(this.L.ioctl(fd, TIOCSWINSZ, 'void *', b), 'ioctl', `fd ${fd}`, `fd ${fd} TIOCSWINSZ`);
  }
  getWinsize(fd: number): Winsize {
    const b = Buffer.alloc(8);
    this.check(this.L.ioctl(fd, TIOCGWINSZ, 'void *', b), 'ioctl', `fd ${fd}`, `fd ${fd} TIOCGWINSZ`);
    return { rows: b.readUInt16LE(0), cols: b.readUInt16LE(2), xpixel: b.readUInt16LE(4), ypixel: b.readUInt16LE(6) };
  }
  unlockpt(fd: number): void {
    const v = new Int32Array(1);
    this.check(this.L.ioctl(fd, TIOCSPTLCK, 'void *', v), 'ioctl', `fd ${fd}`, `fd ${fd} TIOCSPTLCK`);
  }
  ptsNumber(fd: number): number {
    const v = new Int32Array(1);
    this.check(this.L.ioctl(fd, TIOCGPTN, 'void *', v), 'ioctl', `fd ${fd}`, `fd ${fd} TIOCGPTN`);
    return v[0]!;
  }
  openPtsPeer(fd: number, flags: number): number {
    return this.check(this.L.ioctl(fd, TIOCGPTPEER, 'int', flags), 'ioctl', `fd ${fd}`, `fd ${fd} TIOCGPTPEER`);
  }
  getTermios(fd: number): Termios {
    const b = Buffer.alloc(TERMIOS_SIZE);
    this.check(this.L.ioctl(fd, TCGETS, 'void *', b), 'ioctl', `fd ${fd}`, `fd ${fd} TCGETS`);
    const cc: number[] = [];
    for (let i = 0; i < NCCS; i++) cc.push(b.readUInt8(17 + i));
    return { iflag: b.readUInt32LE(0), oflag: b.readUInt32LE(4), cflag: b.readUInt32LE(8), lflag: b.readUInt32LE(12), line: b.readUInt8(16), cc };
  }
  setTermios(fd: number, t: Termios): void {
    const b = Buffer.alloc(TERMIOS_SIZE);
    b.writeUInt32LE(t.iflag >>> 0, 0);
    b.writeUInt32LE(t.oflag >>> 0, 4);
    b.writeUInt32LE(t.cflag >>> 0, 8);
    b.writeUInt32LE(t.lflag >>> 0, 12);
    b.writeUInt8(t.line & 0xff, 16);
    t.cc.slice(0, NCCS).forEach((c, i) => b.writeUInt8(c & 0xff, 17 + i));
    this.check(this.L.ioctl(fd, TCSETS, 'void *', b), 'ioctl', `fd ${fd}`, `fd ${fd} TCSETS`);
  }

  // --- unix sockets

  socketpair(kind: 'stream' | 'seqpacket' = 'stream'): [number, number] {
    const sv = new Int32Array(2);
    const type = kind === 'seqpacket' ? SOCK_SEQPACKET : SOCK_STREAM;
    this.check(this.L.socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 'socketpair');
    return [sv[0]!, sv[1]!];
  }
  unixConnect(path: string): number {
    const addr = unixAddress('connect', path);
    const fd = this.check(this.L.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 'socket', path);
    let r: number;
    do r = this.L.connect(fd, addr, addr.length);
    while (r < 0 && this.L.errno() === EINTR);
    if (r < 0) {
      const err = errnoError('connect', path);
      this.L.close(fd);
      throw err;
    }
    return fd;
  }
  sendFds(sock: number, data: Buffer, fds: readonly number[]): void {
    if (data.length === 0) throw new SyscallError('sendmsg', EINVAL, `fd ${sock}`, `fd ${sock} (empty data)`);
    const control = fds.length === 0 ? null : Buffer.alloc(cmsgSpace(fds.length * 4));
    if (control) {
      control.writeBigUInt64LE(BigInt(16 + fds.length * 4), 0); // cmsg_len = CMSG_LEN
      control.writeInt32LE(SOL_SOCKET, 8);
      control.writeInt32LE(SCM_RIGHTS, 12);
      fds.forEach((fd, i) => control.writeInt32LE(fd, 16 + i * 4));
    }
    let off = 0;
    let first = true;
    while (off < data.length) {
      const chunk = data.subarray(off);
      const msg = {
        name: null,
        namelen: 0,
        iov: [{ base: chunk, len: chunk.length }],
        iovlen: 1,
        control: first ? control : null,
        controllen: first && control ? control.length : 0,
        flags: 0,
      };
      const r = this.L.sendmsg(sock, msg, MSG_NOSIGNAL);
      if (r < 0) {
        if (this.L.errno() === EINTR) continue;
        throw errnoError('sendmsg', `fd ${sock}`);
      }
      off += r;
      first = false;
    }
  }
  unixListen(path: string, options: { backlog?: number; nonBlocking?: boolean } = {}): number {
    const addr = unixAddress('bind', path);
    const type = SOCK_STREAM | SOCK_CLOEXEC | (options.nonBlocking ? SOCK_NONBLOCK : 0);
    const fd = this.check(this.L.socket(AF_UNIX, type, 0), 'socket', path);
    try {
      this.check(this.L.bind(fd, addr, addr.length), 'bind', path);
      this.check(this.L.listen(fd, options.backlog ?? 16), 'listen', path);
    } catch (err) {
      this.L.close(fd);
      throw err;
    }
    return fd;
  }
  accept(fd: number): number {
    let r: number;
    do r = this.L.accept4(fd, null, null, SOCK_CLOEXEC);
    while (r < 0 && this.L.errno() === EINTR);
    return this.check(r, 'accept4', `fd ${fd}`);
  }
  recvFds(sock: number, maxData = 4096, maxFds = 16): ReceivedFds {
    const buf = Buffer.alloc(maxData);
    const control = Buffer.alloc(cmsgSpace(maxFds * 4));
    const msg = {
      name: null,
      namelen: 0,
      iov: [{ base: buf, len: buf.length }],
      iovlen: 1,
      control,
      controllen: control.length,
      flags: 0,
    };
    let r: number;
    do r = this.L.recvmsg(sock, msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && this.L.errno() === EINTR);
    if (r < 0) throw errnoError('recvmsg', `fd ${sock}`);
    // msghdr is passed in only, so msg_controllen is not copied back: walk the zero-filled
    // control buffer until a header with cmsg_len 0.
    const fds: number[] = [];
    let off = 0;
    while (off + 16 <= control.length) {
      const len = Number(control.readBigUInt64LE(off));
      if (len < 16) break;
      if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
        for (let p = off + 16; p + 4 <= off + len && p + 4 <= control.length; p += 4) fds.push(control.readInt32LE(p));
      }
      off += cmsgSpace(len - 16);
    }
    return { data: buf.subarray(0, r), fds };
  }

  // --- *at() calls, openat2, statx, mount_setattr

  openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(flags >>> 0), 0);
    how.writeBigUInt64LE(BigInt(mode >>> 0), 8);
    how.writeBigUInt64LE(BigInt(resolve >>> 0), 16);
    const r = this.L.syscall(SYS.openat2, 'int', dirfd, 'str', cstr('openat2', path), 'void *', how, 'size_t', 24);
    if (r < 0) throw errnoError('openat2', path, atDetail(dirfd, path));
    return r;
  }
  mkdirat(dirfd: number, path: string, mode: number): void {
    const r = this.L.mkdirat(dirfd, cstr('mkdirat', path), mode);
    if (r < 0) throw errnoError('mkdirat', path, atDetail(dirfd, path));
  }
  mknodat(dirfd: number, path: string, mode: number, dev: number | bigint): void {
    const r = this.L.mknodat(dirfd, cstr('mknodat', path), mode, big(dev));
    if (r < 0) throw errnoError('mknodat', path, atDetail(dirfd, path));
  }
  symlinkat(target: string, dirfd: number, linkpath: string): void {
    const r = this.L.symlinkat(cstr('symlinkat', target), dirfd, cstr('symlinkat', linkpath));
    if (r < 0) throw errnoError('symlinkat', linkpath, `${atDetail(dirfd, linkpath)} -> ${target}`);
  }
  unlinkat(dirfd: number, path: string, flags: number): void {
    const r = this.L.unlinkat(dirfd, cstr('unlinkat', path), flags);
    if (r < 0) throw errnoError('unlinkat', path, atDetail(dirfd, path));
  }
  readlinkat(dirfd: number, path: string): string {
    const buf = Buffer.alloc(4096);
    const r = Number(this.L.readlinkat(dirfd, cstr('readlinkat', path), buf, buf.length));
    if (r < 0) throw errnoError('readlinkat', path, atDetail(dirfd, path));
    if (r >= buf.length) throw SyscallError.of('readlinkat', 'ENAMETOOLONG', path, atDetail(dirfd, path));
    return buf.toString('utf8', 0, r);
  }
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
    const r = this.L.fchownat(dirfd, cstr('fchownat', path), uid >>> 0, gid >>> 0, flags);
    if (r < 0) throw errnoError('fchownat', path, atDetail(dirfd, path));
  }
  statx(dirfd: number, path: string, flags: number): FileStat {
    // struct statx is 256 bytes and the same on every architecture.
    const b = Buffer.alloc(256);
    const r = this.L.statx(dirfd, cstr('statx', path), flags, STATX_BASIC_STATS | STATX_MNT_ID, b);
    if (r < 0) throw errnoError('statx', path, atDetail(dirfd, path));
    const mask = b.readUInt32LE(0);
    return {
      mode: b.readUInt16LE(28),
      uid: b.readUInt32LE(20),
      gid: b.readUInt32LE(24),
      ino: b.readBigUInt64LE(32),
      size: b.readBigUInt64LE(40),
      rdev: makedev(b.readUInt32LE(128), b.readUInt32LE(132)),
      dev: makedev(b.readUInt32LE(136), b.readUInt32LE(140)),
      mntId: (mask & STATX_MNT_ID) !== 0 ? b.readBigUInt64LE(144) : 0n,
    };
  }
  mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void {
    // struct mount_attr { u64 attr_set; u64 attr_clr; u64 propagation; u64 userns_fd; }
    const a = Buffer.alloc(MOUNT_ATTR_SIZE_VER0);
    a.writeBigUInt64LE(big(attr.attrSet ?? 0), 0);
    a.writeBigUInt64LE(big(attr.attrClr ?? 0), 8);
    a.writeBigUInt64LE(big(attr.propagation ?? 0), 16);
    a.writeBigUInt64LE(big(attr.usernsFd ?? 0), 24);
    const r = this.L.syscall(
      SYS.mount_setattr,
      'int',
      dirfd,
      'str',
      cstr('mount_setattr', path),
      'uint32_t',
      flags >>> 0,
      'void *',
      a,
      'size_t',
      MOUNT_ATTR_SIZE_VER0,
    );
    if (r < 0) throw errnoError('mount_setattr', path, atDetail(dirfd, path));
  }

  // --- bpf

  bpf(cmd: number, attr: Buffer, what: string): number {
    const r = Number(this.L.syscall(SYS.bpf, 'int', cmd, 'void *', attr, 'uint32_t', attr.length));
    if (r < 0) throw errnoError('bpf', what);
    return r;
  }
  bufferAddress(buf: Buffer): bigint {
    return BigInt(this.L.koffi.address(buf) as bigint | number);
  }

  // --- sealed executables

  fsopen(fsname: string, flags: number): number {
    return this.check(Number(this.L.syscall(SYS.fsopen, 'str', cstr('fsopen', fsname), 'uint32_t', flags >>> 0)), 'fsopen', fsname);
  }
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null): void {
    const r = Number(this.L.syscall(SYS.fsconfig, 'int', fd, 'uint32_t', cmd >>> 0, 'str', key === null ? null : cstr('fsconfig', key), 'str', value === null ? null : cstr('fsconfig', value), 'int', 0));
    if (r < 0) throw errnoError('fsconfig', key ?? `cmd ${cmd}`, key === null ? undefined : `${key}=${value ?? ''}`);
  }
  fsmount(fd: number, flags: number, attrs: number): number {
    return this.check(Number(this.L.syscall(SYS.fsmount, 'int', fd, 'uint32_t', flags >>> 0, 'uint32_t', attrs >>> 0)), 'fsmount', `fd ${fd}`);
  }
  memfdCreate(name: string, flags: number): number {
    return this.check(Number(this.L.syscall(SYS.memfd_create, 'str', cstr('memfd_create', name), 'uint32_t', flags >>> 0)), 'memfd_create', name);
  }
  addSeals(fd: number, seals: number): void {
    this.check(this.L.fcntlInt(fd, F_ADD_SEALS, seals), 'fcntl(F_ADD_SEALS)', `fd ${fd}`);
  }

  // --- keyrings

  joinSessionKeyring(name: string): number {
    return this.check(Number(this.L.syscall(SYS.keyctl, 'int', KEYCTL_JOIN_SESSION_KEYRING, 'str', name)), 'keyctl(JOIN_SESSION_KEYRING)', name);
  }
  setKeyPermissions(key: number, perm: number): void {
    const r = Number(this.L.syscall(SYS.keyctl, 'int', KEYCTL_SETPERM, 'int32_t', key, 'uint32_t', perm >>> 0));
    if (r < 0) throw errnoError('keyctl(SETPERM)', `key ${key}`);
  }
}

/** "path" for AT_FDCWD, else "path (dirfd N)": how *at() errors describe their subject. */
function atDetail(dirfd: number, path: string): string {
  return dirfd === AT_FDCWD ? path : `${path} (dirfd ${dirfd})`;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_SEQPACKET = 5;
/** sizeof(struct termios) of the kernel (TCGETS), and its number of control characters. */
const TERMIOS_SIZE = 36;
const NCCS = 19;

/** struct sockaddr_un for `path` (sun_path is 108 bytes, NUL included). */
function unixAddress(call: string, path: string): Buffer {
  const bytes = Buffer.from(cstr(call, path));
  if (bytes.length > 107) throw SyscallError.of(call, 'ENAMETOOLONG', path);
  const addr = Buffer.alloc(2 + bytes.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;

function cmsgSpace(dataLen: number): number {
  return 16 + ((dataLen + 7) & ~7);
}

// ---------------------------------------------------------------------------------------------
// Helpers built on the interface (work with the fake too)

/**
 * Before execve from Node: Node ignores SIGPIPE and SIGXFSZ, and ignored dispositions survive
 * execve, so reset every ignored signal to SIG_DFL and empty the signal mask. (Caught signals
 * are reset by execve itself.) Call only right before execve: afterwards a write to a closed
 * pipe kills this process.
 */
export function resetSignalsForExec(sys: Syscalls, statusText?: string): void {
  const text = statusText ?? readFileSync('/proc/self/status', 'utf8');
  const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(text);
  if (m) {
    const ignored = BigInt('0x' + m[1]);
    for (let sig = 1; sig <= 64; sig++) {
      if (sig === 9 || sig === 19) continue;
      if (!((ignored >> BigInt(sig - 1)) & 1n)) continue;
      try {
        sys.signalDefault(sig);
      } catch (err) {
        // glibc keeps 32 and 33 for itself and refuses them with EINVAL; an ignore inherited
        // from our own parent for those cannot be undone through libc.
        if (!(sig === 32 || sig === 33) || !isErrno(err, 'EINVAL')) throw err;
      }
    }
  }
  sys.unblockAllSignals();
}

/**
 * Before execve from Node: Node marks fds 0, 1 and 2 close-on-exec at startup
 * (uv_disable_stdio_inheritance: also every inherited fd up to about 15), so an execve would
 * run the program without stdio. This clears close-on-exec on 0..2+preserveFds (the stdio
 * plus OCI/runc `--preserve-fds`, i.e. fds 3..2+preserveFds) and marks every higher fd
 * close-on-exec, so nothing else of Node's leaks into the new program.
 */
export function prepareExecFds(sys: Syscalls, preserveFds = 0): void {
  const last = 2 + preserveFds;
  for (let fd = 0; fd <= last; fd++) {
    try {
      sys.setCloexec(fd, false);
    } catch (err) {
      // a closed stdio fd stays closed, as with any other runtime
      if (!(err instanceof SyscallError && err.code === 'EBADF')) throw err;
    }
  }
  sys.closeRange(last + 1, 0xffffffff, CLOSE_RANGE_CLOEXEC);
}

/** True when `err` is a SyscallError with errno ENOSYS-like "not supported here" codes. */
export function isUnsupported(err: unknown): boolean {
  return err instanceof SyscallError && (err.errno === ENOSYS || err.errno === errnoNumber('EOPNOTSUPP'));
}

let singleton: LinuxSyscalls | undefined;

/** The process-wide real implementation (koffi is loaded on its first system call). */
export function linux(): Syscalls {
  return (singleton ??= new LinuxSyscalls());
}

// ---------------------------------------------------------------------------------------------
// Types of the *at()/statx/mount_setattr calls

/** What statx(2) reports (STATX_BASIC_STATS | STATX_MNT_ID), as used by the rootfs setup. */
export interface FileStat {
  /** st_mode: file type (S_IFMT bits) and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  ino: bigint;
  size: bigint;
  /** For a device node: its device number (makedev(major, minor)). */
  rdev: bigint;
  /** The device of the filesystem holding the file. */
  dev: bigint;
  /** The mount id (as in /proc/self/mountinfo); 0n if the kernel did not report it. */
  mntId: bigint;
}

/** struct mount_attr for mount_setattr(2): MOUNT_ATTR_* bits to set and clear, propagation (MS_*). */
export interface MountAttr {
  attrSet?: number | bigint;
  attrClr?: number | bigint;
  /** MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE (0: unchanged). */
  propagation?: number;
  usernsFd?: number;
}
