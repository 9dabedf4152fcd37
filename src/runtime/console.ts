// The runtime's side of process.terminal (runc's utils_linux.go checkTerminal/setupIO and
// tty.go). The pty itself is allocated by the init inside the container (src/init/terminal.ts),
// which sends the master over a unix socket given to it as an extra fd:
//
// - with --console-socket PATH, the runtime connects to PATH (the caller's listening socket:
//   the shim, conmon) before it starts the init, and the init sends the master there itself,
//   before `create`/`exec` reports success; the runtime never touches the master;
// - in the foreground (`run`, `exec` without --detach) with no console socket, the runtime
//   makes a socketpair, receives the master and proxies it to its own stdio until the process
//   exits (TerminalProxy: raw mode on a terminal stdin, SIGWINCH -> TIOCSWINSZ).
import { closeSync, openSync, writeSync } from 'node:fs';
import type { ReadStream } from 'node:tty';
import { CommandError } from '../cli/context';
import { linux, type Syscalls } from '../linux/syscalls';
import { ONLCR, O_CLOEXEC, O_RDWR } from '../linux/constants';

/** The fds of a console hand-over: `child` goes to the init; `receive` is ours (foreground). */
export interface ConsoleEndpoints {
  child: number;
  receive?: number;
}

/**
 * Checks the terminal settings as runc does and opens the socket the init will send the
 * master over; undefined when the process has no terminal. `detach` is true for `create`,
 * `run -d` and `exec -d`.
 */
export function openConsole(sys: Syscalls, terminal: boolean, socketPath: string | undefined, detach: boolean): ConsoleEndpoints | undefined {
  if (detach && terminal && socketPath === undefined) {
    throw new CommandError('cannot allocate tty if tsrun will detach without setting console socket');
  }
  if ((!detach || !terminal) && socketPath !== undefined) {
    throw new CommandError('cannot use console socket if tsrun will not detach or allocate tty');
  }
  if (!terminal) return undefined;
  if (socketPath !== undefined) {
    try {
      return { child: sys.unixConnect(socketPath) };
    } catch (err) {
      throw new CommandError(`console socket ${socketPath}: ${(err as Error).message}`);
    }
  }
  const [receive, child] = sys.socketpair();
  return { child, receive };
}

