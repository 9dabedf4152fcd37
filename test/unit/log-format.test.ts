import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRecord, rfc3339 } from '../../src/log/logger';
import { formatTable } from '../../src/commands/table';

test('json records are one line with level, msg and an RFC 3339 time', () => {
  const line = formatRecord('json', 'error', 'exec: "x": stat x: no such file or directory', '2026-11-22T21:40:32Z');
  assert.ok(line.endsWith('\n'));
  assert.equal(line.split('\n').length, 2);
  assert.deepEqual(JSON.parse(line), { level: 'error', msg: 'exec: "x": stat x: no such file or directory', time: '2026-11-22T21:40:32Z' });
});

test('text records follow logrus, with the message quoted', () => {
  assert.equal(formatRecord('text', 'error', 'say "hi"', 'T'), 'time="T" level=error msg="say \\"hi\\""\n');
});

test('rfc3339 has second precision in UTC', () => {
  assert.equal(rfc3339(new Date(Date.UTC(2026, 10, 22, 1, 2, 3, 456))), '2026-11-22T01:02:03Z');
});

test('tables pad like runc: min width 12, 3 spaces of padding, last column bare', () => {
  const out = formatTable(['ID', 'PID', 'CREATED'], [['a-very-long-container-id', '1', '2026-11-22T21:53:57.24Z']]);
  assert.equal(out, 'ID                         PID         CREATED\na-very-long-container-id   1           2026-11-22T21:53:57.24Z\n');
});
