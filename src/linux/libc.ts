// Lazy binding to glibc through koffi. Nothing here runs at import time: `require('koffi')`
// costs about 10 ms and loads a native addon, so it happens on the first call of `libc()`,
// exactly once per process. Only src/linux/syscalls.ts should use this module; everything
// else goes through the typed `Syscalls` interface.
//
// Notes on the declarations (x86_64 and arm64 LP64 Linux):
// - Variadic libc functions whose variadic part is a single integer or pointer (open, openat,
//   prctl, fcntl with an int) are declared with fixed parameters: on these ABIs a variadic
//   callee reads integer arguments from the same registers, and fixed calls are faster in koffi.
//   `syscall` and `ioctl` stay variadic (typed arguments: 'int', value, 'void *', buffer, ...).
// - `str` parameters accept a JS string or null (NULL pointer).
// - `void *` parameters accept a Buffer/TypedArray, passed by reference (the C side writes
//   into it in place), or null.
// - 64-bit results come back as a JS number when they fit in 2^53, as a BigInt otherwise.
import type * as Koffi from 'koffi';
import { setErrnoReader } from './errors';
import { loadKoffi } from './koffi';

type Fn = Koffi.KoffiFunction;
type KoffiModule = typeof Koffi;

/** The raw libc functions. Each returns what C returns (-1 on error, errno left set). */
export interface RawLibc {
  readonly koffi: KoffiModule;
  readonly errno: () => number;

  getpid: Fn;
  getppid: Fn;
  gettid: Fn;
  getuid: Fn;
  geteuid: Fn;
  getgid: Fn;
  getegid: Fn;
  setsid: Fn;
  umask: Fn;

  open: Fn;
  openat: Fn;
  close: Fn;
  dup2: Fn;
  dup3: Fn;
  fcntlInt: Fn;
  flock: Fn;
  mknod: Fn;
  mkfifo: Fn;
  chown: Fn;
  lchown: Fn;
  fchown: Fn;
  chmod: Fn;
  fchmod: Fn;
  symlink: Fn;
  statvfs: Fn;

  mount: Fn;
  umount2: Fn;
  chdir: Fn;
  fchdir: Fn;
  chroot: Fn;
  unshare: Fn;
  setns: Fn;
  sethostname: Fn;
  setdomainname: Fn;

  kill: Fn;
  waitpid: Fn;
  execve: Fn;
  prctl: Fn;
  personality: Fn;
  prlimit: Fn;
  capget: Fn;
  capset: Fn;
  sigaction: Fn;
  sigprocmask: Fn;

  ioctl: Fn;
  syscall: Fn;

  socket: Fn;
  socketpair: Fn;
  connect: Fn;
  bind: Fn;
  listen: Fn;
  accept4: Fn;
  sendmsg: Fn;
  recvmsg: Fn;

  strerror: Fn;

  poll: Fn;
  sigfillset: Fn;
  sigemptyset: Fn;
  posix_spawn: Fn;
  posix_spawn_file_actions_init: Fn;
  posix_spawn_file_actions_adddup2: Fn;
  posix_spawn_file_actions_destroy: Fn;
  posix_spawnattr_init: Fn;
  posix_spawnattr_setflags: Fn;
  posix_spawnattr_setsigdefault: Fn;
  posix_spawnattr_setsigmask: Fn;
  posix_spawnattr_destroy: Fn;

  /** struct types */
  readonly types: {
    rlimit: Koffi.IKoffiCType;
    msghdr: Koffi.IKoffiCType;
  };

  // *at() calls and statx (rootfs setup: everything relative to a resolved directory fd)
  mkdirat: Fn;
  mknodat: Fn;
  symlinkat: Fn;
  unlinkat: Fn;
  readlinkat: Fn;
  fchownat: Fn;
  statx: Fn;
}

let cached: RawLibc | undefined;
let loadMillis = 0;

/** How long the first `libc()` call took (require koffi + load libc + declarations), in ms. */
export function libcLoadMillis(): number {
  return loadMillis;
}

/** True once koffi has been loaded in this process (for tests that check laziness). */
export function libcLoaded(): boolean {
  return cached !== undefined;
}

