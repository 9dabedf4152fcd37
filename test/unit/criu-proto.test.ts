// The protobuf codec of criu's RPC messages, and the quoting of criu's log in errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFields, decodeResponse, encodeRequest, ReqType, CgMode } from '../../src/runtime/criu-proto';
import { quoteLogErrors, withLog } from '../../src/runtime/criu';

test('encodeRequest: the wire bytes of a small request, field by field', () => {
  // type=DUMP, opts{images_dir_fd=5, log_file="d"}, notify_success=true
  const bytes = encodeRequest({ type: ReqType.DUMP, opts: { imagesDirFd: 5, logFile: 'd' }, notifySuccess: true });
  assert.deepEqual([...bytes], [0x08, 0x01, 0x12, 0x05, 0x08, 0x05, 0x52, 0x01, 0x64, 0x18, 0x01]);
});

test('encodeRequest: large field numbers, big varints, repeated and nested fields', () => {
  const bytes = encodeRequest({
    type: ReqType.RESTORE,
    opts: {
      imagesDirFd: 3,
      emptyNs: 0x40000000,
      manageCgroupsMode: CgMode.SOFT,
      extMnt: [{ key: '/data', val: '/host/data' }, { key: '/dev/null', val: '/dev/null' }],
      inheritFd: [{ key: 'pipe:[12]', fd: 1 }],
      external: ['net[4026531840]:extRootNetNS'],
      cgRoot: [{ path: '/c1' }, { ctrl: 'memory', path: '/m' }],
      orphanPtsMaster: true,
    },
  });
  const req = decodeFields(bytes);
  assert.equal(req.get(1)?.[0], 2n);
  const opts = decodeFields(req.get(2)?.[0] as Buffer);
  assert.equal(opts.get(1)?.[0], 3n);
  assert.equal(opts.get(38)?.[0], 0x40000000n);
  assert.equal(opts.get(34)?.[0], 3n);
  assert.equal(opts.get(50)?.[0], 1n);
  const mounts = (opts.get(23) ?? []).map((b) => decodeFields(b as Buffer));
  assert.deepEqual(mounts.map((m) => [String(m.get(1)?.[0]), String(m.get(2)?.[0])]), [['/data', '/host/data'], ['/dev/null', '/dev/null']]);
  const inherit = decodeFields(opts.get(27)?.[0] as Buffer);
  assert.equal(String(inherit.get(1)?.[0]), 'pipe:[12]');
  assert.equal(inherit.get(2)?.[0], 1n);
  assert.equal(String(opts.get(37)?.[0]), 'net[4026531840]:extRootNetNS');
  const roots = (opts.get(25) ?? []).map((b) => decodeFields(b as Buffer));
  assert.equal(roots[0]?.has(1), false, 'no controller: the global cgroup root');
  assert.equal(String(roots[1]?.get(1)?.[0]), 'memory');
});

test('decodeResponse: a notification, a restore answer and a failure with a negative errno', () => {
  // type=NOTIFY success=true notify{script="post-restore" pid=42}
  const script = Buffer.from('post-restore');
  const notify = Buffer.concat([Buffer.from([0x0a, script.length]), script, Buffer.from([0x10, 42])]);
  const n = decodeResponse(Buffer.concat([Buffer.from([0x08, 0x06, 0x10, 0x01, 0x2a, notify.length]), notify]));
  assert.deepEqual(n, { type: ReqType.NOTIFY, success: true, notify: { script: 'post-restore', pid: 42 } });

  // type=RESTORE success=true restore{pid=300}
  const r = decodeResponse(Buffer.from([0x08, 0x02, 0x10, 0x01, 0x22, 0x03, 0x08, 0xac, 0x02]));
  assert.equal(r.restorePid, 300);

  // type=DUMP success=false cr_errno=-1 (ten bytes), cr_errmsg="x"
  const f = decodeResponse(Buffer.from([0x08, 0x01, 0x10, 0x00, 0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x4a, 0x01, 0x78]));
  assert.equal(f.success, false);
  assert.equal(f.crErrno, -1);
  assert.equal(f.crErrmsg, 'x');
  assert.throws(() => decodeResponse(Buffer.from([0x08])), /truncated varint/);
  assert.throws(() => decodeResponse(Buffer.from([0x10, 0x01])), /no type/);
});

test('quoteLogErrors: each Error line with up to 5 lines before it, gaps marked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-criu-log-'));
  try {
    const log = join(dir, 'dump.log');
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    lines[2] = 'Error (criu/a.c:1): first';
    lines[15] = 'Error (criu/b.c:2): second';
    writeFileSync(log, lines.join('\n'));
    assert.deepEqual(quoteLogErrors(log), [
      '1: line 1', '2: line 2', '3: Error (criu/a.c:1): first',
      '...',
      '11: line 11', '12: line 12', '13: line 13', '14: line 14', '15: line 15', '16: Error (criu/b.c:2): second',
    ]);
    assert.match(withLog('criu DUMP failed', log), /^criu DUMP failed; from criu's log .*dump\.log:\n1: line 1\n/);
    assert.equal(quoteLogErrors(join(dir, 'none.log')), null);
    assert.match(withLog('criu DUMP failed', join(dir, 'none.log')), /could not be read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
