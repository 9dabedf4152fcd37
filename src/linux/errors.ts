// SyscallError: the single error type thrown by the libc layer (src/linux/syscalls.ts) and by
// its test double (src/linux/fake.ts).
//
// The errno table below is Linux's (asm-generic, valid for x86_64 and arm64) together with
// glibc's strerror() text; a unit test checks it against the real libc. Keeping it here means
// building an error message never needs koffi, so the fake and error paths stay koffi-free.

/** [name, glibc strerror text], indexed by errno number. Gaps (41, 58) are unused by Linux. */
const ERRNO_TABLE: ReadonlyArray<readonly [string, string] | undefined> = [
  undefined,
  ['EPERM', 'Operation not permitted'],
  ['ENOENT', 'No such file or directory'],
  ['ESRCH', 'No such process'],
  ['EINTR', 'Interrupted system call'],
  ['EIO', 'Input/output error'],
  ['ENXIO', 'No such device or address'],
  ['E2BIG', 'Argument list too long'],
  ['ENOEXEC', 'Exec format error'],
  ['EBADF', 'Bad file descriptor'],
  ['ECHILD', 'No child processes'], // 10
  ['EAGAIN', 'Resource temporarily unavailable'],
  ['ENOMEM', 'Cannot allocate memory'],
  ['EACCES', 'Permission denied'],
  ['EFAULT', 'Bad address'],
  ['ENOTBLK', 'Block device required'],
  ['EBUSY', 'Device or resource busy'],
  ['EEXIST', 'File exists'],
  ['EXDEV', 'Invalid cross-device link'],
  ['ENODEV', 'No such device'],
  ['ENOTDIR', 'Not a directory'], // 20
  ['EISDIR', 'Is a directory'],
  ['EINVAL', 'Invalid argument'],
  ['ENFILE', 'Too many open files in system'],
  ['EMFILE', 'Too many open files'],
  ['ENOTTY', 'Inappropriate ioctl for device'],
  ['ETXTBSY', 'Text file busy'],
  ['EFBIG', 'File too large'],
  ['ENOSPC', 'No space left on device'],
  ['ESPIPE', 'Illegal seek'],
  ['EROFS', 'Read-only file system'], // 30
  ['EMLINK', 'Too many links'],
  ['EPIPE', 'Broken pipe'],
  ['EDOM', 'Numerical argument out of domain'],
  ['ERANGE', 'Numerical result out of range'],
  ['EDEADLK', 'Resource deadlock avoided'],
  ['ENAMETOOLONG', 'File name too long'],
  ['ENOLCK', 'No locks available'],
  ['ENOSYS', 'Function not implemented'],
  ['ENOTEMPTY', 'Directory not empty'],
  ['ELOOP', 'Too many levels of symbolic links'], // 40
  undefined,
  ['ENOMSG', 'No message of desired type'],
  ['EIDRM', 'Identifier removed'],
  ['ECHRNG', 'Channel number out of range'],
  ['EL2NSYNC', 'Level 2 not synchronized'],
  ['EL3HLT', 'Level 3 halted'],
  ['EL3RST', 'Level 3 reset'],
  ['ELNRNG', 'Link number out of range'],
  ['EUNATCH', 'Protocol driver not attached'],
  ['ENOCSI', 'No CSI structure available'], // 50
  ['EL2HLT', 'Level 2 halted'],
  ['EBADE', 'Invalid exchange'],
  ['EBADR', 'Invalid request descriptor'],
  ['EXFULL', 'Exchange full'],
  ['ENOANO', 'No anode'],
  ['EBADRQC', 'Invalid request code'],
  ['EBADSLT', 'Invalid slot'],
  undefined,
  ['EBFONT', 'Bad font file format'],
  ['ENOSTR', 'Device not a stream'], // 60
  ['ENODATA', 'No data available'],
  ['ETIME', 'Timer expired'],
  ['ENOSR', 'Out of streams resources'],
  ['ENONET', 'Machine is not on the network'],
  ['ENOPKG', 'Package not installed'],
  ['EREMOTE', 'Object is remote'],
  ['ENOLINK', 'Link has been severed'],
  ['EADV', 'Advertise error'],
  ['ESRMNT', 'Srmount error'],
  ['ECOMM', 'Communication error on send'], // 70
  ['EPROTO', 'Protocol error'],
  ['EMULTIHOP', 'Multihop attempted'],
  ['EDOTDOT', 'RFS specific error'],
  ['EBADMSG', 'Bad message'],
  ['EOVERFLOW', 'Value too large for defined data type'],
  ['ENOTUNIQ', 'Name not unique on network'],
  ['EBADFD', 'File descriptor in bad state'],
  ['EREMCHG', 'Remote address changed'],
  ['ELIBACC', 'Can not access a needed shared library'],
  ['ELIBBAD', 'Accessing a corrupted shared library'], // 80
  ['ELIBSCN', '.lib section in a.out corrupted'],
  ['ELIBMAX', 'Attempting to link in too many shared libraries'],
  ['ELIBEXEC', 'Cannot exec a shared library directly'],
  ['EILSEQ', 'Invalid or incomplete multibyte or wide character'],
  ['ERESTART', 'Interrupted system call should be restarted'],
  ['ESTRPIPE', 'Streams pipe error'],
  ['EUSERS', 'Too many users'],
  ['ENOTSOCK', 'Socket operation on non-socket'],
  ['EDESTADDRREQ', 'Destination address required'],
  ['EMSGSIZE', 'Message too long'], // 90
  ['EPROTOTYPE', 'Protocol wrong type for socket'],
  ['ENOPROTOOPT', 'Protocol not available'],
  ['EPROTONOSUPPORT', 'Protocol not supported'],
  ['ESOCKTNOSUPPORT', 'Socket type not supported'],
  ['EOPNOTSUPP', 'Operation not supported'],
  ['EPFNOSUPPORT', 'Protocol family not supported'],
  ['EAFNOSUPPORT', 'Address family not supported by protocol'],
  ['EADDRINUSE', 'Address already in use'],
  ['EADDRNOTAVAIL', 'Cannot assign requested address'],
  ['ENETDOWN', 'Network is down'], // 100
  ['ENETUNREACH', 'Network is unreachable'],
  ['ENETRESET', 'Network dropped connection on reset'],
  ['ECONNABORTED', 'Software caused connection abort'],
  ['ECONNRESET', 'Connection reset by peer'],
  ['ENOBUFS', 'No buffer space available'],
  ['EISCONN', 'Transport endpoint is already connected'],
  ['ENOTCONN', 'Transport endpoint is not connected'],
  ['ESHUTDOWN', 'Cannot send after transport endpoint shutdown'],
  ['ETOOMANYREFS', 'Too many references: cannot splice'],
  ['ETIMEDOUT', 'Connection timed out'], // 110
  ['ECONNREFUSED', 'Connection refused'],
  ['EHOSTDOWN', 'Host is down'],
  ['EHOSTUNREACH', 'No route to host'],
  ['EALREADY', 'Operation already in progress'],
  ['EINPROGRESS', 'Operation now in progress'],
  ['ESTALE', 'Stale file handle'],
  ['EUCLEAN', 'Structure needs cleaning'],
  ['ENOTNAM', 'Not a XENIX named type file'],
  ['ENAVAIL', 'No XENIX semaphores available'],
  ['EISNAM', 'Is a named type file'], // 120
  ['EREMOTEIO', 'Remote I/O error'],
  ['EDQUOT', 'Disk quota exceeded'],
  ['ENOMEDIUM', 'No medium found'],
  ['EMEDIUMTYPE', 'Wrong medium type'],
  ['ECANCELED', 'Operation canceled'],
  ['ENOKEY', 'Required key not available'],
  ['EKEYEXPIRED', 'Key has expired'],
  ['EKEYREVOKED', 'Key has been revoked'],
  ['EKEYREJECTED', 'Key was rejected by service'],
  ['EOWNERDEAD', 'Owner died'], // 130
  ['ENOTRECOVERABLE', 'State not recoverable'],
  ['ERFKILL', 'Operation not possible due to RF-kill'],
  ['EHWPOISON', 'Memory page has hardware error'],
];

