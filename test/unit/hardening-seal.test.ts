// src/runtime/seal.ts: the sealed, read-only views of Node and the stage that containers get to
// see instead of the host files (CVE-2019-5736). Real system calls (root): the overlay view is
// the same inode, cannot be opened for writing, runs, and costs well under a millisecond; the
// memfd fallback is a faithful copy that refuses writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, readlinkSync, realpathSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { linux } from '../../src/linux/syscalls';
import { escapeLowerDir, execPathOf, memfdCopy, overlayOpen, sealedExecutable } from '../../src/runtime/seal';
import { REPO } from '../helpers/tsrun';
import { need } from '../helpers/need';

const NODE = realpathSync(process.execPath);
const STAGE = join(REPO, 'dist', 'tsrun-stage');

test('overlayfs lowerdir escaping: ":", "," and "\\\\"', () => {
  assert.equal(escapeLowerDir('/usr/bin'), '/usr/bin');
  assert.equal(escapeLowerDir('/a:b,c\\d'), '/a\\:b\\,c\\\\d');
});

test('the overlay view of node: the same file, read-only (EROFS), runnable; /proc/self/exe is not the host path', () => {
  need(process.getuid?.() === 0, 'root');
  const sys = linux();
  const t0 = process.hrtime.bigint();
  const fd = overlayOpen(sys, NODE, join(REPO, 'dist'));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const seen = statSync(`/proc/self/fd/${fd}`);
    const real = statSync(NODE);
    assert.equal(seen.ino, real.ino);
    assert.equal(seen.size, real.size);
    assert.notEqual(seen.dev, real.dev, 'a different device: the overlay, not the host file');
    assert.throws(() => openSync(`/proc/self/fd/${fd}`, 'r+'), { code: 'EROFS' });
    assert.throws(() => openSync(`/proc/self/fd/${fd}`, 'a'), { code: 'EROFS' });
    const r = spawnSync(`/proc/self/fd/${fd}`, ['-e', 'process.stdout.write(require("fs").readlinkSync("/proc/self/exe"))'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(r.stdout, NODE);
    assert.ok(ms < 50, `an overlay took ${ms} ms`);
  } finally {
    closeSync(fd);
  }
});

test('sealedExecutable: once per process, overlay first; execPathOf gives a /proc/self/fd path', () => {
  need(process.getuid?.() === 0, 'root');
  const sys = linux();
  const a = sealedExecutable(sys, STAGE, [NODE]);
  assert.equal(a.how, 'overlay');
  assert.equal(sealedExecutable(sys, STAGE, [NODE]), a, 'cached');
  assert.equal(execPathOf(a), `/proc/self/fd/${a.fd}`);
  assert.equal(readlinkSync(execPathOf(a)), '/tsrun-stage', 'the path inside the detached overlay');
  assert.equal(execPathOf({ path: '/x', how: 'path' }), '/x');
});

test('the memfd fallback: a sealed copy (same bytes, writes refused)', () => {
  need(process.getuid?.() === 0, 'root');
  const sys = linux();
  const fd = memfdCopy(sys, STAGE);
  try {
    const path = `/proc/self/fd/${fd}`;
    assert.deepEqual(readFileSync(path), readFileSync(STAGE));
    assert.match(readlinkSync(path), /^\/memfd:tsrun-stage/);
    // Reopening for writing is possible (a memfd has no mount to be read-only) but F_SEAL_WRITE refuses the write.
    const w = openSync(path, 'r+');
    try {
      assert.throws(() => writeSync(w, 'x'), { code: 'EPERM' });
    } finally {
      closeSync(w);
    }
    const r = spawnSync(path, ['--sync', '9', '--', '/bin/true'], { encoding: 'utf8' });
    assert.equal(r.status, 2, 'the copy runs (a usage error: fd 9 is not open)');
  } finally {
    closeSync(fd);
  }
});
