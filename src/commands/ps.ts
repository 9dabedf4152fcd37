// `tsrun ps [--format table|json] ID [-- PS-OPTIONS...]`: the processes in the container's
// cgroup. JSON is a bare array of host pids and nothing is written to stderr (containerd reads
// stdout and stderr together). The table is `ps -ef`'s layout, built from /proc; with
// PS-OPTIONS the host's ps(1) is run with them and its output filtered to the container's pids,
// as runc does.
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { readProcStat } from '../linux/proc';
import { userName } from '../state/owner';
import { containerStatus } from '../state/status';
import { containerCgroup } from '../runtime/cgroup';
import { containerPids } from '../runtime/processes';
import { writeStdout } from '../cli/stdio';

const CLOCK_TICKS = 100;

export default function ps(ctx: CommandContext, args: CommandArgs): void {
  const id = String(args.containerId);
  const record = ctx.store.read(id);
  const format = String(args.format ?? 'table');
  if (format !== 'table' && format !== 'json') throw new CommandError(`invalid format option ${format}`);
  const status = containerStatus(record, ctx.store.dir(id));
  const cgroup = containerCgroup(ctx, record);
  let pids: number[];
  if (cgroup) pids = cgroup.exists() ? cgroup.pids() : [];
  else pids = status === 'stopped' ? [] : containerPids(record.pid);

  if (format === 'json') {
    writeStdout(JSON.stringify(pids) + '\n');
    return;
  }
  const psArgs = ((args['--'] as unknown[] | undefined) ?? []).map(String);
  if (psArgs.length > 0) {
    writeStdout(filterPs(psArgs, pids));
    return;
  }
  writeStdout(psTable(pids));
}

/** runc: run ps with the options, keep the header and the lines whose PID column is ours. */
function filterPs(psArgs: string[], pids: number[]): string {
  const r = spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (r.error) throw new CommandError(`ps: ${r.error.message}`);
  if (r.status !== 0) throw new CommandError(`ps ${psArgs.join(' ')} failed: ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  const header = lines[0] ?? '';
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new CommandError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > col && wanted.has(Number(f[col]))) out.push(line);
  }
  return out.join('\n') + '\n';
}

interface Row {
  uid: string;
  pid: string;
  ppid: string;
  c: string;
  stime: string;
  tty: string;
  time: string;
  cmd: string;
}

/** `ps -ef` columns for the given pids, from /proc. */
export function psTable(pids: number[], now = Date.now()): string {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const boot = now / 1000 - uptime;
  const rows: Row[] = [];
  for (const pid of pids) {
    const row = procRow(pid, boot, uptime, now);
    if (row) rows.push(row);
  }
  const header: Row = { uid: 'UID', pid: 'PID', ppid: 'PPID', c: 'C', stime: 'STIME', tty: 'TTY', time: 'TIME', cmd: 'CMD' };
  const all = [header, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const [wu, wp, wpp, wc, ws, wt, wtime] = [w('uid'), w('pid'), w('ppid'), w('c'), w('stime'), w('tty'), w('time')];
  return (
    all
      .map((r) =>
        [r.uid.padEnd(wu), r.pid.padStart(wp), r.ppid.padStart(wpp), r.c.padStart(wc), r.stime.padEnd(ws), r.tty.padEnd(wt), r.time.padStart(wtime), r.cmd].join(' '),
      )
      .join('\n') + '\n'
  );
}

function procRow(pid: number, boot: number, uptime: number, now: number): Row | null {
  const st = readProcStat(pid);
  if (!st) return null;
  let raw: string;
  let status: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  // fields after comm: state(3) ppid(4) pgrp session tty_nr(7) ... utime(14) stime(15) ... starttime(22)
  const ttyNr = Number(f[4]);
  const cpuTicks = Number(f[11]) + Number(f[12]);
  const startSec = Number(st.starttime) / CLOCK_TICKS;
  const elapsed = Math.max(uptime - startSec, 0.001);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    // gone
  }
  if (cmd === '') cmd = `[${st.comm}]`;
  return {
    uid: userName(uid),
    pid: String(pid),
    ppid: String(st.ppid),
    c: String(Math.min(99, Math.floor(((cpuTicks / CLOCK_TICKS) * 100) / elapsed))),
    stime: startTime(new Date((boot + startSec) * 1000), now),
    tty: ttyName(ttyNr, pid),
    time: cpuTime(Math.floor(cpuTicks / CLOCK_TICKS)),
    cmd,
  };
}

/** procps: HH:MM for a process started in the last 24 hours, else "MonDD". */
function startTime(d: Date, now: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  if (now - d.getTime() < 24 * 3600 * 1000) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${months[d.getMonth()]}${pad(d.getDate())}`;
}

/** [DD-]HH:MM:SS */
function cpuTime(sec: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(sec / 86400);
  const rest = `${pad(Math.floor((sec % 86400) / 3600))}:${pad(Math.floor((sec % 3600) / 60))}:${pad(sec % 60)}`;
  return days > 0 ? `${days}-${rest}` : rest;
}

function ttyName(ttyNr: number, pid: number): string {
  if (!ttyNr) return '?';
  try {
    const link = readlinkSync(`/proc/${pid}/fd/0`);
    if (link.startsWith('/dev/')) return link.slice(5);
  } catch {
    // not readable: fall back to the number
  }
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major === 136) return `pts/${minor}`;
  if (major === 4) return `tty${minor}`;
  return `${major}:${minor}`;
}
