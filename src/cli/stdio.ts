// Output without process.stdout and process.stderr: their first use builds a Node stream over
// the fd (the stream stack, about 2 ms of a command that prints a line) and makes a pipe there
// non-blocking for everyone sharing it. Plain write(2) does neither.
import { writeSync } from 'node:fs';

/** Writes all of `text` to fd 1; a non-blocking fd that is full gets the rest through process.stdout. */
export function writeStdout(text: string): void {
  writeAll(1, text, () => process.stdout);
}

/** The same for fd 2. */
export function writeStderr(text: string): void {
  writeAll(2, text, () => process.stderr);
}

function writeAll(fd: number, text: string, stream: () => NodeJS.WriteStream): void {
  const data = Buffer.from(text);
  let off = 0;
  try {
    while (off < data.length) off += writeSync(fd, data, off);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    stream().write(data.subarray(off));
  }
}
