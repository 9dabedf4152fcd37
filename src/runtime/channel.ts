// The sync channel between the runtime (parent) and the container's init: a unix socket carrying
// one message per line. The native stage writes plain lines ("pid N", "error ..."); the Node
// init and the runtime exchange JSON objects. The parent side is asynchronous; the init side is
// synchronous (the init blocks between steps, nothing else runs in it).
import { readSync, writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { ParentMessage } from './protocol';

export type InitMessage =
  | { type: 'hooks'; phase: 'createRuntime' }
  | { type: 'cgroup' }
  | { type: 'created' }
  | { type: 'ready' }
  | { type: 'error'; message: string };

export class ChannelClosedError extends Error {}

/** Parent side: reads lines from the init (or the stage before it) as they arrive. */
export class ParentChannel {
  private buffer = '';
  private lines: string[] = [];
  private waiters: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private closed = false;

  constructor(
    input: Readable,
    private readonly output: Writable,
  ) {
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.deliver(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    const end = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new ChannelClosedError('the container init exited before it was ready'));
    };
    input.on('end', end);
    input.on('close', end);
    input.on('error', end);
  }

  private deliver(line: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(line);
    else this.lines.push(line);
  }

  /** The next line, without its newline. */
  readLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closed) return Promise.reject(new ChannelClosedError('the container init exited before it was ready'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async receive(): Promise<InitMessage> {
    const line = await this.readLine();
    if (line.startsWith('error ')) return { type: 'error', message: line.slice(6) };
    try {
      return JSON.parse(line) as InitMessage;
    } catch {
      throw new Error(`unexpected message from the container init: ${line.slice(0, 200)}`);
    }
  }

  /** Closes the runtime's end: the init sees EOF if it ever reads again. */
  close(): void {
    (this.output as Writable & { destroy(): void }).destroy();
  }

  sendRaw(text: string): void {
    this.output.write(text);
  }

  send(message: object): void {
    this.output.write(JSON.stringify(message) + '\n');
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
  private buffer = Buffer.alloc(0);

  constructor(readonly fd: number) {}

  send(message: InitMessage): void {
    const data = Buffer.from(JSON.stringify(message) + '\n');
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off);
  }

  receive<T>(): T {
    for (;;) {
      const nl = this.buffer.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.buffer.subarray(0, nl).toString('utf8');
        this.buffer = this.buffer.subarray(nl + 1);
        return JSON.parse(line) as T;
      }
      const chunk = Buffer.alloc(65536);
      const n = readSync(this.fd, chunk, 0, chunk.length, null);
      if (n === 0) throw new ChannelClosedError('the runtime closed the sync channel');
      this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, n)]);
    }
  }
}
