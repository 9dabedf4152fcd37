// FakeSyscalls: a pure-JS test double for the Syscalls interface. It records every call,
// keeps a little state so read-after-write calls are consistent (fds, umask, rlimits,
// capability sets, subreaper...), and lets a test script failures and results:
//
//   const sys = new FakeSyscalls();
//   sys.failOn('mount', '/x/proc', 'EPERM');          // mount with any argument '/x/proc'
//   sys.failOn('kill', (args) => args[0] === 7, 'ESRCH', { times: 1 });
//   sys.stub('waitpid', () => decodeWaitStatus(7, 0));
//   ... run code under test ...
//   assert.deepEqual(sys.callsTo('mount')[0], [null, '/', null, MS_REC | MS_PRIVATE, null]);
//
// Loads no koffi. execve records the call and throws FakeExecveError (a program "replaced by
// exec" never continues), unless a failure is scripted.
import { SyscallError } from './errors';
import { CAP_LAST_CAP, RLIM_INFINITY } from './constants';
import type { FileStat, MountAttr } from './syscalls';
import { S_IFDIR } from './constants';
import {
  describeCloneFlags,
  CapabilitySets,
  ReceivedFds,
  Rlimit,
  SchedAttr,
  Syscalls,
  WaitStatus,
  Termios,
  Winsize,
} from './syscalls';

export type SyscallName = keyof Syscalls;

export interface RecordedCall {
  name: SyscallName;
  args: unknown[];
}

/** Which calls a rule applies to: any argument equal to the value, or a predicate. */
export type CallMatcher = string | number | null | ((args: unknown[]) => boolean) | undefined;

interface Rule {
  name: SyscallName;
  match: CallMatcher;
  remaining: number;
  action: { kind: 'fail'; errno: string | number } | { kind: 'stub'; fn: (...args: unknown[]) => unknown };
}

/** Thrown by FakeSyscalls.execve: the process image would have been replaced. */
export class FakeExecveError extends Error {
  constructor(
    readonly path: string,
    readonly argv: readonly string[],
    readonly envp: readonly string[],
  ) {
    super(`fake execve ${path}`);
    this.name = 'FakeExecveError';
  }
}

function matches(m: CallMatcher, args: unknown[]): boolean {
  if (m === undefined) return true;
  if (typeof m === 'function') return m(args);
  return args.some((a) => a === m || (Array.isArray(a) && a.includes(m)));
}

export class FakeSyscalls implements Syscalls {
  readonly calls: RecordedCall[] = [];
  private rules: Rule[] = [];

  // Observable state.
  pid = 4242;
  ppid = 1;
  uid = 0;
  gid = 0;
  nextFd = 100;
  openFds = new Set<number>();
  cwd = '/';
  root = '/';
  hostname = '';
  domainname = '';
  umaskValue = 0o022;
  subreaper = false;
  dumpable = true;
  noNewPrivs = false;
  keepCaps = false;
  pdeathsig = 0;
  personalityValue = 0;
  groups: number[] = [];
  rlimits = new Map<number, Rlimit>();
  caps: CapabilitySets;
  bounding = new Set<number>();
  ambient = new Set<number>();
  winsizes = new Map<number, Winsize>();

  constructor(opts: { lastCap?: number } = {}) {
    const last = opts.lastCap ?? CAP_LAST_CAP;
    const all = (1n << BigInt(last + 1)) - 1n;
    this.caps = { effective: all, permitted: all, inheritable: 0n };
    for (let c = 0; c <= last; c++) this.bounding.add(c);
  }

  // --- scripting

  /** Makes matching calls of `name` throw SyscallError with `errno` ('EPERM' or 1). */
  failOn(name: SyscallName, match: CallMatcher, errno: string | number, opts: { times?: number } = {}): this {
    SyscallError.of(String(name), errno); // validates the errno name now
    this.rules.push({ name, match, remaining: opts.times ?? Infinity, action: { kind: 'fail', errno } });
    return this;
  }

  /** Replaces matching calls of `name` by `fn` (its return value is the call's result). */
  stub<K extends SyscallName>(
    name: K,
    fn: (...args: Parameters<Syscalls[K]>) => ReturnType<Syscalls[K]>,
    match?: CallMatcher,
    opts: { times?: number } = {},
  ): this {
    this.rules.push({
      name,
      match,
      remaining: opts.times ?? Infinity,
      action: { kind: 'stub', fn: fn as (...args: unknown[]) => unknown },
    });
    return this;
  }

