// Runtime log in runc's formats. Clients read it: containerd keeps the msg of the last
// "level":"error" JSON record, podman decodes the whole file as ONE JSON object, so a failing
// command writes exactly one error record (debug records only appear with --debug).
import { appendFileSync } from 'node:fs';
import { writeStderr } from '../cli/stdio';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface LoggerOptions {
  file?: string | undefined;
  format: LogFormat;
  debug: boolean;
}

/** RFC 3339 time with second precision in UTC, as runc's logrus emits it. */
export function rfc3339(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatRecord(format: LogFormat, level: LogLevel, msg: string, time: string): string {
  if (format === 'json') return JSON.stringify({ level, msg, time }) + '\n';
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export class Logger {
  constructor(private readonly options: LoggerOptions) {}

  /** With --debug: the message, prefixed with the ms since Node started (for timing a command). */
  debug(msg: string): void {
    if (this.options.debug) this.write('debug', `+${performance.now().toFixed(1)}ms ${msg}`);
  }

  warn(msg: string): void {
    this.write('warning', msg);
  }

  /**
   * Reports the error that ends the command: one record in the log file, and a readable line
   * on stderr (the plain message when a log file exists, runc's text record otherwise).
   */
  error(msg: string): void {
    if (this.options.file) {
      this.append(formatRecord(this.options.format, 'error', msg, rfc3339()));
      writeStderr(msg + '\n');
    } else {
      writeStderr(formatRecord(this.options.format, 'error', msg, rfc3339()));
    }
  }

  private write(level: LogLevel, msg: string): void {
    const line = formatRecord(this.options.format, level, msg, rfc3339());
    if (this.options.file) this.append(line);
    else writeStderr(line);
  }

  private append(line: string): void {
    try {
      appendFileSync(this.options.file as string, line, { mode: 0o644 });
    } catch (err) {
      writeStderr(`tsrun: cannot write log file ${this.options.file}: ${(err as Error).message}\n`);
    }
  }
}
