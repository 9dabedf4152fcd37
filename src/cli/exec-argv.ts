// Splitting `exec`'s own options from the command it runs.
/** exec options that take a value (in the `--opt value` form). */
const EXEC_VALUE_OPTIONS = new Set(['--process', '-p', '--env', '-e', '--cwd', '--user', '-u', '--additional-gids', '-g', '--cap', '-c', '--pid-file', '--preserve-fds', '--console-socket', '--process-label', '--apparmor']);
const GLOBAL_VALUE_OPTIONS = new Set(['--root', '--log', '--log-format', '--rootless', '--criu']);

/**
 * `exec ID CMD ARGS...`: everything after the container id is the command, options included
 * (`exec id ls -l`). Marks that boundary with `--` so the parser leaves the command alone.
 */
export function separateExecCommand(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && argv[i] !== 'exec') {
    const token = argv[i] as string;
    if (!token.startsWith('-')) return argv; // another command
    i += GLOBAL_VALUE_OPTIONS.has(token) ? 2 : 1;
  }
  for (let j = i + 1; j < argv.length; j++) {
    const token = argv[j] as string;
    if (token === '--') return argv;
    if (token.startsWith('-')) {
      if (EXEC_VALUE_OPTIONS.has(token)) j++;
      continue;
    }
    // argv[j] is the container id
    return j + 1 < argv.length && argv[j + 1] !== '--' ? [...argv.slice(0, j + 1), '--', ...argv.slice(j + 1)] : argv;
  }
  return argv;
}