/** Closes the endpoints still open (the child's end once the init has it, or after a failure). */
export function closeConsole(endpoints: ConsoleEndpoints | undefined, which: 'child' | 'all'): void {
  if (!endpoints) return;
  const fds = which === 'child' ? [endpoints.child] : [endpoints.child, endpoints.receive];
  for (const fd of fds) {
    if (fd === undefined || fd < 0) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  endpoints.child = -1;
  if (which === 'all') endpoints.receive = undefined;
}

/** The master the init sent over our socketpair (it is sent before "created"/"ready"). */
export function receiveMaster(sys: Syscalls, endpoints: ConsoleEndpoints): number {
  const fd = endpoints.receive;
  if (fd === undefined) throw new Error('no console socket to receive the pty master from');
  const got = sys.recvFds(fd, 4096, 4);
  closeSync(fd);
  endpoints.receive = undefined;
  const [master, ...extra] = got.fds;
  for (const e of extra) closeSync(e);
  if (master === undefined) throw new Error('the container did not send its pty master');
  return master;
}

/** Window-size changes, raw mode and copying between our stdio and a pty master. */
export class TerminalProxy {
  private readonly reader: ReadStream;
  private readonly pending: Buffer[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly hostTty: number | undefined;
  private readonly rawStdin: boolean;
  private closed = false;
  private ended = false;
  /** Our terminal hung up (stdout EIO, EOF on a terminal stdin): stop using our stdio. */
  private hostGone = false;
  private endWaiters: Array<() => void> = [];
  private lastData = Date.now();
  private readonly onInput = (chunk: Buffer | string) => this.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  private readonly onWinch = () => this.resize();

  constructor(private readonly master: number, private readonly sys: Syscalls = linux()) {
    // As runc: no NL -> CR-NL in the container's terminal; our own terminal (raw, but with
    // output processing kept) does that once.
    try {
      const t = sys.getTermios(master);
      sys.setTermios(master, { ...t, oflag: t.oflag & ~ONLCR });
    } catch {
      // not fatal
    }
    // node:tty (and node:net under it) only when there is a terminal to proxy.
    const tty = require('node:tty') as typeof import('node:tty');
    this.hostTty = [2, 1, 0].find((fd) => tty.isatty(fd));
    this.resize();
    process.on('SIGWINCH', this.onWinch);

    this.reader = new tty.ReadStream(master);
    this.reader.on('data', (chunk: Buffer) => {
      this.lastData = Date.now();
      if (!this.hostGone) process.stdout.write(chunk);
    });
    process.stdout.on('error', this.onHostGone);
    const end = () => {
      this.ended = true;
      for (const w of this.endWaiters.splice(0)) w();
    };
    this.reader.on('error', end); // EIO: every slave fd is closed
    this.reader.on('end', end);
    this.reader.on('close', end);

    this.rawStdin = process.stdin.isTTY === true;
    if (this.rawStdin) process.stdin.setRawMode(true);
    process.stdin.on('data', this.onInput);
    process.stdin.on('error', this.onStdinDone);
    process.stdin.on('end', this.onStdinDone);
  }

  private readonly onStdinDone = () => {
    process.stdin.off('data', this.onInput);
    // In raw mode a terminal gives EOF only when it hangs up (^D is a byte for the container).
    if (this.rawStdin) this.onHostGone();
  };

  /**
   * Our terminal is gone: nothing more is written to it and, at close, fds 0-2 become
   * /dev/null (Node restores the settings of a terminal stdio at exit and aborts when that
   * fails with EIO; it leaves an fd that now refers to another file alone). The container
   * goes on: SIGHUP, if we get it, is forwarded as any other signal (runc does the same).
   */
  private readonly onHostGone = () => {
    this.hostGone = true;
    process.stdin.off('data', this.onInput);
  };

  /** Our terminal's size onto the container's (initially and at every SIGWINCH). */
  resize(): void {
    if (this.hostTty === undefined || this.closed) return;
    try {
      const ws = this.sys.getWinsize(this.hostTty);
      if (ws.rows > 0 && ws.cols > 0) this.sys.setWinsize(this.master, ws);
    } catch {
      // our terminal went away
    }
  }

  /** Input for the container; queued while the pty's input buffer is full (EAGAIN). */
  private write(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.pending.push(chunk);
    this.flush();
  }

  private flush(): void {
    this.flushTimer = undefined;
    while (this.pending.length > 0 && !this.closed) {
      const chunk = this.pending[0] as Buffer;
      let n: number;
      try {
        n = writeSync(this.master, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.flushTimer = setTimeout(() => this.flush(), 10);
          return;
        }
        this.pending.length = 0; // EIO: the container side is gone
        return;
      }
      if (n < chunk.length) this.pending[0] = chunk.subarray(n);
      else this.pending.shift();
    }
  }

  /**
   * After the process exited: the output still buffered is copied (until the pty reports that
   * every slave is closed, or the output has been idle a moment: an exec'd shell's background
   * job may keep its terminal open), then our terminal is restored and the master closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const started = Date.now();
    const idle = () => Date.now() - Math.max(this.lastData, started);
    while (!this.ended && Date.now() - started < 5000 && idle() < 250) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.endWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    process.off('SIGWINCH', this.onWinch);
    process.stdin.off('data', this.onInput);
    process.stdin.off('end', this.onStdinDone);
    if (this.rawStdin && !this.hostGone) {
      try {
        process.stdin.setRawMode(false);
      } catch {
        this.hostGone = true; // EIO: hung up meanwhile
      }
    }
    process.stdin.pause();
    this.reader.destroy();
    if (this.hostGone) this.detachStdio();
  }

  private detachStdio(): void {
    try {
      const fd = openSync('/dev/null', O_RDWR | O_CLOEXEC);
      for (const std of [0, 1, 2]) this.sys.dup2(fd, std);
      closeSync(fd);
    } catch {
      // nothing better to do
    }
  }
}
