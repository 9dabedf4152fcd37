// Terminals for tests: the caller's side of --console-socket (what go-runc's console socket
// and conmon do, written with tsrun's libc layer since node:net cannot receive fds), pty pairs,
// and a reader that collects what a pty master gives until a pattern or EOF.
import assert from 'node:assert/strict';
import { closeSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { join } from 'node:path';
import { linux } from '../../src/linux/syscalls';
import { isErrno } from '../../src/linux/errors';
import { O_CLOEXEC, O_NOCTTY, O_RDWR } from '../../src/linux/constants';

/** A listening console socket (non-blocking: accepting without a pending connection fails). */
export class ConsoleSocket {
  readonly fd: number;

  constructor(readonly path: string) {
    this.fd = linux().unixListen(path, { backlog: 4, nonBlocking: true });
  }

  static in(dir: string, name = 'console.sock'): ConsoleSocket {
    return new ConsoleSocket(join(dir, name));
  }

  /**
   * Accepts the runtime's connection (it must already be pending: call after the runtime
   * exited) and receives ONE message, as go-runc's RecvFd: data and the fds it carried.
   */
  receive(): { data: string; fds: number[] } {
    const sys = linux();
    let conn: number;
    try {
      conn = sys.accept(this.fd);
    } catch (err) {
      if (isErrno(err, 'EAGAIN', 'EWOULDBLOCK')) throw new Error(`nobody connected to the console socket ${this.path}`);
      throw err;
    }
    try {
      const got = sys.recvFds(conn, 4096, 16);
      return { data: got.data.toString(), fds: got.fds };
    } finally {
      sys.close(conn);
    }
  }

  /** True when another connection is pending (there must be exactly one per create/exec). */
  hasPending(): boolean {
    try {
      closeSync(linux().accept(this.fd));
      return true;
    } catch (err) {
      if (isErrno(err, 'EAGAIN', 'EWOULDBLOCK')) return false;
      throw err;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The one message of the console socket: checked as go-runc checks it, then the master. */
export function receiveMaster(sock: ConsoleSocket): number {
  const msg = sock.receive();
  assert.equal(msg.data, '/dev/ptmx', 'the data of the message');
  assert.equal(msg.fds.length, 1, 'exactly one fd in the SCM_RIGHTS message');
  const master = msg.fds[0] as number;
  assert.ok(isPtyMaster(master), 'the fd is a pty master (TIOCGPTN works)');
  assert.equal(sock.hasPending(), false, 'one connection only');
  return master;
}

/** A new pty pair of the host's devpts: the master and its slave (both close-on-exec). */
export function openPty(size?: { rows: number; cols: number }): { master: number; slave: number } {
  const sys = linux();
  const master = sys.open('/dev/ptmx', O_RDWR | O_NOCTTY | O_CLOEXEC);
  sys.unlockpt(master);
  const slave = sys.openPtsPeer(master, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (size) sys.setWinsize(master, size);
  return { master, slave };
}

/** True if `fd` is a pty master (TIOCGPTN works only on masters). */
export function isPtyMaster(fd: number): boolean {
  try {
    linux().ptsNumber(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a pty master in the event loop. `text` is everything so far (CR-LF turned into LF);
 * `waitFor` resolves once a pattern appears, `waitEnd` once every slave is closed (EIO).
 * `close` stops reading and closes the master.
 */
export class PtyReader {
  text = '';
  ended = false;
  private readonly stream: ReadStream;
  private waiters: Array<() => void> = [];

  constructor(readonly master: number) {
    this.stream = new ReadStream(master);
    this.stream.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('utf8').replace(/\r\n/g, '\n');
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    this.stream.on('error', end);
    this.stream.on('end', end);
    this.stream.on('close', end);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; the terminal showed:\n${this.text}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    return this.until(() => pattern.test(this.text), String(pattern), timeoutMs);
  }

  waitEnd(timeoutMs = 15_000): Promise<void> {
    return this.until(() => this.ended, 'the end of the terminal output', timeoutMs);
  }

  /** Types into the terminal (the master is non-blocking once read; the inputs here are small). */
  write(text: string): void {
    writeSync(this.master, text);
  }

  close(): void {
    this.stream.destroy();
  }
}
