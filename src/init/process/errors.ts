// Error wording for the user-process setup.
//
// Two styles, on purpose:
// - steps of execUserProcess fail as "STEP: CODE: strerror text" (e.g. "setting rlimit
//   RLIMIT_NOFILE: EPERM: Operation not permitted"), naming what was being done;
// - the messages clients match on keep runc's (Go's) exact wording: errno text in lower case
//   ("no such file or directory") and Go's %q quoting. podman/docker map
//   `exec: "x": executable file not found in $PATH`, "permission denied" and
//   "no such file or directory" to exit codes 127/126.
import { SyscallError, errnoNumber, strerror } from '../../linux/errors';

/** The errno name of a SyscallError or a Node system error ('ENOENT'), else undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (err instanceof SyscallError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** "CODE: Text" for an errno error, else the error's message. */
export function describeError(err: unknown): string {
  const code = errnoCode(err);
  const n = code === undefined ? undefined : errnoNumber(code);
  if (code !== undefined && n !== undefined) return `${code}: ${strerror(n)}`;
  return err instanceof Error ? err.message : String(err);
}

/** An Error "STEP: CODE: Text" (or "STEP: message"), with the original as `cause`. */
export function stepError(step: string, err: unknown, hint?: string): Error {
  return new Error(`${step}: ${describeError(err)}${hint ? ` (${hint})` : ''}`, { cause: err });
}

/** Runs `fn`; any failure is rethrown as stepError(step, ...). */
export function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw stepError(name, err);
  }
}

/** Go's text for an errno (syscall.Errno.Error()): glibc's strerror, first letter lowered. */
export function goErrnoText(err: unknown): string {
  const code = errnoCode(err);
  const n = code === undefined ? undefined : errnoNumber(code);
  if (n === undefined) return err instanceof Error ? err.message : String(err);
  const text = strerror(n);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Go's strconv.Quote for the strings that occur here (paths, names). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}