/** Alternative names Linux defines for the same number. */
const ERRNO_ALIASES: Readonly<Record<string, number>> = {
  EWOULDBLOCK: 11,
  EDEADLOCK: 35,
  ENOTSUP: 95,
};

const BY_NAME: Map<string, number> = (() => {
  const m = new Map<string, number>();
  ERRNO_TABLE.forEach((e, n) => {
    if (e) m.set(e[0], n);
  });
  for (const [k, v] of Object.entries(ERRNO_ALIASES)) m.set(k, v);
  return m;
})();

/** Symbolic name of an errno number ('ENOENT'); 'EUNKNOWN' when not a Linux errno. */
export function errnoName(errno: number): string {
  return ERRNO_TABLE[errno]?.[0] ?? 'EUNKNOWN';
}

/** Number of an errno name ('ENOENT' → 2, aliases such as 'EWOULDBLOCK' accepted). */
export function errnoNumber(name: string): number | undefined {
  return BY_NAME.get(name);
}

/** glibc's strerror() text for an errno number. */
export function strerror(errno: number): string {
  return ERRNO_TABLE[errno]?.[1] ?? `Unknown error ${errno}`;
}

/** Every errno known to the table, as [number, name, message] (used by tests). */
export function errnoEntries(): Array<[number, string, string]> {
  const out: Array<[number, string, string]> = [];
  ERRNO_TABLE.forEach((e, n) => {
    if (e) out.push([n, e[0], e[1]]);
  });
  return out;
}

