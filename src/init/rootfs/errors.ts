// The error type of the rootfs setup: a message that names the mount (source, in-container
// destination, type) or the path being worked on, plus the errno of the failed call when
// there was one, so callers can still test `err.code === 'EPERM'` (isErrno).
import { SyscallError, strerror } from '../../linux/errors';

export class RootfsError extends Error {
  /** Errno name of the underlying failure ('EPERM'), if it was a failed call. */
  readonly code: string | undefined;
  readonly errno: number | undefined;

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RootfsError';
    const c = cause as { code?: unknown; errno?: unknown } | undefined;
    this.code = typeof c?.code === 'string' ? c.code : undefined;
    this.errno = cause instanceof SyscallError ? cause.errno : typeof c?.errno === 'number' ? Math.abs(c.errno) : undefined;
  }
}

/**
 * Wraps `err` in a RootfsError whose message starts with `what` (e.g. "mount proc on /proc
 * (proc)"). `step` names a secondary operation ("remount read-only"). A failed call that is
 * the operation itself (step undefined and call 'mount') is reduced to "EPERM: Operation not
 * permitted"; other failed calls keep their own description ("mkdirat /dev: EROFS: ..."), which
 * the rootfs code makes name in-container paths. A RootfsError that already starts with
 * `what` passes through unchanged.
 */
export function wrapError(what: string, err: unknown, step?: string): RootfsError {
  if (err instanceof RootfsError && err.message.startsWith(what + ':')) return err;
  let reason: string;
  if (err instanceof RootfsError) {
    reason = err.message;
  } else if (err instanceof SyscallError) {
    reason = step !== undefined || err.call === 'mount' ? `${err.code}: ${strerror(err.errno)}` : err.message;
  } else if (err instanceof Error) {
    reason = err.message;
  } else {
    reason = String(err);
  }
  return new RootfsError(`${what}: ${step !== undefined ? step + ': ' : ''}${reason}`, err);
}

/** Runs `fn`; a failure becomes wrapError(what, err, step). */
export function attempt<T>(what: string, step: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw wrapError(what, err, step);
  }
}
