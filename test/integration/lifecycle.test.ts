// Real containers through bin/tsrun: run, create/start/state/kill/delete, namespaces, exit
// codes, failures that must leave nothing behind, hooks and fd hygiene.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tsrunToFiles, uniqueId, TSRUN, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot, hostMountCount } from '../helpers/bundle';
import { waitFor } from '../helpers/wait';
import { sigIgnWithoutGlibcReserved } from '../helpers/need';

const root = stateRoot('lifecycle');
const mountsBefore = hostMountCount();

function rt(args: string[], options: Parameters<typeof tsrun>[1] = {}): Result {
  return tsrun(['--root', root, ...args], options);
}

/** create (and anything else whose container may keep the stdio) with output in files. */
function rtFiles(args: string[]): Result {
  return tsrunToFiles(['--root', root, ...args]);
}

after(() => {
  // Whatever a failing test left: kill and delete it, then check the host is clean.
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  assert.equal(hostMountCount(), mountsBefore, 'host mount table changed');
});

test('run: stdout passes through, exit status 0, state removed afterwards', () => {
  const id = uniqueId('run');
  const r = rt(['run', '--bundle', makeBundle(baseConfig(['echo', 'hello from the container'])), id]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'hello from the container\n');
  assert.ok(!existsSync(join(root, id)));
});

test('run: the exit code of the process is tsrun\'s', () => {
  const r = rt(['run', '--bundle', makeBundle(baseConfig(['sh', '-c', 'exit 42'])), uniqueId('exit')]);
  assert.equal(r.code, 42, r.stderr);
});

