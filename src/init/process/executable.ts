// Finding the program to run, the way runc does (Go's exec.LookPath, as in the Go 1.19 that
// Debian's runc 1.1.5 is built with), before the container is reported "created", so a
// missing binary is a create-time error with runc's exact text:
//
//   exec: "/no/such/binary": stat /no/such/binary: no such file or directory
//   exec: "nosuch": executable file not found in $PATH
//   exec: "/etc": permission denied                      (a directory, or no x bit)
//   exec: "true": cannot run executable found relative to current directory
//   chdir to cwd ("/nope") set in config.json failed: no such file or directory
//
// Runs after pivot_root, so paths are the container's. `root` exists for tests: it is
// prefixed to every path looked at (absolute symlinks inside it still resolve against the
// real root).
import { statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Process } from '../../spec';
import { goErrnoText, goQuote } from './errors';

/** Like Go's fs.Stat: follows symlinks; errors carry an errno code. */
function stat(root: string, path: string): Stats {
  return statSync(posix.join(root, path));
}

/** The value of the last NAME=... entry of an environment list (as os.Setenv in order would leave it). */
export function envValue(env: readonly string[] | undefined, name: string): string | undefined {
  let value: string | undefined;
  for (const kv of env ?? []) {
    if (kv.startsWith(name + '=')) value = kv.slice(name.length + 1);
  }
  return value;
}

/**
 * Checks `process.cwd` the way runc's chdir would: it must be an absolute path naming an
 * existing directory. Throws runc's message.
 */
export function checkCwd(process: Process, root = '/'): void {
  const cwd = process.cwd;
  if (typeof cwd !== 'string' || !cwd.startsWith('/')) {
    throw new Error(`cwd property must be an absolute path, got ${goQuote(String(cwd))}`);
  }
  let isDir: boolean;
  try {
    isDir = stat(root, cwd).isDirectory();
  } catch (err) {
    throw cwdError(cwd, goErrnoText(err));
  }
  if (!isDir) throw cwdError(cwd, 'not a directory');
}

export function cwdError(cwd: string, text: string): Error {
  return new Error(`chdir to cwd (${goQuote(cwd)}) set in config.json failed: ${text}`);
}

/** Go 1.19's findExecutable: stat; a regular (non-directory) file with any x bit. */
function findExecutable(root: string, cwd: string, file: string): string | null {
  const st = stat(root, posix.isAbsolute(file) ? file : posix.join(cwd, file));
  if (!st.isDirectory() && (Number(st.mode) & 0o111) !== 0) return null;
  return 'permission denied';
}

function execError(name: string, text: string): Error {
  return new Error(`exec: ${goQuote(name)}: ${text}`);
}

/**
 * Resolves `process.args[0]` to the path execve will be given, and checks `process.cwd`.
 * A name with a '/' is used as given (relative to cwd when relative: execve runs after the
 * chdir); otherwise each directory of PATH from `process.env` is tried. Like runc, there is
 * no default PATH: without one, a bare name is not found.
 */
export function resolveExecutable(process: Process | undefined, root = '/'): string {
  if (!process) throw new Error('process: a container needs a process to run');
  const args = process.args ?? [];
  if (args.length === 0 || args[0] === undefined) throw new Error('args must not be empty');
  checkCwd(process, root);
  const file = args[0];
  const cwd = process.cwd;

  if (file.includes('/')) {
    let problem: string | null;
    try {
      problem = findExecutable(root, cwd, file);
    } catch (err) {
      problem = `stat ${file}: ${goErrnoText(err)}`;
    }
    if (problem !== null) throw execError(file, problem);
    return file;
  }

  const path = envValue(process.env, 'PATH') ?? '';
  // filepath.SplitList: "" is no directory at all; an empty element means ".".
  const dirs = path === '' ? [] : path.split(':');
  for (const d of dirs) {
    const dir = d === '' ? '.' : d;
    const candidate = posix.join(dir, file);
    let problem: string | null;
    try {
      problem = findExecutable(root, cwd, candidate);
    } catch {
      continue;
    }
    if (problem !== null) continue;
    if (!posix.isAbsolute(candidate)) throw execError(file, 'cannot run executable found relative to current directory');
    return candidate;
  }
  throw execError(file, 'executable file not found in $PATH');
}
