// /proc/PID/stat parsing, to tell a container's live process from a recycled pid.
// Pure Node fs (no FFI).
//
// The second field, comm, is the executable name in parentheses and may itself contain
// spaces and parentheses ("a) b (c"); it is at most 15 bytes but is not escaped. The only
// safe split is at the LAST ')' of the line: everything after it is space-separated numbers
// and the state letter.
import { readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** The executable name (the text between the first '(' and the last ')'). */
  comm: string;
  /** State letter: R, S, D, Z (zombie), T, t, X, I, ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Field 22: start time in clock ticks since boot, kept as the decimal string. */
  starttime: string;
}

/** Parses the contents of a /proc/PID/stat file; null when it is not in the expected form. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // Fields 3.. (state is field 3, so field N is rest[N - 3]).
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  if (rest.length < 20) return null;
  const state = rest[0]!;
  const starttime = rest[19]!;
  if (!/^[A-Za-z]$/.test(state) || !/^\d+$/.test(starttime) || !Number.isInteger(pid)) return null;
  return {
    pid,
    comm,
    state,
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    starttime,
  };
}

/** Reads and parses /proc/PID/stat; null when the process does not exist. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return null; // ENOENT (gone), ESRCH (exited while reading), EACCES...
  }
  return parseProcStat(text);
}

/** Start time (field 22) of a process, or null when it does not exist. */
export function processStartTime(pid: number, procRoot = '/proc'): string | null {
  return readProcStat(pid, procRoot)?.starttime ?? null;
}

/**
 * True when `pid` is a running (not zombie or dead) process and, when `startTime` is given
 * (non-empty), is the same process that had that start time: a recycled pid has a different one.
 */
export function isProcessAlive(pid: number, startTime?: string | null, procRoot = '/proc'): boolean {
  const st = readProcStat(pid, procRoot);
  if (!st) return false;
  if (st.state === 'Z' || st.state === 'X' || st.state === 'x') return false;
  if (startTime !== undefined && startTime !== null && startTime !== '' && st.starttime !== startTime) return false;
  return true;
}
