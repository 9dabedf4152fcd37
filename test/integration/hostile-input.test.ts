// Hostile-bundle battery: bad input and a runtime that dies. Every case gives a clear error and
// leaves no state directory, process, cgroup or mount:
//  - malformed and schema-invalid configs, missing or odd bundles and rootfs, invalid ids for
//    every command, a duplicate id, a pid file that cannot be written;
//  - concurrent creates of one id (exactly one wins, the others leave it intact);
//  - `delete --force` while a create is under way;
//  - tsrun SIGKILLed during create, at every point of it (a sweep over the time a create takes,
//    and deterministically inside the runtime's and the init's hooks), then `delete --force`;
//  - an init whose runtime goes away after "created" but before recording it exits by itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Battery, uniqueId, waitFor } from '../helpers/hostile';
import { REPO, TSRUN } from '../helpers/tsrun';
import INIT_NODE_FLAGS from '../../scripts/init-node-flags.json';

const O_PATH = 0o10000000;

const battery = new Battery('input');
const rootfs = battery.rootfs('input');

after(async () => {
  const left = await battery.cleanup();
  assert.deepEqual(left, [], 'left behind by the input battery');
});

async function assertNothingLeft(what: string): Promise<void> {
  assert.deepEqual(await battery.settle(), [], `left behind after ${what}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

test('bad bundles: malformed JSON, schema-invalid, missing/odd config, bundle and rootfs: clear errors, nothing left', async () => {
  const good = () => battery.config(rootfs, ['true']);
  const missingBundle = join(battery.work, 'no-such-bundle');
  // config.json that is a directory
  const dirBundle = battery.bundle({});
  rmSync(join(dirBundle, 'config.json'));
  mkdirSync(join(dirBundle, 'config.json'));
  const fileRootfs = join(battery.work, 'rootfs-is-a-file');
  writeFileSync(fileRootfs, 'not a directory\n');
  const cases: Array<[string, string, RegExp]> = [
    ['malformed JSON', battery.bundle({}, '{"ociVersion": "1.3.0", "process": '), /config\.json: invalid JSON/],
    ['JSON that is not an object', battery.bundle({}, '[1, 2, 3]'), /config\.json/],
    ['a wrong type', battery.bundle({ ...good(), process: { ...good().process, args: 'true' } }), /\/process\/args: must be array/],
    ['an unknown namespace', battery.bundle({ ...good(), linux: { ...good().linux, namespaces: [{ type: 'mount' }, { type: 'bogus' }] } }), /\/linux\/namespaces\/1\/type/],
    ['a negative memory limit type', battery.bundle({ ...good(), linux: { ...good().linux, resources: { memory: { limit: 'lots' } } } }), /\/linux\/resources\/memory\/limit: must be integer/],
    ['empty args', battery.bundle({ ...good(), process: { ...good().process, args: [] } }), /args/],
    ['no mount namespace', battery.bundle({ ...good(), linux: { ...good().linux, namespaces: [{ type: 'pid' }] } }), /a mount namespace is required/],
    ['a missing rootfs', battery.bundle({ ...good(), root: { path: join(battery.work, 'no-such-rootfs') } }), /rootfs .*no-such-rootfs does not exist/],
    ['a rootfs that is a file', battery.bundle({ ...good(), root: { path: fileRootfs } }), /rootfs-is-a-file/],
    ['a missing bundle', missingBundle, /no-such-bundle/],
    ['config.json a directory', dirBundle, /config\.json/],
    ['a missing binary', battery.bundle(battery.config(rootfs, ['/no/such/binary'])), /no such file or directory/],
  ];
  for (const [what, bundle, message] of cases) {
    for (const command of ['create', 'run']) {
      const id = uniqueId('bad');
      const r = battery.rtFiles([command, '--bundle', bundle, id]);
      assert.equal(r.code, 1, `${command} with ${what} did not fail: ${r.stderr}`);
      assert.match(r.stderr, message, `${command} with ${what}`);
      assert.equal(battery.rt(['state', id]).code, 1, `state left by ${command} with ${what}`);
    }
  }
  await assertNothingLeft('bad bundles');
});

test('invalid ids are refused by every command before anything is made (nothing outside --root either)', async () => {
  const bundle = battery.bundle(battery.config(rootfs, ['true']));
  const ids = ['..', '.', '../escape', 'a/b', '/abs', 'with space', 'semi;colon', 'x'.repeat(1025), 'tab\there'];
  for (const id of ids) {
    for (const args of [['create', '--bundle', bundle], ['run', '--bundle', bundle], ['start'], ['state'], ['kill'], ['delete'], ['delete', '--force'], ['exec'], ['pause'], ['ps']]) {
      const full = args[0] === 'exec' ? [...args, id, 'true'] : [...args, id];
      const r = battery.rtFiles(full);
      assert.equal(r.code, 1, `${full.join(' ')} did not fail`);
      assert.match(r.stderr, /invalid container ID format|container id cannot be empty/, `${args[0]} ${JSON.stringify(id)}: ${r.stderr}`);
    }
  }
  assert.ok(!existsSync(join(battery.work, 'escape')) && !existsSync(join(battery.root, 'a')), 'an invalid id made a directory');
  const empty = battery.rtFiles(['create', '--bundle', bundle, '']);
  assert.equal(empty.code, 1);
  await assertNothingLeft('invalid ids');
});

test('a duplicate id is refused and the first container is untouched; a pid file that cannot be written fails create cleanly', async () => {
  const id = uniqueId('dup');
  const bundle = battery.bundle(battery.config(rootfs, ['sleep', '1000']));
  assert.equal(battery.rtFiles(['create', '--bundle', bundle, id]).code, 0);
  const first = JSON.parse(battery.rt(['state', id]).stdout);
  for (const command of ['create', 'run']) {
    const again = battery.rtFiles([command, '--bundle', bundle, id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /container with given ID already exists/);
  }
  const now = JSON.parse(battery.rt(['state', id]).stdout);
  assert.deepEqual([now.status, now.pid], ['created', first.pid]);
  assert.equal(battery.rt(['start', id]).code, 0, 'the first container still starts');
  assert.equal(battery.rt(['delete', '--force', id]).code, 0);

  // The pid file is written after the init exists: its failure must take everything down.
  const id2 = uniqueId('pidfile');
  const r = battery.rtFiles(['create', '--pid-file', join(battery.work, 'no-such-dir', 'pid'), '--bundle', bundle, id2]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no-such-dir/);
  await assertNothingLeft('a failed pid file');
});

test('concurrent creates of one id: exactly one wins, the others leave it intact', async () => {
  const id = uniqueId('race');
  const bundle = battery.bundle(battery.config(rootfs, ['sleep', '1000']));
  const N = 8;
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) => {
      const pidFile = join(battery.work, `${id}.${i}.pid`);
      const err = join(battery.work, `${id}.${i}.err`);
      const e = openSync(err, 'w');
      const child = spawn(TSRUN, ['--root', battery.root, 'create', '--pid-file', pidFile, '--bundle', bundle, id], { cwd: battery.work, stdio: ['ignore', 'ignore', e] });
      closeSync(e);
      return new Promise<{ code: number | null; stderr: string; pidFile: string }>((resolve) =>
        child.on('exit', (code) => resolve({ code, stderr: readFileSync(err, 'utf8'), pidFile })),
      );
    }),
  );
  const winners = results.filter((r) => r.code === 0);
  assert.equal(winners.length, 1, `winners: ${JSON.stringify(results)}`);
  for (const r of results.filter((x) => x.code !== 0)) assert.match(r.stderr, /container with given ID already exists/);
  const state = JSON.parse(battery.rt(['state', id]).stdout);
  assert.equal(state.status, 'created');
  assert.equal(state.pid, Number(readFileSync(winners[0]!.pidFile, 'utf8')), 'the state is the winner\'s');
  assert.deepEqual(battery.processes(), [state.pid], 'exactly one init exists');
  assert.equal(battery.rt(['start', id]).code, 0);
  assert.equal(battery.rt(['delete', '--force', id]).code, 0);
  await assertNothingLeft('concurrent creates');
});

test('delete --force while a create is under way: both finish, nothing left', async () => {
  const bundle = battery.bundle(battery.config(rootfs, ['sleep', '1000']));
  for (const delayMs of [0, 30, 60, 90, 120]) {
    const id = uniqueId('delrace');
    const create = spawn(TSRUN, ['--root', battery.root, 'create', '--bundle', bundle, id], { cwd: battery.work, stdio: 'ignore' });
    const created = new Promise<number | null>((r) => create.on('exit', (c) => r(c)));
    await sleep(delayMs);
    const d = battery.rt(['delete', '--force', id]);
    assert.equal(d.code, 0, d.stderr);
    await created;
    // A create that won the lock recorded its container: delete it too (what a client would do).
    battery.rt(['delete', '--force', id]);
    await assertNothingLeft(`delete --force ${delayMs} ms into a create`);
  }
});

interface Killed {
  afterMs: number;
  phase: string;
}

/** What a killed create had made, before `delete --force`. */
function phaseOf(id: string): string {
  const dir = join(battery.root, id);
  if (!existsSync(dir)) return 'nothing';
  const files = readdirSync(dir);
  const note = files.includes('creating.json') ? JSON.parse(readFileSync(join(dir, 'creating.json'), 'utf8')) : {};
  const parts = [files.includes('state.json') ? 'recorded' : 'half-made'];
  if (note.cgroup) parts.push('cgroup');
  if (note.pid) parts.push('init');
  if (battery.processes().length > 0) parts.push('alive');
  return parts.join('+');
}

async function killCreateAfter(bundle: string, afterMs: number, until?: () => boolean): Promise<Killed & { id: string }> {
  const id = uniqueId('kill');
  const child: ChildProcess = spawn(TSRUN, ['--root', battery.root, 'create', '--bundle', bundle, id], { cwd: battery.work, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  if (until) await waitFor('the phase to kill in', until, 15_000);
  else await sleep(afterMs);
  child.kill('SIGKILL');
  await exited;
  const phase = phaseOf(id);
  const d = battery.rt(['delete', '--force', id]);
  assert.equal(d.code, 0, `delete --force after a kill at ${afterMs} ms (${phase}): ${d.stderr}`);
  await assertNothingLeft(`create SIGKILLed at ${afterMs} ms (${phase}) then delete --force`);
  assert.equal(battery.rt(['state', id]).code, 1);
  return { id, afterMs, phase };
}

test('tsrun SIGKILLed at every point of a create, then delete --force: nothing left', async (t) => {
  const bundle = battery.bundle(battery.config(rootfs, ['sleep', '1000']));
  // How long a whole create takes here.
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const id = uniqueId('time');
    const t0 = Date.now();
    assert.equal(battery.rtFiles(['create', '--bundle', bundle, id]).code, 0);
    times.push(Date.now() - t0);
    assert.equal(battery.rt(['delete', '--force', id]).code, 0);
  }
  const total = times.sort((a, b) => a - b)[1]!;
  const step = Math.max(4, Math.round(total / 28));
  const seen: Killed[] = [];
  for (let ms = 0; ms <= total + 2 * step; ms += step) seen.push(await killCreateAfter(bundle, ms));
  const phases = new Set(seen.map((k) => k.phase));
  t.diagnostic(`create takes ~${total} ms; killed at ${seen.map((k) => `${k.afterMs}:${k.phase}`).join(' ')}`);
  // The sweep went through the create: before anything, half-made with a live init, recorded.
  assert.ok(phases.has('nothing') || [...phases].some((p) => p.startsWith('half-made')), [...phases].join(', '));
  assert.ok([...phases].some((p) => p.includes('init')), `no kill landed while the init existed: ${[...phases].join(', ')}`);
});

test('tsrun SIGKILLed while its prestart hook runs, and while the init runs createContainer hooks: nothing left', async () => {
  for (const kind of ['prestart', 'createContainer']) {
    const marker = join(battery.work, `${kind}-${uniqueId('m')}`);
    const config = battery.config(rootfs, ['sleep', '1000']);
    // The hook signals that it runs, then takes its time (it ends by itself).
    config.hooks = { [kind]: [{ path: '/bin/sh', args: ['sh', '-c', `cat > /dev/null; touch ${marker}; sleep 2`] }] };
    const k = await killCreateAfter(battery.bundle(config), 0, () => existsSync(marker));
    assert.match(k.phase, /^half-made\+cgroup\+init/, `${kind}: ${k.phase}`);
  }
});

test('an init whose runtime dies after "created" but before recording it exits by itself', async () => {
  // The runtime's side of the protocol played by this test, through the real stage and init.
  const spec = battery.config(rootfs, ['sleep', '1000']);
  delete spec.linux.cgroupsPath;
  delete (spec.linux as Record<string, unknown>).resources;
  for (const dieAt of ['hooks', 'created']) {
    // The exec fifo the init waits on for `start` once the container is recorded (fd 4).
    const fifo = join(battery.work, `fifo-${dieAt}`);
    execFileSync('mkfifo', ['-m', '0622', fifo]);
    const fifoFd = openSync(fifo, O_PATH);
    const stage = spawn(
      join(REPO, 'dist', 'tsrun-stage'),
      ['--sync', '3', '--clone', 'pid,ipc,uts,mnt,net', '--', process.execPath, ...INIT_NODE_FLAGS, join(REPO, 'dist', 'init.js'), '3'],
      { cwd: battery.work, stdio: ['ignore', 'ignore', 'ignore', 'pipe', fifoFd], env: {} },
    );
    closeSync(fifoFd);
    const sock = stage.stdio[3] as Socket;
    let buffer = '';
    sock.setEncoding('utf8').on('data', (d: string) => (buffer += d));
    const line = async (): Promise<string> => {
      await waitFor('a line from the init', () => buffer.includes('\n'));
      const i = buffer.indexOf('\n');
      const l = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      return l;
    };
    const pid = Number((await line()).replace(/^pid /, ''));
    assert.ok(pid > 0);
    try {
      sock.write('G');
      const config = {
        kind: 'init', id: `direct-${dieAt}`, bundle: battery.work, rootfs, spec, hostPid: pid, fifoFd: 4,
        preserveFds: 0, noPivot: false, noNewKeyring: true, joinCgroup: false,
      };
      sock.write(JSON.stringify(config) + '\n');
      for (;;) {
        const message = JSON.parse(await line()) as { type: string; message?: string };
        assert.notEqual(message.type, 'error', message.message);
        if (message.type === dieAt) break;
        sock.write(JSON.stringify({ type: 'continue' }) + '\n');
      }
      // The runtime "dies" here: its end of the channel closes.
      sock.destroy();
      await waitFor(`the init to exit after the runtime died at "${dieAt}"`, () => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
        } catch {
          return true;
        }
      });
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  }
  await assertNothingLeft('inits whose runtime died');
});
