// The sync channel between the runtime (parent) and the container's init: a unix socket carrying
// one message per line. The native stage writes plain lines ("pid N", "error ..."); the Node
// init and the runtime exchange JSON objects. Both sides are synchronous: each blocks between
// steps, since nothing else can happen in the other until it answers. (A synchronous parent
// needs neither node:net nor node:child_process, a few ms of every create.)
import { closeSync, readSync, writeSync } from 'node:fs';
import type { Syscalls } from '../linux/syscalls';
import type { ParentMessage } from './protocol';

export type InitMessage =
  | { type: 'hooks'; phase: 'createRuntime' }
  | { type: 'cgroup' }
  | { type: 'created' }
  | { type: 'ready' }
  | { type: 'error'; message: string };

export class ChannelClosedError extends Error {}

/** Something to do every `everyMs` while the runtime waits for the init. */
export interface WhileWaiting {
  everyMs: number;
  tick(): void;
}

const closed = () => new ChannelClosedError('the container init exited before it was ready');

/** Lines from a blocking socket, for both sides; EOF (or a reset) gives undefined. */
class LineReader {
  private buffer = Buffer.alloc(0);
  private eof = false;

  constructor(private readonly fd: number) {}

  /** The next line without its newline; `beforeRead` runs before each read (it may wait). */
  next(beforeRead?: () => void): string | undefined {
    for (;;) {
      const nl = this.buffer.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.buffer.subarray(0, nl).toString('utf8');
        this.buffer = this.buffer.subarray(nl + 1);
        return line;
      }
      if (this.eof) return undefined;
      beforeRead?.();
      const chunk = Buffer.allocUnsafe(65536);
      let n: number;
      try {
        n = readSync(this.fd, chunk, 0, chunk.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EINTR' || code === 'EAGAIN') continue;
        if (code !== 'ECONNRESET') throw err;
        n = 0;
      }
      if (n === 0) this.eof = true;
      else this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, n)]);
    }
  }
}

/** Parent side: blocking line reads and writes on our end of the socket pair. */
export class ParentChannel {
  private readonly lines: LineReader;
  private open = true;
  private waiting: WhileWaiting | undefined;

  constructor(
    private readonly sys: Syscalls,
    private readonly fd: number,
  ) {
    this.lines = new LineReader(fd);
  }

  /** Calls `w.tick()` every `w.everyMs` while readLine() waits, until whileWaiting(undefined). */
  whileWaiting(w: WhileWaiting | undefined): void {
    this.waiting = w;
  }

  /** The next line, without its newline. */
  readLine(): string {
    const line = this.lines.next(() => this.wait());
    if (line === undefined) throw closed();
    return line;
  }

  /** Before a read: nothing to read once closed; the ticks while nothing has arrived. */
  private wait(): void {
    if (!this.open) throw closed();
    for (let w = this.waiting; w !== undefined && !this.sys.pollIn(this.fd, w.everyMs); w = this.waiting) w.tick();
  }

  receive(): InitMessage {
    const line = this.readLine();
    if (line.startsWith('error ')) return { type: 'error', message: line.slice(6) };
    try {
      return JSON.parse(line) as InitMessage;
    } catch {
      throw new Error(`unexpected message from the container init: ${line.slice(0, 200)}`);
    }
  }

  /** Closes the runtime's end: the init sees EOF if it ever reads again. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }

  /**
   * Writes all of `text`. A peer that is gone (EPIPE, ECONNRESET) is not an error here: the
   * next readLine() reports it, with what the init said before it died.
   */
  sendRaw(text: string): void {
    if (!this.open) return;
    const data = Buffer.from(text);
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPIPE' && code !== 'ECONNRESET') throw err;
    }
  }

  send(message: object): void {
    this.sendRaw(JSON.stringify(message) + '\n');
  }

  /**
   * Does the runtime's part of a step the init is waiting on, then lets the init continue;
   * if it fails, tells the init to abort and rethrows.
   */
  async answer(step: () => unknown): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.send({ type: 'abort', message: (err as Error).message } satisfies ParentMessage);
      throw err;
    }
    this.send({ type: 'continue' } satisfies ParentMessage);
  }
}

/** Init side: blocking reads and writes on the inherited socket fd. */
export class InitChannel {
  private readonly lines: LineReader;

  constructor(readonly fd: number) {
    this.lines = new LineReader(fd);
  }

  send(message: InitMessage): void {
    const data = Buffer.from(JSON.stringify(message) + '\n');
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off);
  }

  receive<T>(): T {
    const line = this.lines.next();
    if (line === undefined) throw new ChannelClosedError('the runtime closed the sync channel');
    return JSON.parse(line) as T;
  }
}
