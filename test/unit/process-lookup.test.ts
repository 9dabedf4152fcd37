// resolveExecutable / checkCwd against a temporary directory tree standing in for the
// container's root: runc's lookup rules and its exact error texts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Process } from '../../src/spec';
import { checkCwd, resolveExecutable } from '../../src/init/process';
import { goQuote } from '../../src/init/process/errors';

let root = '';

function file(path: string, mode: number): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, '#!/bin/sh\n');
  chmodSync(p, mode);
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-test-lookup-'));
  file('bin/sh', 0o755);
  file('bin/noexec', 0o644);
  file('bin/onlyowner', 0o700);
  file('usr/bin/tool', 0o755);
  file('usr/local/bin/tool', 0o755);
  file('usr/bin/plain', 0o644);
  file('work/sub/app', 0o755);
  file('work/rel/relapp', 0o755);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/bin/adir'), { recursive: true });
  symlinkSync('sh', join(root, 'bin/ash'));
  symlinkSync('missing-target', join(root, 'bin/dangling'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

function proc(args: string[], env: string[] = ['PATH=/usr/local/bin:/usr/bin:/bin'], cwd = '/'): Process {
  return { args, env, cwd };
}

function rejects(p: Process, message: string): void {
  assert.throws(() => resolveExecutable(p, root), (e: Error) => {
    assert.equal(e.message, message);
    return true;
  });
}

test('a bare name is searched in PATH, first directory first', () => {
  assert.equal(resolveExecutable(proc(['sh']), root), '/bin/sh');
  assert.equal(resolveExecutable(proc(['tool']), root), '/usr/local/bin/tool');
  assert.equal(resolveExecutable(proc(['tool'], ['PATH=/usr/bin:/usr/local/bin']), root), '/usr/bin/tool');
});

test('the last PATH entry of the environment wins', () => {
  assert.equal(resolveExecutable(proc(['tool'], ['PATH=/usr/local/bin', 'A=1', 'PATH=/usr/bin']), root), '/usr/bin/tool');
});

test('symlinks are followed; a symlinked program keeps the name it was found under', () => {
  assert.equal(resolveExecutable(proc(['ash']), root), '/bin/ash');
  rejects(proc(['/bin/dangling']), 'exec: "/bin/dangling": stat /bin/dangling: no such file or directory');
});

test('a missing absolute path: runc\'s stat error', () => {
  rejects(proc(['/no/such/binary']), 'exec: "/no/such/binary": stat /no/such/binary: no such file or directory');
  rejects(proc(['/bin/sh/x']), 'exec: "/bin/sh/x": stat /bin/sh/x: not a directory');
});

test('a bare name not in PATH', () => {
  rejects(proc(['nosuch']), 'exec: "nosuch": executable file not found in $PATH');
});

test('no PATH in the environment: a bare name is not found (runc has no default PATH)', () => {
  rejects(proc(['sh'], ['TERM=xterm']), 'exec: "sh": executable file not found in $PATH');
  rejects(proc(['sh'], []), 'exec: "sh": executable file not found in $PATH');
  rejects({ args: ['sh'], cwd: '/' }, 'exec: "sh": executable file not found in $PATH');
  // ...but a path still works
  assert.equal(resolveExecutable(proc(['/bin/sh'], []), root), '/bin/sh');
});

test('a directory or a file without an x bit: permission denied', () => {
  rejects(proc(['/etc']), 'exec: "/etc": permission denied');
  rejects(proc(['/bin/noexec']), 'exec: "/bin/noexec": permission denied');
  // any x bit will do (the exec itself decides for other users)
  assert.equal(resolveExecutable(proc(['/bin/onlyowner']), root), '/bin/onlyowner');
});

test('in a PATH search, directories and non-executables are skipped', () => {
  rejects(proc(['adir']), 'exec: "adir": executable file not found in $PATH');
  rejects(proc(['plain']), 'exec: "plain": executable file not found in $PATH');
  rejects(proc(['etc'], ['PATH=/']), 'exec: "etc": executable file not found in $PATH');
});

test('a relative path with a slash is taken from cwd and returned as given', () => {
  assert.equal(resolveExecutable(proc(['./app'], [], '/work/sub'), root), './app');
  assert.equal(resolveExecutable(proc(['sub/app'], [], '/work'), root), 'sub/app');
  rejects(proc(['./nope'], [], '/work/sub'), 'exec: "./nope": stat ./nope: no such file or directory');
});

test('a program found through a relative PATH entry is refused (Go ErrDot)', () => {
  rejects(proc(['relapp'], ['PATH=rel'], '/work'), 'exec: "relapp": cannot run executable found relative to current directory');
  rejects(proc(['app'], ['PATH=/nothing::/bin'], '/work/sub'), 'exec: "app": cannot run executable found relative to current directory');
});

test('cwd must exist and be a directory: runc\'s chdir message', () => {
  rejects(proc(['/bin/sh'], [], '/nope'), 'chdir to cwd ("/nope") set in config.json failed: no such file or directory');
  rejects(proc(['/bin/sh'], [], '/bin/sh'), 'chdir to cwd ("/bin/sh") set in config.json failed: not a directory');
  assert.throws(() => checkCwd(proc(['x'], [], 'relative/dir'), root), /cwd property must be an absolute path/);
  checkCwd(proc(['x'], [], '/work/sub'), root);
});

test('cwd is checked before the program, as runc chdirs before looking it up', () => {
  rejects(proc(['nosuch'], [], '/nope'), 'chdir to cwd ("/nope") set in config.json failed: no such file or directory');
});

test('empty args or no process', () => {
  rejects(proc([]), 'args must not be empty');
  rejects({ cwd: '/' }, 'args must not be empty');
  assert.throws(() => resolveExecutable(undefined, root), /a container needs a process/);
});

test('names are quoted like Go\'s %q', () => {
  rejects(proc(['no"such\tthing\n\x01']), 'exec: "no\\"such\\tthing\\n\\x01": executable file not found in $PATH');
  assert.equal(goQuote('plain/päth'), '"plain/päth"');
  assert.equal(goQuote('back\\slash'), '"back\\\\slash"');
});

test('the real root: /bin/sh on this host resolves through PATH', () => {
  const found = resolveExecutable({ args: ['sh'], env: ['PATH=/usr/bin:/bin'], cwd: '/' });
  assert.ok(found === '/usr/bin/sh' || found === '/bin/sh', found);
});
