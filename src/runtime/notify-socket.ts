// sd_notify passthrough, as runc does it for podman and systemd units (notify_socket.go):
//
// - create: when NOTIFY_SOCKET is set in tsrun's environment, the container gets a directory of
//   its own, <state dir>/notify, bind-mounted read-only at /run/notify, and
//   NOTIFY_SOCKET=/run/notify/notify.sock in its environment (the host socket itself is never
//   shown to the container);
// - start (and run): tsrun binds a datagram socket at <state dir>/notify/notify.sock before it
//   releases the init, then waits for the container's first READY= datagram and forwards it to
//   the host's NOTIFY_SOCKET followed by MAINPID=<the init's host pid>, or stops waiting when the
//   init exits.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec';
import { isProcessAlive } from '../linux/proc';
import { libc } from '../linux/libc';
import { dgramSocket, recvDatagram, sendDatagram } from '../linux/unix-dgram';

export const NOTIFY_DIR_IN_CONTAINER = '/run/notify';
export const NOTIFY_SOCKET_NAME = 'notify.sock';

function hostSocket(): string | undefined {
  const v = process.env.NOTIFY_SOCKET;
  return v === undefined || v === '' ? undefined : v;
}

/**
 * create: the notify directory, its mount and the container's NOTIFY_SOCKET (spec is changed in
 * place). Returns the index of the mount in spec.mounts: the runtime makes that mount itself
 * (the state directory is 0700, out of reach of an init that is root of a user namespace only).
 */
export function setupNotifySocket(stateDir: string, spec: Spec): number | undefined {
  if (!hostSocket() || !spec.process) return undefined;
  const dir = join(stateDir, 'notify');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  spec.mounts = [...(spec.mounts ?? []), { destination: NOTIFY_DIR_IN_CONTAINER, source: dir, type: 'bind', options: ['bind', 'nosuid', 'noexec', 'nodev', 'ro'] }];
  const env = (spec.process.env ?? []).filter((e) => !e.startsWith('NOTIFY_SOCKET='));
  spec.process.env = [...env, `NOTIFY_SOCKET=${NOTIFY_DIR_IN_CONTAINER}/${NOTIFY_SOCKET_NAME}`];
  return spec.mounts.length - 1;
}

export interface NotifyRelay {
  /** Waits for READY= from the container (forwarded to the host) or for the init to exit. */
  forward(pid: number, pidStartTime: string | null | undefined): Promise<void>;
  close(): void;
}

/** start: binds the container's socket when create set one up and NOTIFY_SOCKET is set now. */
export function openNotifyRelay(stateDir: string): NotifyRelay | undefined {
  const host = hostSocket();
  const dir = join(stateDir, 'notify');
  if (!host || !existsSync(dir)) return undefined;
  const path = join(dir, NOTIFY_SOCKET_NAME);
  rmSync(path, { force: true });
  const fd = dgramSocket(path);
  chmodSync(path, 0o777); // the container's user may be anyone
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    libc().close(fd);
  };
  return {
    close,
    async forward(pid, pidStartTime) {
      try {
        for (;;) {
          for (let d = recvDatagram(fd); d !== null; d = recvDatagram(fd)) {
            const ready = d.toString('utf8').split('\n').find((l) => l.startsWith('READY='));
            if (ready !== undefined) {
              const out = dgramSocket();
              try {
                sendDatagram(out, host, Buffer.from(`${ready}\n`));
                sendDatagram(out, host, Buffer.from(`MAINPID=${pid}\n`));
              } finally {
                libc().close(out);
              }
              return;
            }
          }
          if (!isProcessAlive(pid, pidStartTime)) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        close();
      }
    },
  };
}
