// sd_notify passthrough (NOTIFY_SOCKET) and LISTEN_FDS socket activation, as runc does them,
// checked from both sides: what the container sees and what the host socket receives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tsrunToFiles, tempDir, uniqueId, TSRUN, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot } from '../helpers/bundle';
import { dgramSocket, recvDatagram } from '../../src/linux/unix-dgram';

const root = stateRoot('oci13-activation');
const rt = (args: string[], env: NodeJS.ProcessEnv = process.env): Result => tsrun(['--root', root, ...args], { env });
const tmp = tempDir('activation');

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  tmp.cleanup();
});

/** A static sd_notify client for the busybox container: sends argv[1] to $NOTIFY_SOCKET. */
function notifyTool(): string {
  const dir = join(tmp.path, 'tools');
  if (existsSync(join(dir, 'sdnotify'))) return dir;
  mkdirSync(dir, { recursive: true });
  const src = join(tmp.path, 'sdnotify.c');
  writeFileSync(src, `#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  const char *p = getenv("NOTIFY_SOCKET");
  if (!p || argc < 2) return 2;
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, p, sizeof a.sun_path - 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  return sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof a) < 0 ? 1 : 0;
}
`);
  execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'sdnotify'), src]);
  return dir;
}

/** A host NOTIFY_SOCKET (an AF_UNIX datagram socket through tsrun's libc layer: node:dgram has none). */
function hostListener(path: string): { read: () => string[]; close: () => void } {
  const fd = dgramSocket(path);
  return {
    read: () => {
      const out: string[] = [];
      for (let d = recvDatagram(fd); d !== null; d = recvDatagram(fd)) out.push(d.toString('utf8'));
      return out;
    },
    close: () => closeSync(fd),
  };
}

test('NOTIFY_SOCKET: the container notifies through /run/notify/notify.sock; start forwards READY=1 and MAINPID', () => {
  const tools = notifyTool();
  const hostSock = join(tmp.path, 'host-notify.sock');
  const listener = hostListener(hostSock);
  const env = { ...process.env, NOTIFY_SOCKET: hostSock };
  const config = baseConfig(['sh', '-c', 'echo "$NOTIFY_SOCKET" > /dev/shm/seen 2>/dev/null; sleep 0.3; /opt/tools/sdnotify "READY=1" || echo notify-failed; exec sleep 1000']);
  (config.mounts as unknown[]).push({ destination: '/opt/tools', source: tools, type: 'bind', options: ['bind', 'ro'] });
  const id = uniqueId('notify');
  const c = tsrunToFiles(['--root', root, 'create', '--bundle', makeBundle(config), id], { env });
  assert.equal(c.code, 0, c.stderr);
  try {
    const state = JSON.parse(rt(['state', id]).stdout);
    const s = rt(['start', id], env);
    assert.equal(s.code, 0, s.stderr);
    // start returned: READY has been forwarded (the datagrams wait in the socket's queue)
    assert.deepEqual(listener.read(), ['READY=1\n', `MAINPID=${state.pid}\n`]);
    const inside = rt(['exec', id, 'sh', '-c', 'grep " /run/notify " /proc/self/mountinfo | grep -c " ro,"; ls /run/notify; tr "\\0" "\\n" < /proc/1/environ | grep NOTIFY_SOCKET']);
    assert.equal(inside.code, 0, inside.stderr);
    assert.deepEqual(inside.stdout.trim().split('\n'), ['1', 'notify.sock', 'NOTIFY_SOCKET=/run/notify/notify.sock']);
    assert.ok(!inside.stdout.includes(hostSock), 'the host socket path is not shown to the container');
  } finally {
    listener.close();
    rt(['delete', '--force', id]);
  }
});

test('NOTIFY_SOCKET: a user namespace container notifies too, through `run` (the runtime makes the mount)', () => {
  const tools = notifyTool();
  chmodSync(tmp.path, 0o755); // the tool's directory is bound by the init, root of a user namespace only
  const hostSock = join(tmp.path, 'host-notify-userns.sock');
  const listener = hostListener(hostSock);
  try {
    const config = baseConfig(['sh', '-c', '/run/tools/sdnotify "READY=1" && echo sent; stat -c "%U %A" /run/notify/notify.sock']);
    (config.linux.namespaces as Array<{ type: string }>).push({ type: 'user' });
    config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    // The shared rootfs belongs to the host's root: mount points go in a tmpfs of the container's.
    (config.mounts as unknown[]).push(
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
      { destination: '/run/tools', source: tools, type: 'bind', options: ['bind', 'ro'] },
    );
    const r = rt(['run', '--bundle', makeBundle(config), uniqueId('notify-userns')], { ...process.env, NOTIFY_SOCKET: hostSock });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['sent', 'nobody srwxrwxrwx']);
    const got = listener.read();
    assert.equal(got[0], 'READY=1\n');
    assert.match(got[1] ?? '', /^MAINPID=\d+\n$/);
  } finally {
    listener.close();
  }
});

test('NOTIFY_SOCKET: start does not hang when the container exits without READY', () => {
  const hostSock = join(tmp.path, 'host-notify-2.sock');
  const env = { ...process.env, NOTIFY_SOCKET: hostSock };
  const id = uniqueId('notify-exit');
  const c = tsrunToFiles(['--root', root, 'create', '--bundle', makeBundle(baseConfig(['sh', '-c', 'sleep 0.2'])), id], { env });
  assert.equal(c.code, 0, c.stderr);
  const t0 = Date.now();
  const s = rt(['start', id], env);
  assert.equal(s.code, 0, s.stderr);
  assert.ok(Date.now() - t0 < 10_000);
  rt(['delete', '--force', id]);
});

test('LISTEN_FDS: activation fds come first, then --preserve-fds; LISTEN_FDS/LISTEN_PID=1 in the env', () => {
  for (const [n, text] of [['a', 'one'], ['b', 'two'], ['c', 'three']]) writeFileSync(join(tmp.path, `fd-${n}`), text);
  const script = 'echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; echo; cat <&4; echo; cat <&5; echo; [ -e /proc/self/fd/6 ] && echo extra-fd-6; true';
  const bundle = makeBundle(baseConfig(['sh', '-c', script]));
  const run = (listenPid: string, id: string): Result => {
    const cmd = `exec 3<"$D/fd-a" 4<"$D/fd-b" 5<"$D/fd-c" 6<"$D/fd-c"; LISTEN_PID=${listenPid} LISTEN_FDS=2 exec "$TSRUN" --root "$ROOT" run --preserve-fds 1 --bundle "$B" ${id}`;
    const r = execFileSyncResult('sh', ['-c', cmd], { ...process.env, D: tmp.path, TSRUN, ROOT: root, B: bundle });
    return r;
  };
  const ok = run('$$', uniqueId('listen'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.stdout.trim().split('\n'), ['2 1', 'one', 'two', 'three']);
  // LISTEN_PID not tsrun's: not tsrun's fds to pass on (go-systemd's rule); only --preserve-fds 1.
  const other = run('1', uniqueId('listen-no'));
  assert.equal(other.stdout.split('\n')[0], ' ');
  assert.match(other.stdout, /^ \none\n/);
  assert.doesNotMatch(other.stdout, /two/);
});

function execFileSyncResult(file: string, args: string[], env: NodeJS.ProcessEnv): Result {
  try {
    const stdout = execFileSync(file, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return { code: 0, signal: null, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };
    return { code: e.status, signal: e.signal, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}
