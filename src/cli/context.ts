// What every command receives: the global options, the logger and the state store.
import type { Logger } from '../log/logger';
import type { StateStore } from '../state/store';

export interface GlobalOptions {
  root: string;
  log?: string | undefined;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless: 'true' | 'false' | 'auto';
}

export interface CommandContext {
  options: GlobalOptions;
  logger: Logger;
  store: StateStore;
}

/** An expected failure: its message is reported as is, and the command exits with `exitCode`. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parsed command-line arguments of one command (yargs camel-cases the flag names). */
export type CommandArgs = Readonly<Record<string, unknown>>;