/**
 * A failed system call. `code` is the errno name, as in Node's own fs errors, so callers can
 * handle both kinds of error with `err.code === 'ENOENT'`. Note: `errno` is positive here
 * (Node's fs errors carry it negated).
 */
export class SyscallError extends Error {
  /** The libc function or system call that failed, e.g. 'mount'. */
  readonly call: string;
  /** Positive errno value. */
  readonly errno: number;
  /** Errno name, e.g. 'ENOENT'. */
  readonly code: string;
  /** The path or argument the call was about (for mount: the target), if any. */
  readonly subject: string | undefined;

  /**
   * @param detail text placed in the message in place of `subject`, for calls whose
   *   description needs more than one argument (mount: "SRC on TARGET (FSTYPE)").
   */
  constructor(call: string, errno: number, subject?: string, detail?: string) {
    const code = errnoName(errno);
    const about = detail ?? subject;
    super(`${call}${about !== undefined && about !== '' ? ' ' + about : ''}: ${code}: ${strerror(errno)}`);
    this.name = 'SyscallError';
    this.call = call;
    this.errno = errno;
    this.code = code;
    this.subject = subject;
  }

  /** Build an error from an errno name or number (used by the fake and by callers' tests). */
  static of(call: string, errno: number | string, subject?: string, detail?: string): SyscallError {
    const n = typeof errno === 'number' ? errno : errnoNumber(errno);
    if (n === undefined) throw new TypeError(`unknown errno name ${errno}`);
    return new SyscallError(call, n, subject, detail);
  }
}

let errnoReader: (() => number) | undefined;

/** Installed by src/linux/libc.ts once koffi is loaded (keeps this module koffi-free). */
export function setErrnoReader(reader: () => number): void {
  errnoReader = reader;
}

/**
 * Build a SyscallError from the calling thread's current errno. Call it immediately after the
 * failing libc call, before anything else can run a system call that may change errno.
 */
export function errnoError(call: string, subject?: string, detail?: string): SyscallError {
  const n = errnoReader ? errnoReader() : 0;
  return new SyscallError(call, n, subject, detail);
}

/** True when `err` is a SyscallError (or a Node system error) with the given errno name(s). */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (codes.includes(code)) return true;
  // Accept aliases: isErrno(e, 'EWOULDBLOCK') matches code 'EAGAIN'.
  const n = errnoNumber(code);
  return n !== undefined && codes.some((c) => errnoNumber(c) === n);
}
