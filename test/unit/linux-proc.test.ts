// /proc/PID/stat parsing and process liveness (src/linux/proc.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive, parseProcStat, processStartTime, readProcStat } from '../../src/linux/proc';

function statLine(pid: number, comm: string, state: string, starttime: string): string {
  // fields 3..52 after the comm; field 22 (index 19 after the comm) is starttime
  const rest = [state, '1', String(pid), String(pid), '0', '-1', '4194560', '100', '0', '0', '0', '5', '3', '0', '0',
    '20', '0', '1', '0', starttime, '2428928', '200', '18446744073709551615'];
  return `${pid} (${comm}) ${rest.join(' ')} 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;
}

test('parses a comm with spaces and parentheses: split at the last )', () => {
  const st = parseProcStat(statLine(1234, 'a) b (c', 'S', '987654'));
  assert.ok(st);
  assert.equal(st.pid, 1234);
  assert.equal(st.comm, 'a) b (c');
  assert.equal(st.state, 'S');
  assert.equal(st.ppid, 1);
  assert.equal(st.starttime, '987654');
});

test('parses comm that looks like more fields: "x) R 1 2 3 (y"', () => {
  const st = parseProcStat(statLine(42, 'x) R 1 2 3 (y', 'Z', '5'));
  assert.ok(st);
  assert.equal(st.comm, 'x) R 1 2 3 (y');
  assert.equal(st.state, 'Z');
  assert.equal(st.starttime, '5');
});

test('parses comm ending in ")" and empty comm', () => {
  assert.equal(parseProcStat(statLine(7, 'foo)', 'R', '11'))?.comm, 'foo)');
  assert.equal(parseProcStat(statLine(7, 'foo)', 'R', '11'))?.starttime, '11');
  assert.equal(parseProcStat(statLine(8, '', 'S', '12'))?.comm, '');
});

test('rejects malformed stat text', () => {
  assert.equal(parseProcStat(''), null);
  assert.equal(parseProcStat('12 no parens S 1 2'), null);
  assert.equal(parseProcStat('12 (short) S 1 2 3'), null);
  assert.equal(parseProcStat(statLine(9, 'x', 'S', 'notanumber')), null);
});

test('this process: start time matches field 22 of the real file', () => {
  const raw = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  const st = readProcStat(process.pid);
  assert.ok(st);
  assert.equal(st.pid, process.pid);
  assert.equal(st.state, 'R');
  assert.equal(st.ppid, process.ppid);
  // independent parse: 22nd whitespace field when comm has no spaces ("node")
  assert.equal(st.comm, 'node');
  assert.equal(st.starttime, raw.split(' ')[21]);
  assert.equal(processStartTime(process.pid), st.starttime);
  assert.ok(isProcessAlive(process.pid, st.starttime));
  assert.ok(isProcessAlive(process.pid));
  assert.ok(!isProcessAlive(process.pid, String(BigInt(st.starttime) + 1n)), 'a recycled pid has another start time');
});

test('missing process: null / not alive', () => {
  assert.equal(processStartTime(0x3ffffff0), null);
  assert.equal(isProcessAlive(0x3ffffff0, null), false);
  assert.equal(isProcessAlive(-1), false);
  assert.equal(isProcessAlive(0), false);
});

test('a real process named "x) y (z" is parsed right', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-proc-'));
  const exe = join(dir, 'x) y (z');
  symlinkSync('/bin/sleep', exe);
  const child = spawn(exe, ['5'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 100));
    const st = readProcStat(child.pid!);
    assert.ok(st);
    assert.equal(st.comm, 'x) y (z');
    assert.equal(st.state, 'S');
    assert.equal(st.ppid, process.pid);
    assert.ok(isProcessAlive(child.pid!, st.starttime));
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a zombie counts as not alive, with its start time still readable', async () => {
  // sh starts a short sleep in the background, then execs a long sleep that never reaps it.
  const child = spawn('/bin/sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const before = processStartTime(pid);
    assert.ok(before);
    let st = readProcStat(pid);
    for (let i = 0; i < 100 && st?.state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      st = readProcStat(pid);
    }
    assert.equal(st?.state, 'Z');
    assert.equal(processStartTime(pid), before);
    assert.equal(isProcessAlive(pid, before), false);
    assert.equal(isProcessAlive(child.pid!), true);
  } finally {
    child.kill('SIGKILL');
  }
});
