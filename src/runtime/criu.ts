// Talking to CRIU for `checkpoint` and `restore`.
//
// tsrun drives `criu swrk` over CRIU's RPC protocol (as runc does) rather than the `criu dump`
// / `criu restore` command line, because the RPC lets the runtime act at the points where it
// has work to do while criu waits for its answer:
// - before the restore request is sent, criu itself is moved into the container's new cgroup
//   (the restored tasks are created there; the CLI would run them in tsrun's cgroup);
// - "setup-namespaces": the restored init exists in its namespaces and the prestart and
//   createRuntime hooks run with its pid, before any of its code runs again;
// - "post-restore": the container is recorded (state.json, --pid-file) before it resumes;
// - "orphan-pts-master": the new pty master of a terminal container arrives as an fd, to be
//   passed on to --console-socket;
// - rst_sibling (RPC only) makes the restored init a child of tsrun itself, so a foreground
//   restore can wait for it and exit with its status, as `run` does.
// The CLI offers only --action-script hooks in a separate process, and no fd hand-over.
// The few messages needed are encoded by criu-proto.ts (no protobuf dependency).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CommandError } from '../cli/context';
import { linux } from '../linux/syscalls';
import { decodeResponse, encodeRequest, ReqType, CgMode, type CriuReq, type CriuResp } from './criu-proto';

export const DESCRIPTORS_FILE = 'descriptors.json';

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ReqType).map(([k, v]) => [v, k]));

/** criu, found in PATH as runc does (Debian installs it as /usr/sbin/criu). */
export function findCriu(): string {
  const path = process.env.PATH ?? '';
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'criu');
    if (existsSync(candidate)) return candidate;
  }
  throw new CommandError(`criu not found in PATH (${path}): checkpoint and restore need CRIU (Debian package "criu", /usr/sbin/criu)`);
}

/** A request criu answered with success=false, with the relevant lines of its log. */
export class CriuError extends CommandError {}

/** --manage-cgroups-mode → criu_cg_mode; empty: criu's default (soft). */
export function cgroupMode(text: string | undefined): number {
  switch (text ?? '') {
    case '':
      return CgMode.DEFAULT;
    case 'soft':
      return CgMode.SOFT;
    case 'full':
      return CgMode.FULL;
    case 'strict':
      return CgMode.STRICT;
    case 'ignore':
      return CgMode.IGNORE;
    default:
      throw new CommandError(`invalid --manage-cgroups-mode value ${JSON.stringify(text)}: one of soft, full, strict, ignore`);
  }
}

export interface SwrkOptions {
  /** fds of this process passed to criu as its fds 4, 5, ... (external namespaces). */
  extraFds?: number[];
  /** Called with criu's pid before the request is sent (restore: join the container's cgroup). */
  beforeRequest?: (criuPid: number) => void;
  /** A notification (criu waits for the answer); fds are those sent with it, closed afterwards. */
  onNotify?: (script: string, pid: number | undefined, fds: number[]) => Promise<void> | void;
  /** Where criu writes its log, for the error message. */
  log: string;
}

/**
 * Runs one request through a fresh `criu swrk`: sends it, answers the notifications, returns
 * the final response once criu has exited. A failure quotes the errors of criu's log.
 */
export async function criuSwrk(req: CriuReq, options: SwrkOptions): Promise<CriuResp> {
  const criu = findCriu();
  const sys = linux();
  const [client, server] = sys.socketpair('seqpacket');
  const child = spawn(criu, ['swrk', '3'], { stdio: ['inherit', 'inherit', 'inherit', server, ...(options.extraFds ?? [])] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  // Only criu holds the server end now: if it dies, our recv sees EOF instead of blocking.
  closeSync(server);
  const what = TYPE_NAMES[req.type] ?? String(req.type);
  let final: CriuResp | undefined;
  let failure: Error | undefined;
  try {
    if (child.pid === undefined) throw new CommandError(`starting ${criu} swrk failed`);
    options.beforeRequest?.(child.pid);
    sys.sendFds(client, encodeRequest(req), []);
    for (;;) {
      const { data, fds } = sys.recvFds(client, 64 * 1024, 8);
      if (data.length === 0) throw new CriuError(withLog(`criu ${what} failed: criu exited without an answer`, options.log));
      const resp = decodeResponse(data);
      if (!resp.success) {
        for (const fd of fds) closeSync(fd);
        const detail = [resp.crErrno ? `errno ${resp.crErrno}` : '', resp.crErrmsg ?? ''].filter((s) => s !== '').join(': ');
        throw new CriuError(withLog(`criu ${TYPE_NAMES[resp.type] ?? resp.type} failed${detail ? ` (${detail})` : ''}`, options.log));
      }
      if (resp.type !== ReqType.NOTIFY) {
        final = resp;
        break;
      }
      try {
        await options.onNotify?.(resp.notify?.script ?? '', resp.notify?.pid, fds);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      sys.sendFds(client, encodeRequest({ type: ReqType.NOTIFY, notifySuccess: true }), []);
    }
  } catch (err) {
    failure = err as Error;
  } finally {
    // criu ends when its socket closes (a pre-dump criu would otherwise wait for more requests).
    closeSync(client);
  }
  const status = await exited;
  if (failure) throw failure;
  if (status.error) throw new CommandError(`running ${criu}: ${status.error.message}`);
  if (status.code !== 0 && req.type !== ReqType.PRE_DUMP) {
    const how = status.signal ? `signal ${status.signal}` : `exit status ${status.code}`;
    throw new CriuError(withLog(`criu ${what} failed: criu ended with ${how}`, options.log));
  }
  return final as CriuResp;
}

/** The message, then the error lines of criu's log (each with up to 5 lines before it), as runc. */
export function withLog(message: string, log: string): string {
  const quoted = quoteLogErrors(log);
  if (quoted === null) return `${message}; criu's log ${log} could not be read`;
  if (quoted.length === 0) return `${message}; see criu's log ${log}`;
  return `${message}; from criu's log ${log}:\n${quoted.join('\n')}`;
}

/** Lines of the log around each line with "Error", numbered; null when the log cannot be read. */
export function quoteLogErrors(log: string, context = 5, maxLines = 40): string[] | null {
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const keep = new Set<number>();
  lines.forEach((line, i) => {
    if (!line.includes('Error')) return;
    for (let j = Math.max(0, i - context); j <= i; j++) keep.add(j);
  });
  const out: string[] = [];
  let previous = -1;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (previous >= 0 && i > previous + 1) out.push('...');
    out.push(`${i + 1}: ${lines[i]}`);
    previous = i;
  }
  return out.length > maxLines ? ['...', ...out.slice(-maxLines)] : out;
}
