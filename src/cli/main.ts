// tsrun's command line: runc's global flags and subcommands. Each subcommand's code lives in
// src/commands/<name>.ts and is loaded only when that subcommand runs.
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { Logger } from '../log/logger';
import { DEFAULT_ROOT, StateStore } from '../state/store';
import { versionText } from '../version';
import { separateExecCommand } from './exec-argv';
import { writeStderr, writeStdout } from './stdio';
import { CommandError, type CommandArgs, type CommandContext, type GlobalOptions } from './context';

type Handler = (ctx: CommandContext, args: CommandArgs) => Promise<number | void> | number | void;

type Loaded = { default: Handler };

/**
 * Wraps a lazily loaded command so every failure is logged once and sets the exit code.
 * `load` is an import() or, for create/run/exec, a require(): those then run synchronously up to
 * the point where they wait for the container's init, so yargs' own work after calling the
 * handler (it builds the help text) happens while the init starts rather than before.
 */
function run(load: () => Promise<Loaded> | Loaded) {
  return async (args: ArgumentsCamelCase<Record<string, unknown>>): Promise<void> => {
    let logger = new Logger({ file: typeof args.log === 'string' ? args.log : undefined, format: args.logFormat === 'json' ? 'json' : 'text', debug: false });
    try {
      const options = globalOptions(args);
      logger = new Logger({ file: options.log, format: options.logFormat, debug: options.debug });
      const ctx: CommandContext = {
        options,
        logger,
        store: new StateStore(options.root, () => require('../linux/syscalls').linux()),
      };
      const loaded = load();
      const handler = (loaded instanceof Promise ? await loaded : loaded).default;
      const code = await handler(ctx, args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      logger.error(errorMessage(err));
      process.exitCode = err instanceof CommandError ? err.exitCode : 1;
    }
  };
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function globalOptions(args: Record<string, unknown>): GlobalOptions {
  const rootless = args.rootless === undefined ? 'auto' : args.rootless === '' ? 'true' : String(args.rootless);
  if (rootless !== 'true' && rootless !== 'false' && rootless !== 'auto') {
    throw new CommandError(`invalid --rootless value ${JSON.stringify(rootless)}: one of true, false, auto`);
  }
  return {
    root: String(args.root),
    log: typeof args.log === 'string' && args.log !== '' ? args.log : undefined,
    logFormat: args.logFormat === 'json' ? 'json' : 'text',
    debug: Boolean(args.debug),
    systemdCgroup: Boolean(args.systemdCgroup),
    rootless,
  };
}

function idArg<T>(y: Argv<T>) {
  return y.positional('container-id', { type: 'string', demandOption: true, describe: 'your name for the container' });
}

/** Options of `create`, shared by `run`. */
function createArgs<T>(y: Argv<T>) {
  return idArg(y)
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the root of the bundle directory' })
    .option('pid-file', { type: 'string', describe: 'file to write the process id to' })
    .option('console-socket', { type: 'string', describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console pseudoterminal' })
    .option('preserve-fds', { type: 'string', default: '0', describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot root to jail process inside rootfs' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'do not create a new session keyring for the container' });
}

/**
 * yargs asks for the working directory, which fails once that directory has been removed (the
 * runc shim runs tsrun from the bundle directory); runc works there. Nothing tsrun parses
 * depends on it: a relative --bundle is resolved, or refused, where it is used.
 */
function workingDirectory(): string {
  try {
    return process.cwd();
  } catch {
    return '/';
  }
}

/** Options of `checkpoint` shared by `restore` (runc's names). */
function criuArgs<T>(y: Argv<T>) {
  return y
    .option('image-path', { type: 'string', describe: 'path for saving criu image files (default: ./checkpoint)' })
    .option('work-path', { type: 'string', describe: 'path for saving work files and logs' })
    .option('tcp-established', { type: 'boolean', default: false, describe: 'allow open tcp connections' })
    .option('ext-unix-sk', { type: 'boolean', default: false, describe: 'allow external unix sockets' })
    .option('shell-job', { type: 'boolean', default: false, describe: 'allow shell jobs' })
    .option('file-locks', { type: 'boolean', default: false, describe: 'handle file locks, for safety' })
    .option('manage-cgroups-mode', { type: 'string', describe: 'cgroups mode: soft|full|strict|ignore (default: soft)' })
    // One value per flag, repeatable (an array option would swallow the container id).
    .option('empty-ns', { type: 'string', describe: "create a namespace, but don't restore its properties (network)" })
    .option('auto-dedup', { type: 'boolean', default: false, describe: 'enable auto deduplication of memory images' })
    .option('lazy-pages', { type: 'boolean', describe: 'use userfaultfd to lazily restore memory pages (not supported: refused)' });
}

export function buildCli(argv: string[]): Argv {
  // Loaded here, not at import: `--version` answers without paying for the parser.
  const yargs = require('yargs/yargs') as (args: string[], cwd: string) => Argv;
  const cli = yargs(argv, workingDirectory());
  // Help is wrapped at 110 columns, or to a narrower terminal when help is asked for. Only then
  // is the terminal's width looked up: it is process.stdout's (see stdio.ts), and yargs builds
  // its help text after every command.
  const asksForHelp = argv.length === 0 || argv.includes('--help') || argv.includes('-h');
  cli.wrap(asksForHelp ? Math.min(110, process.stdout.columns || 110) : 110);
  return cli
    .scriptName('tsrun')
    .usage('tsrun: an OCI container runtime (runc-compatible)\n\nUsage: $0 [global options] <command> [command options]')
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'boolean-negation': false, 'populate--': true })
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'root directory for storage of container state (this should be located in tmpfs)', global: true })
    .option('log', { type: 'string', describe: "set the log file to write tsrun logs to (default is '/dev/stderr')", global: true })
    .option('log-format', { choices: ['text', 'json'], default: 'text', describe: "set the log format ('text' or 'json')", global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'enable debug logging', global: true })
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'enable systemd cgroup support (cgroupsPath of the form "slice:prefix:name")', global: true })
    // A string, not choices: `spec --rootless` is a flag of the same name (checked in globalOptions).
    .option('rootless', { type: 'string', describe: "ignore cgroup permission errors ('true', 'false', or 'auto'); for spec: generate a rootless config", global: true })
    .command(
      'spec',
      'create a new specification file',
      (y) =>
        y.option('bundle', { alias: 'b', type: 'string', describe: 'path to the root of the bundle directory' }),
      run(() => import('../commands/spec')),
    )
    .command('create <container-id>', 'create a container', createArgs, run(() => require('../commands/create') as typeof import('../commands/create')))
    .command('start <container-id>', 'executes the user defined process in a created container', idArg, run(() => import('../commands/start')))
    .command(
      'run <container-id>',
      'create and run a container',
      (y) =>
        createArgs(y)
          .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' })
          .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' }),
      run(() => require('../commands/run') as typeof import('../commands/run')),
    )
    .command(
      'exec <container-id>',
      'execute new process inside the container',
      (y) =>
        idArg(y)
          .option('process', { alias: 'p', type: 'string', describe: 'path to the process.json' })
          .option('env', { alias: 'e', type: 'string', array: true, describe: 'set environment variables' })
          .option('cwd', { type: 'string', describe: 'current working directory in the container' })
          .option('user', { alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' })
          .option('additional-gids', { alias: 'g', type: 'string', array: true, describe: 'additional gids' })
          .option('cap', { alias: 'c', type: 'string', array: true, describe: 'add a capability to the bounding set for the process' })
          .option('no-new-privs', { type: 'boolean', default: false, describe: 'set the no new privileges value for the process' })
          .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' })
          .option('pid-file', { type: 'string', describe: 'specify the file to write the process id to' })
          .option('preserve-fds', { type: 'string', default: '0', describe: 'pass N additional file descriptors to the process' })
          .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'allocate a pseudo-TTY' })
          .option('console-socket', { type: 'string', describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console pseudoterminal' }),
      run(() => require('../commands/exec') as typeof import('../commands/exec')),
    )
    .command(
      'kill <container-id> [signal]',
      'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
      (y) => idArg(y).positional('signal', { type: 'string', describe: 'signal name or number' }).option('all', { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to all processes in the container' }),
      run(() => import('../commands/kill')),
    )
    .command(
      'delete <container-id>',
      'delete any resources held by the container',
      (y) => idArg(y).option('force', { alias: 'f', type: 'boolean', default: false, describe: 'forcibly deletes the container if it is still running (uses SIGKILL)' }),
      run(() => import('../commands/delete')),
    )
    .command('pause <container-id>', 'pause suspends all processes inside the container', idArg, run(() => import('../commands/pause')))
    .command('resume <container-id>', 'resumes all processes that have been previously paused', idArg, run(() => import('../commands/resume')))
    .command(
      'ps <container-id>',
      'ps displays the processes running inside a container (ps options after --)',
      (y) => idArg(y).option('format', { alias: 'f', type: 'string', default: 'table', describe: 'select one of: table or json' }),
      run(() => import('../commands/ps')),
    )
    .command(
      'events <container-id>',
      'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
      (y) =>
        idArg(y)
          .option('interval', { type: 'string', default: '5s', describe: 'set the stats collection interval' })
          .option('stats', { type: 'boolean', default: false, describe: 'display the container\'s stats then exit' }),
      run(() => import('../commands/events')),
    )
    .command(
      'update <container-id>',
      'update container resource constraints',
      (y) =>
        idArg(y)
          .option('resources', { alias: 'r', type: 'string', describe: "path to a file with the LinuxResources to apply, or '-' for stdin (other options are then ignored)" })
          .option('blkio-weight', { type: 'string', describe: 'per cgroup block IO weight, 10 to 1000' })
          .option('cpu-period', { type: 'string', describe: 'CPU CFS period (in usecs)' })
          .option('cpu-quota', { type: 'string', describe: 'CPU CFS hardcap limit (in usecs) per period' })
          .option('cpu-share', { alias: 'cpu-shares', type: 'string', describe: 'CPU shares (relative weight vs. other containers)' })
          .option('cpu-rt-period', { type: 'string', describe: 'CPU realtime period (in usecs)' })
          .option('cpu-rt-runtime', { type: 'string', describe: 'CPU realtime hardcap limit (in usecs) per period' })
          .option('cpuset-cpus', { type: 'string', describe: 'CPU(s) to use' })
          .option('cpuset-mems', { type: 'string', describe: 'memory node(s) to use' })
          .option('kernel-memory', { type: 'string', hidden: true })
          .option('kernel-memory-tcp', { type: 'string', hidden: true })
          .option('memory', { type: 'string', describe: 'memory limit (bytes, or with a k/m/g suffix)' })
          .option('memory-reservation', { type: 'string', describe: 'memory reservation or soft limit' })
          .option('memory-swap', { type: 'string', describe: "total memory usage (memory + swap); '-1' for unlimited swap" })
          .option('pids-limit', { type: 'string', describe: 'maximum number of pids allowed in the container' })
          .option('l3-cache-schema', { type: 'string', hidden: true })
          .option('mem-bw-schema', { type: 'string', hidden: true }),
      run(() => import('../commands/update')),
    )
    .command(
      'checkpoint <container-id>',
      'checkpoint a running container (with CRIU)',
      (y) =>
        criuArgs(idArg(y))
          .option('parent-path', { type: 'string', describe: 'path for previous criu image files in pre-dump (relative to --image-path)' })
          .option('leave-running', { type: 'boolean', default: false, describe: 'leave the process running after checkpointing' })
          .option('pre-dump', { type: 'boolean', default: false, describe: "dump container's memory information only, leave the container running after this" })
          .option('page-server', { type: 'string', describe: 'ADDRESS:PORT of the page server (not supported: refused)' })
          .option('status-fd', { type: 'string', describe: 'criu writes \\0 to this FD once lazy-pages is ready (not supported: refused)' }),
      run(() => import('../commands/checkpoint')),
    )
    .command(
      'restore <container-id>',
      'restore a container from a previous checkpoint (with CRIU)',
      (y) =>
        criuArgs(idArg(y))
          .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the root of the bundle directory' })
          .option('console-socket', { type: 'string', describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console pseudoterminal' })
          .option('detach', { alias: 'd', type: 'boolean', default: false, describe: "detach from the container's process" })
          .option('pid-file', { type: 'string', describe: 'specify the file to write the process id to' })
          .option('no-subreaper', { type: 'boolean', default: false, describe: 'disable the use of the subreaper used to reap reparented processes' })
          .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot root to jail process inside rootfs (not supported: refused)' })
          .option('lsm-profile', { type: 'string', requiresArg: true, describe: 'apply an LSM profile to the restored container (not supported: refused)' })
          .option('lsm-mount-context', { type: 'string', requiresArg: true, describe: 'an LSM mount context for the restored container (not supported: refused)' }),
      run(() => import('../commands/restore')),
    )
    .command('features', 'show the enabled features', (y) => y, run(() => import('../commands/features')))
    .command('state <container-id>', 'output the state of a container', idArg, run(() => import('../commands/state')))
    .command(
      'list',
      'lists containers started by tsrun with the given root',
      (y) =>
        y
          .option('format', { alias: 'f', choices: ['table', 'json'], default: 'table', describe: 'select one of: table or json' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'display only container IDs' }),
      run(() => import('../commands/list')),
    )
    .demandCommand(1, 'no command given; see --help')
    .strict()
    .version(false)
    .help('help')
    .alias('help', 'h')
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`tsrun: ${msg}\n\n`);
      y.showHelp((s: string) => process.stderr.write(s + '\n'));
      process.exit(1);
    });
}

/** yargs takes a lone "-" for a positional: `update --resources - ID` becomes `--resources=- ID`. */
function joinStdinValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') return [...out, ...argv.slice(i)];
    if ((token === '--resources' || token === '-r') && argv[i + 1] === '-') {
      out.push('--resources=-');
      i++;
    } else out.push(token);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  // dockerd and podman call --version often: answer it without loading the parser.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    writeStdout(versionText());
    return;
  }
  await buildCli(joinStdinValues(separateExecCommand(argv))).parseAsync();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  writeStderr(`tsrun: ${errorMessage(err)}\n`);
  process.exitCode = 1;
});
