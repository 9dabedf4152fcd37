// Lexical path helpers for in-container paths (no file system access).
import { posix } from 'node:path';

/** "/a/b/../c/" → "/a/c"; relative paths are taken from "/"; ".." never climbs above "/". */
export function cleanPath(p: string): string {
  return posix.resolve('/', p);
}

/** The components of a path, without empty and "." components ("/a//./b" → ["a", "b"]). */
export function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** True when `p` (clean, absolute) is `dir` or below it. */
export function isWithin(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}
