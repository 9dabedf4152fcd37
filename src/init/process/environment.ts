// The user process's environment, as runc prepares it (libcontainer/env.go):
// - every entry must be NAME=VALUE with a non-empty NAME and no NUL byte;
// - duplicates keep the last value, at the position of that last occurrence;
// - HOME is added when missing or empty: the home directory of the process's uid in the
//   container's /etc/passwd, else "/".
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

const DEFAULT_HOME = '/';

/** Home directory of `uid` in a passwd file's text (first matching entry), else undefined. */
export function passwdHome(text: string, uid: number): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 6) continue;
    const id = f[2]!;
    if (/^\d+$/.test(id) && Number(id) === uid) return f[5]!;
  }
  return undefined;
}

/** HOME for `uid`: from `root`/etc/passwd when it has the uid, else "/" (missing file too). */
export function homeFor(uid: number, root = '/'): string {
  let text: string;
  try {
    text = readFileSync(posix.join(root, 'etc/passwd'), 'utf8');
  } catch {
    return DEFAULT_HOME;
  }
  return passwdHome(text, uid) ?? DEFAULT_HOME;
}

/** Validates and deduplicates `env`, adding HOME (see above). Throws runc's messages. */
export function prepareEnv(env: readonly string[] | undefined, uid: number, root = '/'): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let homeIsSet = false;
  // Walk backwards so the last occurrence of each name wins.
  const list = env ?? [];
  for (let i = list.length - 1; i >= 0; i--) {
    const kv = list[i]!;
    const eq = kv.indexOf('=');
    if (eq < 0) throw new Error(`invalid environment variable ${JSON.stringify(kv)}: missing '='`);
    if (eq === 0) throw new Error(`invalid environment variable ${JSON.stringify(kv)}: name cannot be empty`);
    const name = kv.slice(0, eq);
    if (seen.has(name)) continue;
    seen.add(name);
    if (kv.includes('\0')) throw new Error(`invalid environment variable ${JSON.stringify(name)}: contains nul byte (\\x00)`);
    if (name === 'HOME') {
      if (kv.length === eq + 1) continue; // empty HOME: replaced below
      homeIsSet = true;
    }
    out.push(kv);
  }
  out.reverse();
  if (!homeIsSet) out.push(`HOME=${homeFor(uid, root)}`);
  return out;
}