/** The process-wide libc binding, created on first use. */
export function libc(): RawLibc {
  if (cached) return cached;
  const t0 = process.hrtime.bigint();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  const f = (decl: string): Fn => lib.func(decl);

  const rlimit = koffi.struct('tsrun_rlimit64', { cur: 'uint64_t', max: 'uint64_t' });
  koffi.struct('tsrun_iovec', { base: 'void *', len: 'size_t' }); // used by name below
  const msghdr = koffi.struct('tsrun_msghdr', {
    name: 'void *',
    namelen: 'uint32_t',
    iov: 'tsrun_iovec *',
    iovlen: 'size_t',
    control: 'void *',
    controllen: 'size_t',
    flags: 'int',
  });

  const raw: RawLibc = {
    koffi,
    errno: () => koffi.errno(),

    getpid: f('int getpid(void)'),
    getppid: f('int getppid(void)'),
    gettid: f('int gettid(void)'),
    getuid: f('uint32_t getuid(void)'),
    geteuid: f('uint32_t geteuid(void)'),
    getgid: f('uint32_t getgid(void)'),
    getegid: f('uint32_t getegid(void)'),
    setsid: f('int setsid(void)'),
    umask: f('uint32_t umask(uint32_t mask)'),

    open: f('int open(str path, int flags, uint32_t mode)'),
    openat: f('int openat(int dirfd, str path, int flags, uint32_t mode)'),
    close: f('int close(int fd)'),
    dup2: f('int dup2(int oldfd, int newfd)'),
    dup3: f('int dup3(int oldfd, int newfd, int flags)'),
    fcntlInt: f('int fcntl(int fd, int cmd, int arg)'),
    flock: f('int flock(int fd, int op)'),
    mknod: f('int mknod(str path, uint32_t mode, uint64_t dev)'),
    mkfifo: f('int mkfifo(str path, uint32_t mode)'),
    chown: f('int chown(str path, uint32_t uid, uint32_t gid)'),
    lchown: f('int lchown(str path, uint32_t uid, uint32_t gid)'),
    fchown: f('int fchown(int fd, uint32_t uid, uint32_t gid)'),
    chmod: f('int chmod(str path, uint32_t mode)'),
    fchmod: f('int fchmod(int fd, uint32_t mode)'),
    symlink: f('int symlink(str target, str linkpath)'),
    statvfs: f('int statvfs(str path, void *buf)'),

    mount: f('int mount(str source, str target, str fstype, unsigned long flags, str data)'),
    umount2: f('int umount2(str target, int flags)'),
    chdir: f('int chdir(str path)'),
    fchdir: f('int fchdir(int fd)'),
    chroot: f('int chroot(str path)'),
    unshare: f('int unshare(int flags)'),
    setns: f('int setns(int fd, int nstype)'),
    sethostname: f('int sethostname(str name, size_t len)'),
    setdomainname: f('int setdomainname(str name, size_t len)'),

    kill: f('int kill(int pid, int sig)'),
    waitpid: f('int waitpid(int pid, _Out_ int *status, int options)'),
    execve: f('int execve(str path, const char **argv, const char **envp)'),
    prctl: f('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
    personality: f('int personality(unsigned long persona)'),
    prlimit: f('int prlimit64(int pid, int resource, const tsrun_rlimit64 *nw, _Out_ tsrun_rlimit64 *old)'),
    capget: f('int capget(void *hdr, void *data)'),
    capset: f('int capset(void *hdr, void *data)'),
    sigaction: f('int sigaction(int sig, void *act, void *oldact)'),
    sigprocmask: f('int sigprocmask(int how, void *set, void *oldset)'),

    ioctl: f('int ioctl(int fd, unsigned long request, ...)'),
    syscall: f('long syscall(long number, ...)'),

    socket: f('int socket(int domain, int type, int protocol)'),
    socketpair: f('int socketpair(int domain, int type, int protocol, _Out_ int *sv)'),
    connect: f('int connect(int fd, void *addr, uint32_t len)'),
    bind: f('int bind(int fd, void *addr, uint32_t len)'),
    listen: f('int listen(int fd, int backlog)'),
    accept4: f('int accept4(int fd, void *addr, void *addrlen, int flags)'),
    sendmsg: f('long sendmsg(int fd, const tsrun_msghdr *msg, int flags)'),
    recvmsg: f('long recvmsg(int fd, const tsrun_msghdr *msg, int flags)'),

    strerror: f('const char *strerror(int errnum)'),

    poll: f('int poll(void *fds, unsigned long nfds, int timeout)'),
    sigfillset: f('int sigfillset(void *set)'),
    sigemptyset: f('int sigemptyset(void *set)'),
    // posix_spawn returns an error number (0 on success); errno is not used.
    posix_spawn: f('int posix_spawn(_Out_ int *pid, str path, void *actions, void *attr, const char **argv, const char **envp)'),
    posix_spawn_file_actions_init: f('int posix_spawn_file_actions_init(void *actions)'),
    posix_spawn_file_actions_adddup2: f('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
    posix_spawn_file_actions_destroy: f('int posix_spawn_file_actions_destroy(void *actions)'),
    posix_spawnattr_init: f('int posix_spawnattr_init(void *attr)'),
    posix_spawnattr_setflags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
    posix_spawnattr_setsigdefault: f('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
    posix_spawnattr_setsigmask: f('int posix_spawnattr_setsigmask(void *attr, void *set)'),
    posix_spawnattr_destroy: f('int posix_spawnattr_destroy(void *attr)'),

    types: { rlimit, msghdr },

    mkdirat: f('int mkdirat(int dirfd, str path, uint32_t mode)'),
    mknodat: f('int mknodat(int dirfd, str path, uint32_t mode, uint64_t dev)'),
    symlinkat: f('int symlinkat(str target, int dirfd, str linkpath)'),
    unlinkat: f('int unlinkat(int dirfd, str path, int flags)'),
    readlinkat: f('long readlinkat(int dirfd, str path, void *buf, size_t size)'),
    fchownat: f('int fchownat(int dirfd, str path, uint32_t uid, uint32_t gid, int flags)'),
    statx: f('int statx(int dirfd, str path, int flags, uint32_t mask, void *buf)'),
  };
  cached = raw;
  setErrnoReader(raw.errno);
  loadMillis = Number(process.hrtime.bigint() - t0) / 1e6;
  return raw;
}