  /** Argument lists of every recorded call of `name`, in order. */
  callsTo(name: SyscallName): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }

  /** Names of all recorded calls, in order. */
  names(): SyscallName[] {
    return this.calls.map((c) => c.name);
  }

  /** Forgets recorded calls (keeps rules and state). */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /**
   * Records the call, applies the first matching rule, else runs the default behaviour.
   * `call` and `subject` make the SyscallError look like the real one.
   */
  private run<T>(name: SyscallName, args: unknown[], call: string, subject: string | undefined, dflt: () => T): T {
    this.calls.push({ name, args });
    for (const r of this.rules) {
      if (r.name !== name || r.remaining <= 0 || !matches(r.match, args)) continue;
      r.remaining--;
      if (r.action.kind === 'fail') throw SyscallError.of(call, r.action.errno, subject);
      return r.action.fn(...args) as T;
    }
    return dflt();
  }

  private newFd(): number {
    const fd = this.nextFd++;
    this.openFds.add(fd);
    return fd;
  }

  // --- identity and process

  getpid(): number {
    return this.run('getpid', [], 'getpid', undefined, () => this.pid);
  }
  getppid(): number {
    return this.run('getppid', [], 'getppid', undefined, () => this.ppid);
  }
  gettid(): number {
    return this.run('gettid', [], 'gettid', undefined, () => this.pid);
  }
  getuid(): number {
    return this.run('getuid', [], 'getuid', undefined, () => this.uid);
  }
  geteuid(): number {
    return this.run('geteuid', [], 'geteuid', undefined, () => this.uid);
  }
  getgid(): number {
    return this.run('getgid', [], 'getgid', undefined, () => this.gid);
  }
  getegid(): number {
    return this.run('getegid', [], 'getegid', undefined, () => this.gid);
  }
  setsid(): number {
    return this.run('setsid', [], 'setsid', undefined, () => this.pid);
  }
  umask(mask: number): number {
    return this.run('umask', [mask], 'umask', undefined, () => {
      const old = this.umaskValue;
      this.umaskValue = mask & 0o777;
      return old;
    });
  }

  // --- files

  open(path: string, flags: number, mode?: number): number {
    return this.run('open', [path, flags, mode], 'open', path, () => this.newFd());
  }
  openat(dirfd: number, path: string, flags: number, mode?: number): number {
    return this.run('openat', [dirfd, path, flags, mode], 'openat', path, () => this.newFd());
  }
  close(fd: number): void {
    this.run('close', [fd], 'close', `fd ${fd}`, () => {
      this.openFds.delete(fd);
    });
  }
  dup2(oldfd: number, newfd: number): number {
    return this.run('dup2', [oldfd, newfd], 'dup2', `fd ${oldfd}`, () => {
      this.openFds.add(newfd);
      return newfd;
    });
  }
  dup3(oldfd: number, newfd: number, flags: number): number {
    return this.run('dup3', [oldfd, newfd, flags], 'dup3', `fd ${oldfd}`, () => {
      this.openFds.add(newfd);
      return newfd;
    });
  }
  setCloexec(fd: number, on: boolean): void {
    this.run('setCloexec', [fd, on], 'fcntl', `fd ${fd}`, () => undefined);
  }
  closeRange(first: number, last?: number, flags?: number): void {
    this.run('closeRange', [first, last, flags], 'close_range', `${first}..${last ?? 0xffffffff}`, () => undefined);
  }
  flock(fd: number, op: number): void {
    this.run('flock', [fd, op], 'flock', `fd ${fd}`, () => undefined);
  }
  mknod(path: string, mode: number, dev: number | bigint): void {
    this.run('mknod', [path, mode, dev], 'mknod', path, () => undefined);
  }
  mkfifo(path: string, mode: number): void {
    this.run('mkfifo', [path, mode], 'mkfifo', path, () => undefined);
  }
  chown(path: string, uid: number, gid: number): void {
    this.run('chown', [path, uid, gid], 'chown', path, () => undefined);
  }
  lchown(path: string, uid: number, gid: number): void {
    this.run('lchown', [path, uid, gid], 'lchown', path, () => undefined);
  }
  fchown(fd: number, uid: number, gid: number): void {
    this.run('fchown', [fd, uid, gid], 'fchown', `fd ${fd}`, () => undefined);
  }
  chmod(path: string, mode: number): void {
    this.run('chmod', [path, mode], 'chmod', path, () => undefined);
  }
  fchmod(fd: number, mode: number): void {
    this.run('fchmod', [fd, mode], 'fchmod', `fd ${fd}`, () => undefined);
  }
  symlink(target: string, linkpath: string): void {
    this.run('symlink', [target, linkpath], 'symlink', linkpath, () => undefined);
  }
  statvfsFlags(path: string): number {
    return this.run('statvfsFlags', [path], 'statvfs', path, () => 0);
  }

  // --- mounts and root

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.run('mount', [source, target, fstype, flags, data], 'mount', target, () => undefined);
  }
  umount2(target: string, flags: number): void {
    this.run('umount2', [target, flags], 'umount2', target, () => undefined);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    this.run('pivotRoot', [newRoot, putOld], 'pivot_root', newRoot, () => undefined);
  }
  chdir(path: string): void {
    this.run('chdir', [path], 'chdir', path, () => {
      this.cwd = path;
    });
  }
  fchdir(fd: number): void {
    this.run('fchdir', [fd], 'fchdir', `fd ${fd}`, () => undefined);
  }
  chroot(path: string): void {
    this.run('chroot', [path], 'chroot', path, () => {
      this.root = path;
    });
  }

  // --- namespaces

  unshare(flags: number): void {
    this.run('unshare', [flags], 'unshare', describeCloneFlags(flags), () => undefined);
  }
  setns(fd: number, nstype: number): void {
    this.run('setns', [fd, nstype], 'setns', `fd ${fd}`, () => undefined);
  }
  sethostname(name: string): void {
    this.run('sethostname', [name], 'sethostname', name, () => {
      this.hostname = name;
    });
  }
  setdomainname(name: string): void {
    this.run('setdomainname', [name], 'setdomainname', name, () => {
      this.domainname = name;
    });
  }

  // --- processes and signals

  kill(pid: number, sig: number): void {
    this.run('kill', [pid, sig], 'kill', String(pid), () => undefined);
  }
  pidfdOpen(pid: number, flags?: number): number {
    return this.run('pidfdOpen', [pid, flags], 'pidfd_open', String(pid), () => this.newFd());
  }
  pidfdSendSignal(pidfd: number, sig: number): void {
    this.run('pidfdSendSignal', [pidfd, sig], 'pidfd_send_signal', `fd ${pidfd}`, () => undefined);
  }
  waitpid(pid: number, options?: number): WaitStatus | null {
    return this.run('waitpid', [pid, options], 'waitpid', String(pid), () => {
      throw SyscallError.of('waitpid', 'ECHILD', String(pid));
    });
  }
  waitpidAsync(pid: number, options?: number): Promise<WaitStatus> {
    try {
      return Promise.resolve(
        this.run('waitpidAsync', [pid, options], 'waitpid', String(pid), (): WaitStatus | Promise<WaitStatus> => {
          throw SyscallError.of('waitpid', 'ECHILD', String(pid));
        }),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }
  spawn(path: string, argv: readonly string[], envp: readonly string[], fds: ReadonlyArray<readonly [number, number]>): number {
    return this.run('spawn', [path, argv, envp, fds], 'posix_spawn', path, () => 4343);
  }
  setBlocking(fd: number): void {
    this.run('setBlocking', [fd], 'fcntl', `fd ${fd}`, () => undefined);
  }
  pollIn(fd: number, timeoutMs: number): boolean {
    return this.run('pollIn', [fd, timeoutMs], 'poll', `fd ${fd}`, () => true);
  }
  execve(path: string, argv: readonly string[], envp: readonly string[]): never {
    return this.run('execve', [path, argv, envp], 'execve', path, (): never => {
      throw new FakeExecveError(path, argv, envp);
    });
  }
  signalDefault(sig: number): void {
    this.run('signalDefault', [sig], 'sigaction', String(sig), () => undefined);
  }
  unblockAllSignals(): void {
    this.run('unblockAllSignals', [], 'sigprocmask', undefined, () => undefined);
  }

  // --- prctl, credentials, limits

  prctl(option: number, arg2?: number, arg3?: number, arg4?: number, arg5?: number): number {
    return this.run('prctl', [option, arg2, arg3, arg4, arg5], 'prctl', String(option), () => 0);
  }
  setChildSubreaper(on: boolean): void {
    this.run('setChildSubreaper', [on], 'prctl', 'PR_SET_CHILD_SUBREAPER', () => {
      this.subreaper = on;
    });
  }
  setDumpable(on: boolean): void {
    this.run('setDumpable', [on], 'prctl', 'PR_SET_DUMPABLE', () => {
      this.dumpable = on;
    });
  }
  setNoNewPrivs(): void {
    this.run('setNoNewPrivs', [], 'prctl', 'PR_SET_NO_NEW_PRIVS', () => {
      this.noNewPrivs = true;
    });
  }
  setKeepCaps(on: boolean): void {
    this.run('setKeepCaps', [on], 'prctl', 'PR_SET_KEEPCAPS', () => {
      this.keepCaps = on;
    });
  }
  setPdeathsig(sig: number): void {
    this.run('setPdeathsig', [sig], 'prctl', 'PR_SET_PDEATHSIG', () => {
      this.pdeathsig = sig;
    });
  }
  personality(persona: number): number {
    return this.run('personality', [persona], 'personality', String(persona), () => {
      const old = this.personalityValue;
      if (persona >>> 0 !== 0xffffffff) this.personalityValue = persona;
      return old;
    });
  }
  setresuid(ruid: number, euid: number, suid: number): void {
    this.run('setresuid', [ruid, euid, suid], 'setresuid', `${ruid} ${euid} ${suid}`, () => {
      const wasRoot = this.uid === 0;
      this.uid = euid;
      // Leaving uid 0 clears permitted/effective unless keep-caps (effective always).
      if (wasRoot && euid !== 0) {
        this.caps = {
          ...this.caps,
          effective: 0n,
          permitted: this.keepCaps ? this.caps.permitted : 0n,
        };
        this.ambient.clear();
      }
    });
  }
  setresgid(rgid: number, egid: number, sgid: number): void {
    this.run('setresgid', [rgid, egid, sgid], 'setresgid', `${rgid} ${egid} ${sgid}`, () => {
      this.gid = egid;
    });
  }
  setgroups(gids: readonly number[]): void {
    this.run('setgroups', [gids], 'setgroups', gids.join(','), () => {
      this.groups = [...gids];
    });
  }
  prlimit(pid: number, resource: number, limit?: { soft: bigint | number; hard: bigint | number }): Rlimit {
    return this.run('prlimit', [pid, resource, limit], 'prlimit', String(resource), () => {
      const old = this.rlimits.get(resource) ?? { soft: RLIM_INFINITY, hard: RLIM_INFINITY };
      if (limit) this.rlimits.set(resource, { soft: BigInt(limit.soft), hard: BigInt(limit.hard) });
      return old;
    });
  }
  setrlimit(resource: number, soft: bigint | number, hard: bigint | number): void {
    this.run('setrlimit', [resource, soft, hard], 'prlimit', String(resource), () => {
      this.rlimits.set(resource, { soft: BigInt(soft), hard: BigInt(hard) });
    });
  }
  getrlimit(resource: number): Rlimit {
    return this.run(
      'getrlimit',
      [resource],
      'prlimit',
      String(resource),
      () => this.rlimits.get(resource) ?? { soft: RLIM_INFINITY, hard: RLIM_INFINITY },
    );
  }

  // --- capabilities (kernel rules checked loosely: enough to catch ordering mistakes)

  capget(): CapabilitySets {
    return this.run('capget', [], 'capget', undefined, () => ({ ...this.caps }));
  }
  capset(sets: CapabilitySets): void {
    this.run('capset', [sets], 'capset', undefined, () => {
      const boundingMask = [...this.bounding].reduce((m, c) => m | (1n << BigInt(c)), 0n);
      const eOk = (sets.effective & ~sets.permitted) === 0n;
      const pOk = (sets.permitted & ~this.caps.permitted) === 0n;
      const iOk = (sets.inheritable & ~(this.caps.inheritable | (this.caps.permitted & boundingMask))) === 0n;
      if (!eOk || !pOk || !iOk) throw SyscallError.of('capset', 'EPERM');
      this.caps = { ...sets };
      // Ambient caps not in both permitted and inheritable are dropped by the kernel.
      for (const c of [...this.ambient]) {
        const bit = 1n << BigInt(c);
        if ((sets.permitted & bit) === 0n || (sets.inheritable & bit) === 0n) this.ambient.delete(c);
      }
    });
  }
  capbsetRead(cap: number): boolean {
    return this.run('capbsetRead', [cap], 'prctl', `PR_CAPBSET_READ ${cap}`, () => this.bounding.has(cap));
  }
  capbsetDrop(cap: number): void {
    this.run('capbsetDrop', [cap], 'prctl', `PR_CAPBSET_DROP ${cap}`, () => {
      if ((this.caps.effective & (1n << 8n)) === 0n) throw SyscallError.of('prctl', 'EPERM', `PR_CAPBSET_DROP ${cap}`);
      this.bounding.delete(cap);
    });
  }
  capAmbientRaise(cap: number): void {
    this.run('capAmbientRaise', [cap], 'prctl', `PR_CAP_AMBIENT_RAISE ${cap}`, () => {
      const bit = 1n << BigInt(cap);
      if ((this.caps.permitted & bit) === 0n || (this.caps.inheritable & bit) === 0n) {
        throw SyscallError.of('prctl', 'EPERM', `PR_CAP_AMBIENT_RAISE ${cap}`);
      }
      this.ambient.add(cap);
    });
  }
  capAmbientIsSet(cap: number): boolean {
    return this.run('capAmbientIsSet', [cap], 'prctl', `PR_CAP_AMBIENT_IS_SET ${cap}`, () => this.ambient.has(cap));
  }
  capAmbientClearAll(): void {
    this.run('capAmbientClearAll', [], 'prctl', 'PR_CAP_AMBIENT_CLEAR_ALL', () => {
      this.ambient.clear();
    });
  }

  // --- scheduling

  ioprioSet(which: number, who: number, ioprio: number): void {
    this.run('ioprioSet', [which, who, ioprio], 'ioprio_set', String(who), () => undefined);
  }
  schedSetattr(pid: number, attr: SchedAttr): void {
    this.run('schedSetattr', [pid, attr], 'sched_setattr', String(pid), () => undefined);
  }

  // --- terminals

  setControllingTerminal(fd: number, steal?: boolean): void {
    this.run('setControllingTerminal', [fd, steal], 'ioctl', `fd ${fd}`, () => undefined);
  }
  setWinsize(fd: number, ws: Winsize): void {
    this.run('setWinsize', [fd, ws], 'ioctl', `fd ${fd}`, () => {
      this.winsizes.set(fd, { xpixel: 0, ypixel: 0, ...ws });
    });
  }
  getWinsize(fd: number): Winsize {
    return this.run('getWinsize', [fd], 'ioctl', `fd ${fd}`, () => {
      const ws = this.winsizes.get(fd);
      if (!ws) throw SyscallError.of('ioctl', 'ENOTTY', `fd ${fd}`);
      return { ...ws };
    });
  }
  unlockpt(fd: number): void {
    this.run('unlockpt', [fd], 'ioctl', `fd ${fd}`, () => undefined);
  }
  ptsNumber(fd: number): number {
    return this.run('ptsNumber', [fd], 'ioctl', `fd ${fd}`, () => 0);
  }
  openPtsPeer(fd: number, flags: number): number {
    return this.run('openPtsPeer', [fd, flags], 'ioctl', `fd ${fd}`, () => this.newFd());
  }
  getTermios(fd: number): Termios {
    return this.run('getTermios', [fd], 'ioctl', `fd ${fd}`, () => ({ iflag: 0, oflag: 0, cflag: 0, lflag: 0, line: 0, cc: new Array<number>(19).fill(0) }));
  }
  setTermios(fd: number, t: Termios): void {
    this.run('setTermios', [fd, t], 'ioctl', `fd ${fd}`, () => undefined);
  }

  // --- unix sockets

  socketpair(): [number, number] {
    return this.run('socketpair', [], 'socketpair', undefined, (): [number, number] => [this.newFd(), this.newFd()]);
  }
  unixConnect(path: string): number {
    return this.run('unixConnect', [path], 'connect', path, () => this.newFd());
  }
  sendFds(sock: number, data: Buffer, fds: readonly number[]): void {
    this.run('sendFds', [sock, data, fds], 'sendmsg', `fd ${sock}`, () => undefined);
  }
  unixListen(path: string, options?: { backlog?: number; nonBlocking?: boolean }): number {
    return this.run('unixListen', [path, options], 'bind', path, () => this.newFd());
  }
  accept(fd: number): number {
    return this.run('accept', [fd], 'accept4', `fd ${fd}`, () => this.newFd());
  }
  recvFds(sock: number, maxData?: number, maxFds?: number): ReceivedFds {
    return this.run('recvFds', [sock, maxData, maxFds], 'recvmsg', `fd ${sock}`, () => ({
      data: Buffer.alloc(0),
      fds: [],
    }));
  }

  // --- *at() calls, openat2, statx, mount_setattr
  // Defaults: openat2 hands out a new fd, statx says "directory, mode 0755, owned by root"
  // (statDefault), readlinkat fails EINVAL (not a symlink); stub them to model a tree.

  statDefault: FileStat = { mode: S_IFDIR | 0o755, uid: 0, gid: 0, ino: 2n, size: 0n, rdev: 0n, dev: 0n, mntId: 0n };

  openat2(dirfd: number, path: string, flags: number, resolve: number, mode?: number): number {
    return this.run('openat2', [dirfd, path, flags, resolve, mode], 'openat2', path, () => this.newFd());
  }
  mkdirat(dirfd: number, path: string, mode: number): void {
    this.run('mkdirat', [dirfd, path, mode], 'mkdirat', path, () => undefined);
  }
  mknodat(dirfd: number, path: string, mode: number, dev: number | bigint): void {
    this.run('mknodat', [dirfd, path, mode, dev], 'mknodat', path, () => undefined);
  }
  symlinkat(target: string, dirfd: number, linkpath: string): void {
    this.run('symlinkat', [target, dirfd, linkpath], 'symlinkat', linkpath, () => undefined);
  }
  unlinkat(dirfd: number, path: string, flags: number): void {
    this.run('unlinkat', [dirfd, path, flags], 'unlinkat', path, () => undefined);
  }
  readlinkat(dirfd: number, path: string): string {
    return this.run('readlinkat', [dirfd, path], 'readlinkat', path, (): string => {
      throw SyscallError.of('readlinkat', 'EINVAL', path);
    });
  }
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
    this.run('fchownat', [dirfd, path, uid, gid, flags], 'fchownat', path, () => undefined);
  }
  statx(dirfd: number, path: string, flags: number): FileStat {
    return this.run('statx', [dirfd, path, flags], 'statx', path, () => ({ ...this.statDefault }));
  }
  mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void {
    this.run('mountSetattr', [dirfd, path, flags, attr], 'mount_setattr', path, () => undefined);
  }
  // --- bpf: succeeds with a new fd (scripts decide otherwise); addresses are fake but distinct.
  private nextAddress = 0x10000n;
  bpf(cmd: number, attr: Buffer, what: string): number {
    return this.run('bpf', [cmd, attr, what], 'bpf', what, () => this.newFd());
  }
  bufferAddress(_buf: Buffer): bigint {
    this.nextAddress += 0x1000n;
    return this.nextAddress;
  }

  // --- sealed executables: a new fd each (scripts decide otherwise).
  fsopen(fsname: string, flags: number): number {
    return this.run('fsopen', [fsname, flags], 'fsopen', fsname, () => this.newFd());
  }
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null): void {
    this.run('fsconfig', [fd, cmd, key, value], 'fsconfig', key ?? `cmd ${cmd}`, () => undefined);
  }
  fsmount(fd: number, flags: number, attrs: number): number {
    return this.run('fsmount', [fd, flags, attrs], 'fsmount', `fd ${fd}`, () => this.newFd());
  }
  memfdCreate(name: string, flags: number): number {
    return this.run('memfdCreate', [name, flags], 'memfd_create', name, () => this.newFd());
  }
  addSeals(fd: number, seals: number): void {
    this.run('addSeals', [fd, seals], 'fcntl(F_ADD_SEALS)', `fd ${fd}`, () => undefined);
  }

  // --- keyrings

  joinSessionKeyring(name: string): number {
    return this.run('joinSessionKeyring', [name], 'keyctl(JOIN_SESSION_KEYRING)', name, () => 1000);
  }
  setKeyPermissions(key: number, perm: number): void {
    this.run('setKeyPermissions', [key, perm], 'keyctl(SETPERM)', `key ${key}`, () => undefined);
  }
}