test('run: the container\'s stdio pipes are blocking and its signals are not ignored, whatever Node did to them in tsrun', () => {
  // tsrun's Node makes the pipes it writes to non-blocking (a flag of the shared file) and
  // ignores SIGPIPE; neither may reach the container's process.
  // (tsrun() gives tsrun pipes for its stdio)
  const script = 'for fd in 0 1 2; do grep ^flags /proc/self/fdinfo/$fd; done';
  const r = rt(['run', '--bundle', makeBundle(baseConfig(['sh', '-c', script])), uniqueId('stdio')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  for (const [fd, line] of lines.entries()) {
    const flags = parseInt(line.split(/\s+/)[1]!, 8);
    assert.equal(flags & 0o4000, 0, `fd ${fd} is O_NONBLOCK in the container: ${line}`);
  }
  // grep itself as the container's process (a shell may ignore signals of its own)
  const s = rt(['run', '--bundle', makeBundle(baseConfig(['grep', '^SigIgn', '/proc/self/status'])), uniqueId('sigign')]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(sigIgnWithoutGlibcReserved(s.stdout.split(/\s+/)[1]), 0n, s.stdout);
});

test('run: namespaces, hostname, pid 1, own network stack, pivoted root', () => {
  const script = [
    'echo "pid=$$"',
    'echo "host=$(hostname)"',
    'echo "net=$(ls /sys/class/net | tr "\\n" " ")"',
    'for n in pid net ipc uts mnt; do echo "ns_$n=$(readlink /proc/self/ns/$n)"; done',
    'echo "root=$(ls / | tr "\\n" " ")"',
    'echo "mounts=$(grep -c . /proc/self/mountinfo)"',
  ].join('; ');
  const r = rt(['run', '--bundle', makeBundle(baseConfig(['sh', '-c', script])), uniqueId('ns')]);
  assert.equal(r.code, 0, r.stderr);
  const out = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(out.pid, '1');
  assert.equal(out.host, 'tsrun-demo');
  assert.equal(out.net?.trim(), 'lo');
  for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt']) {
    assert.match(out[`ns_${ns}`] ?? '', /^\w+:\[\d+\]$/);
    assert.notEqual(out[`ns_${ns}`], readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace is the host's`);
  }
  assert.match(out.root ?? '', /\bbin\b/);
  assert.doesNotMatch(out.root ?? '', /oldroot|\.pivot/);
});

test('create → start → kill → delete, with states and a pid file', async () => {
  const id = uniqueId('cycle');
  const bundle = makeBundle(baseConfig(['sleep', '1000']));
  const pidFile = join(bundle, 'init.pid');
  const c = rtFiles(['create', '--bundle', bundle, '--pid-file', pidFile, id]);
  assert.equal(c.code, 0, c.stderr);
  const pidText = readFileSync(pidFile, 'utf8');
  assert.match(pidText, /^\d+$/, 'pid file is digits without a newline');
  const pid = Number(pidText);

  let state = JSON.parse(rt(['state', id]).stdout);
  assert.equal(state.status, 'created');
  assert.equal(state.pid, pid);
  assert.equal(state.bundle, bundle);
  // The user process has not started: the init is still tsrun's, not sleep.
  assert.doesNotMatch(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /sleep/);

  const s = rtFiles(['start', id]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout, '');
  state = JSON.parse(rt(['state', id]).stdout);
  assert.equal(state.status, 'running');
  await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));

  assert.equal(rt(['start', id]).code, 1, 'a second start fails');
  const del = rt(['delete', id]);
  assert.equal(del.code, 1);
  assert.match(del.stderr, /cannot delete container .* that is not stopped: running/);

  assert.equal(rt(['kill', id, 'KILL']).code, 0);
  await waitFor(() => JSON.parse(rt(['state', id]).stdout).status === 'stopped');
  assert.equal(JSON.parse(rt(['state', id]).stdout).pid, 0);
  const k = rt(['kill', id, '15']);
  assert.equal(k.code, 1);
  assert.match(k.stderr, /container not running/);
  assert.equal(rt(['delete', id]).code, 0);
  const gone = rt(['state', id]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /container does not exist/);
});

test('run in the foreground: a SIGKILLed container exits 137; signals are forwarded', async () => {
  const id = uniqueId('sig');
  const child = spawn(TSRUN, ['--root', root, 'run', '--bundle', makeBundle(baseConfig(['sleep', '1000'])), id], { stdio: 'ignore' });
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  await waitFor(() => existsSync(join(root, id, 'state.json')) && JSON.parse(rt(['state', id]).stdout).status === 'running');
  assert.equal(rt(['kill', id, '9']).code, 0);
  assert.equal(await code, 137);

  // SIGTERM to tsrun run is forwarded; a shell trapping it exits with its own code.
  const id2 = uniqueId('fwd');
  const child2 = spawn(TSRUN, ['--root', root, 'run', '--bundle', makeBundle(baseConfig(['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done'])), id2], { stdio: 'ignore' });
  const code2 = new Promise<number | null>((resolve) => child2.on('exit', (c) => resolve(c)));
  await waitFor(() => existsSync(join(root, id2, 'state.json')) && JSON.parse(rt(['state', id2]).stdout).status === 'running');
  child2.kill('SIGTERM');
  assert.equal(await code2, 7);
});

test('a schema-invalid config is refused naming the path, and leaves no state', () => {
  const config = baseConfig(['true']);
  config.linux.resources = { memory: { limit: 'lots' } };
  const id = uniqueId('invalid');
  const r = rt(['create', '--bundle', makeBundle(config), id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /config\.json: \/linux\/resources\/memory\/limit: must be integer/);
  assert.ok(!existsSync(join(root, id)));
});

test('bad bundles: malformed JSON, missing rootfs, missing binary: clear errors, nothing left', () => {
  const malformed = makeBundle({});
  writeFileSync(join(malformed, 'config.json'), '{"ociVersion": ');
  const cases: Array<[string, RegExp]> = [
    [malformed, /config\.json: invalid JSON/],
    [makeBundle({ ...baseConfig(['true']), root: { path: '/nonexistent-rootfs' } }), /rootfs \/nonexistent-rootfs does not exist/],
    [makeBundle(baseConfig(['/no/such/binary'])), /exec: "\/no\/such\/binary": stat \/no\/such\/binary: no such file or directory/],
    [makeBundle(baseConfig(['nosuchcommand'])), /exec: "nosuchcommand": executable file not found in \$PATH/],
  ];
  const log = join(stateRoot('bad'), 'log.json');
  for (const [bundle, message] of cases) {
    const id = uniqueId('bad');
    writeFileSync(log, '');
    const r = rt(['--log', log, '--log-format', 'json', 'create', '--bundle', bundle, id]);
    assert.equal(r.code, 1, bundle);
    assert.match(r.stderr, message, 'the plain message on stderr');
    assert.match(JSON.parse(readFileSync(log, 'utf8')).msg, message, 'the message in the log record');
    assert.ok(!existsSync(join(root, id)), `state left for ${bundle}`);
  }
});

test('a duplicate id is refused and the first container is untouched', () => {
  const id = uniqueId('dup');
  const bundle = makeBundle(baseConfig(['sleep', '1000']));
  assert.equal(rtFiles(['create', '--bundle', bundle, id]).code, 0);
  const again = rtFiles(['create', '--bundle', bundle, id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /container with given ID already exists/);
  assert.equal(JSON.parse(rt(['state', id]).stdout).status, 'created');
  assert.equal(rt(['delete', '--force', id]).code, 0);
});

test('delete of an unknown id: an error, except with --force', () => {
  const r = rt(['delete', 'nosuch']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /container does not exist/);
  assert.equal(rt(['delete', '--force', 'nosuch']).code, 0);
});

test('delete --force of a created container kills its init', async () => {
  const id = uniqueId('forcecreated');
  assert.equal(rtFiles(['create', '--bundle', makeBundle(baseConfig(['sleep', '1000'])), id]).code, 0);
  const pid = JSON.parse(rt(['state', id]).stdout).pid as number;
  assert.equal(rt(['delete', '--force', id]).code, 0);
  await waitFor(() => !isAlive(pid));
});

test('no fd of the caller leaks into the container; --preserve-fds passes exactly the ones asked for', () => {
  const file = join(stateRoot('fds'), 'secret');
  writeFileSync(file, 'preserved-content\n');
  const fd = openSync(file, 'r');
  try {
    const check = 'for f in 3 4 5; do [ -e /proc/self/fd/$f ] && echo "open $f"; done; echo done';
    const leak = rt(['run', '--bundle', makeBundle(baseConfig(['sh', '-c', check])), uniqueId('leak')], { stdio: ['ignore', 'pipe', 'pipe', fd, fd, fd] });
    assert.equal(leak.code, 0, leak.stderr);
    assert.equal(leak.stdout, 'done\n');
    const kept = rt(
      ['run', '--preserve-fds', '1', '--bundle', makeBundle(baseConfig(['sh', '-c', 'cat <&3; [ -e /proc/self/fd/4 ] && echo leak4; echo done'])), uniqueId('keep')],
      { stdio: ['ignore', 'pipe', 'pipe', fd, fd] },
    );
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout, 'preserved-content\ndone\n');
  } finally {
    closeSync(fd);
  }
});

test('a user namespace with mappings: root inside, an unprivileged uid outside', () => {
  const config = baseConfig(['sh', '-c', 'id -u; cat /proc/self/uid_map; cat /proc/self/status | grep ^Uid']);
  (config.linux.namespaces as Array<{ type: string }>).push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const r = rt(['run', '--bundle', makeBundle(config), uniqueId('userns')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], '0');
  assert.match(lines[1] ?? '', /^\s*0\s+100000\s+65536$/);
});

test('hooks: prestart and createRuntime get the state on stdin; poststop runs at delete; a failing hook fails create', () => {
  const dir = stateRoot('hooks');
  const id = uniqueId('hooks');
  const config = baseConfig(['true']);
  const record = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${join(dir, name)}`] });
  (config as Record<string, unknown>).hooks = {
    prestart: [record('prestart.json')],
    createRuntime: [record('createRuntime.json')],
    poststop: [record('poststop.json')],
  };
  const r = rt(['run', '--bundle', makeBundle(config), id]);
  assert.equal(r.code, 0, r.stderr);
  for (const [name, status] of [['prestart', 'creating'], ['createRuntime', 'creating'], ['poststop', 'stopped']]) {
    const state = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    assert.equal(state.id, id, name);
    assert.equal(state.status, status, name);
    if (status !== 'stopped') assert.ok(state.pid > 0, name);
  }

  const failing = baseConfig(['true']);
  (failing as Record<string, unknown>).hooks = { prestart: [{ path: '/bin/false' }] };
  const id2 = uniqueId('hookfail');
  const f = rt(['create', '--bundle', makeBundle(failing), id2]);
  assert.equal(f.code, 1);
  assert.match(f.stderr, /error running prestart hook #0/);
  assert.ok(!existsSync(join(root, id2)));
});

test('--log json: a failing create writes exactly one error record', () => {
  const log = join(stateRoot('log'), 'log.json');
  const r = rt(['--log', log, '--log-format', 'json', 'create', '--bundle', makeBundle(baseConfig(['/no/such/binary'])), uniqueId('log')]);
  assert.equal(r.code, 1);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0] as string);
  assert.equal(rec.level, 'error');
  assert.match(rec.msg, /no such file or directory/);
});

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}


test('exec joins every namespace of a running container; exit codes, --process, --detach, errors', async () => {
  const id = uniqueId('exec');
  const config = baseConfig(['sleep', '1000']);
  (config.linux.namespaces as Array<{ type: string }>).push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(config), id]).code, 0);
  const initPid = JSON.parse(rt(['state', id]).stdout).pid as number;

  const nsScript = 'for n in pid net ipc uts mnt user; do readlink /proc/self/ns/$n; done; hostname; id -u';
  const r = rt(['exec', id, 'sh', '-c', nsScript]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  ['pid', 'net', 'ipc', 'uts', 'mnt', 'user'].forEach((ns, i) => {
    assert.equal(lines[i], readlinkSync(`/proc/${initPid}/ns/${ns}`), `exec'd process is in the container's ${ns} namespace`);
  });
  assert.equal(lines[6], 'tsrun-demo');
  assert.equal(lines[7], '0');

  // options after the container id belong to the command
  assert.equal(rt(['exec', id, 'ls', '-d', '/proc']).stdout, '/proc\n');
  assert.equal(rt(['exec', id, 'sh', '-c', 'exit 5']).code, 5);
  const env = rt(['exec', '-e', 'FOO=bar', '--cwd', '/tmp', id, 'sh', '-c', 'echo $FOO $(pwd)']);
  assert.equal(env.stdout, 'bar /tmp\n');

  const dir = stateRoot('exec');
  const processFile = join(dir, 'process.json');
  writeFileSync(processFile, JSON.stringify({ args: ['sh', '-c', 'echo from-process-file; id -u'], cwd: '/', user: { uid: 1000, gid: 1000 }, env: ['PATH=/bin'] }));
  const pf = rt(['exec', '--process', processFile, id]);
  assert.equal(pf.code, 0, pf.stderr);
  assert.equal(pf.stdout, 'from-process-file\n1000\n');

  const pidFile = join(dir, 'exec.pid');
  const d = rtFiles(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '1000']);
  assert.equal(d.code, 0, d.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  // exec returns once the process is set up; its execve may still be under way (an empty
  // cmdline for a moment), so wait for it.
  const cmdline = () => {
    try {
      return readFileSync(`/proc/${execPid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  };
  await waitFor(() => /^sleep/.test(cmdline()));
  assert.match(cmdline(), /^sleep/);
  // kill --all reaches the exec'd process too
  assert.equal(rt(['kill', '--all', id, 'KILL']).code, 0);
  await waitFor(() => !isAlive(execPid) && !isAlive(initPid));

  const missing = rt(['exec', id, 'true']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot exec in a stopped container/);
  assert.equal(rt(['delete', id]).code, 0);
});

test('exec of a missing binary fails with runc\'s wording and starts nothing', () => {
  const id = uniqueId('execmissing');
  assert.equal(rtFiles(['run', '--detach', '--bundle', makeBundle(baseConfig(['sleep', '1000'])), id]).code, 0);
  const r = rt(['exec', id, '/no/such/binary']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /exec: \\"\/no\/such\/binary\\": stat \/no\/such\/binary: no such file or directory/);
  assert.equal(rt(['delete', '--force', id]).code, 0);
});

test('each container joins a session keyring of its own, unless --no-new-keyring', () => {
  const config = baseConfig(['sh', '-c', 'grep -o "keyring *_ses\\.[^:]*" /proc/keys || echo none']);
  config.linux.maskedPaths = []; // /proc/keys is masked by default
  const id = uniqueId('keyring');
  const own = rt(['run', '--bundle', makeBundle(config), id]);
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stdout, new RegExp(`^keyring +_ses\\.${id}$`, 'm'));
  const id2 = uniqueId('nokeyring');
  const shared = rt(['run', '--no-new-keyring', '--bundle', makeBundle(config), id2]);
  assert.equal(shared.code, 0, shared.stderr);
  assert.ok(!shared.stdout.includes(`_ses.${id2}`), shared.stdout);
});
