// The command line as clients see it: --version, spec, features, state, list, errors and --log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tsrun, tempDir, uniqueId, TSRUN } from '../helpers/tsrun';
import { assertOfficiallyValid } from '../helpers/oci-schemas';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function procStartTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
}

test('--version prints the lines dockerd parses', () => {
  const r = tsrun(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^tsrun version \d+\.\d+\.\d+\n/);
  assert.match(r.stdout, /^commit: \S+$/m);
  assert.match(r.stdout, /^spec: 1\.3\.0$/m);
  assert.equal(r.stderr, '');
});

test('spec writes a config valid under the official schema, and refuses to overwrite it', (t) => {
  const dir = tempDir('spec');
  t.after(dir.cleanup);
  const r = tsrun(['spec', '--bundle', dir.path]);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(dir.path, 'config.json'), 'utf8'));
  assertOfficiallyValid('config-schema.json', config);
  assert.equal(config.ociVersion, '1.3.0');
  assert.deepEqual(config.linux.namespaces.map((n: { type: string }) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);

  const again = tsrun(['spec', '--bundle', dir.path]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /File config\.json exists\. Remove it first/);
});

test('spec --rootless maps the caller to root in a user namespace', (t) => {
  const dir = tempDir('spec-rootless');
  t.after(dir.cleanup);
  // both the option form and the =value form of a global flag are accepted
  const r = tsrun(['--root=/nonexistent-tsrun-root', 'spec', '--rootless', '-b', dir.path]);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(dir.path, 'config.json'), 'utf8'));
  assertOfficiallyValid('config-schema.json', config);
  const types = config.linux.namespaces.map((n: { type: string }) => n.type);
  assert.ok(types.includes('user'));
  assert.ok(!types.includes('network'));
  assert.deepEqual(config.linux.uidMappings, [{ containerID: 0, hostID: process.getuid?.(), size: 1 }]);
  assert.equal(config.linux.resources, undefined);
  assert.ok(!existsSync('/nonexistent-tsrun-root'), 'spec must not create the state root');
});

test('features prints a document valid under the official features schema', () => {
  const r = tsrun(['features']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assertOfficiallyValid('features-schema.json', doc);
  assert.equal(doc.ociVersionMax, '1.3.0');
});

test('state of an unknown id fails with "container does not exist" and one JSON log record', (t) => {
  const dir = tempDir('state-missing');
  t.after(dir.cleanup);
  const log = join(dir.path, 'log.json');
  const r = tsrun(['--root', join(dir.path, 'root'), '--log', log, '--log-format', 'json', 'state', 'nosuch']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'container does not exist\n');
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0] as string);
  assert.equal(rec.level, 'error');
  assert.equal(rec.msg, 'container does not exist');
  assert.match(rec.time, RFC3339);
  assert.ok(!existsSync(join(dir.path, 'root')), 'a query must not create the state root');
});

test('without --log an error is a text record on stderr', () => {
  const r = tsrun(['--root', '/nonexistent-tsrun-root', 'state', 'nosuch']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^time="[^"]+" level=error msg="container does not exist"\n$/);
});

test("commands work from a removed working directory, as runc's do (a shim may run them from a bundle dir already removed)", (t) => {
  const dir = tempDir('gone-cwd');
  t.after(dir.cleanup);
  const cwd = join(dir.path, 'bundle');
  const fromRemovedCwd = (args: string[]) => {
    mkdirSync(cwd, { recursive: true });
    // The shell removes its own working directory, then becomes tsrun there.
    return spawnSync('sh', ['-c', 'rmdir "$PWD" && exec "$@"', 'sh', TSRUN, '--root', join(dir.path, 'root'), ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  };
  const del = fromRemovedCwd(['delete', '--force', 'nosuch']);
  assert.equal(del.status, 0, del.stderr);
  assert.equal(existsSync(cwd), false);
  const state = fromRemovedCwd(['state', 'nosuch']);
  assert.equal(state.status, 1);
  assert.match(state.stderr, /msg="container does not exist"/);
});

test('invalid ids are rejected before touching the filesystem', (t) => {
  const dir = tempDir('ids');
  t.after(dir.cleanup);
  for (const id of ['..', '.', 'a/b', '../etc', 'a b', 'x'.repeat(1025)]) {
    const r = tsrun(['--root', dir.path, 'state', id]);
    assert.equal(r.code, 1, `id ${id}`);
    assert.match(r.stderr, /invalid container ID format/, `id ${id}`);
  }
  const empty = tsrun(['--root', dir.path, 'state', '']);
  assert.equal(empty.code, 1);
  assert.deepEqual(readdirSync(dir.path), []);
});

test('unknown commands and flags fail', () => {
  assert.equal(tsrun(['frobnicate']).code, 1);
  assert.equal(tsrun(['list', '--no-such-flag']).code, 1);
  assert.equal(tsrun(['--log-format', 'xml', 'list']).code, 1);
});

test('list on an empty root: table header, json null, -q nothing', (t) => {
  const dir = tempDir('list-empty');
  t.after(dir.cleanup);
  const root = join(dir.path, 'root');
  assert.equal(tsrun(['--root', root, 'list']).stdout, 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
  assert.equal(tsrun(['--root', root, 'list', '--format', 'json']).stdout, 'null\n');
  assert.equal(tsrun(['--root', root, 'list', '-q']).stdout, '');
});

test('status is derived from the live process: created, running, stopped on a recycled pid', (t) => {
  const dir = tempDir('status');
  t.after(dir.cleanup);
  const root = join(dir.path, 'root');
  const pid = process.pid;
  const make = (id: string, startTime: string, fifo: boolean) => {
    mkdirSync(join(root, id), { recursive: true });
    const record = {
      ociVersion: '1.3.0', id, pid, pidStartTime: startTime, bundle: '/b/' + id, rootfs: '/b/' + id + '/rootfs',
      created: '2026-11-22T21:53:57.243904780Z', owner: '', annotations: { 'org.example': 'yes' },
    };
    writeFileSync(join(root, id, 'state.json'), JSON.stringify(record));
    if (fifo) writeFileSync(join(root, id, 'exec.fifo'), '');
  };
  const created = uniqueId('created');
  const running = uniqueId('running');
  const stopped = uniqueId('stopped');
  make(created, procStartTime(pid), true);
  make(running, procStartTime(pid), false);
  make(stopped, String(Number(procStartTime(pid)) + 1), false);
  mkdirSync(join(root, 'half-made')); // a create in progress has no state.json yet

  const expect: Array<[string, string, number]> = [[created, 'created', pid], [running, 'running', pid], [stopped, 'stopped', 0]];
  for (const [id, status, wantPid] of expect) {
    const r = tsrun(['--root', root, 'state', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const s = JSON.parse(r.stdout);
    assert.equal(s.status, status, id);
    assert.equal(s.pid, wantPid, id);
    assert.equal(s.bundle, '/b/' + id);
    assert.deepEqual(s.annotations, { 'org.example': 'yes' });
    assertOfficiallyValid('state-schema.json', s);
  }
  const json = JSON.parse(tsrun(['--root', root, 'list', '--format', 'json']).stdout);
  assert.deepEqual(json.map((c: { id: string }) => c.id), [created, running, stopped].sort());
  assert.equal(json[0].owner, 'root');
  const table = tsrun(['--root', root, 'list']).stdout.split('\n');
  assert.match(table[0] as string, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
  assert.equal(table.length, 5);
  assert.deepEqual(tsrun(['--root', root, 'list', '-q']).stdout.split('\n').filter(Boolean), [created, running, stopped].sort());
});
