// AF_UNIX datagram sockets (node:dgram has none): what the sd_notify relay needs. Declared on
// libc through koffi next to libc.ts's own functions; every error names the call and the path.
import { errnoError } from './errors';
import { libc } from './libc';
import { socketCalls } from './socket-calls';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;


/** struct sockaddr_un for a path ("@name" is an abstract address, as systemd writes it). */
export function unixAddress(path: string): Buffer {
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  if (name.length >= 108) throw new Error(`unix socket path too long (${name.length} bytes, at most 107): ${path}`);
  const addr = Buffer.alloc(2 + 108);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return path.startsWith('@') ? addr.subarray(0, 2 + name.length) : addr;
}

/** A non-blocking, close-on-exec AF_UNIX datagram socket, bound to `path` when given. */
export function dgramSocket(path?: string): number {
  const L = libc();
  const fd = L.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw errnoError('socket', 'AF_UNIX SOCK_DGRAM');
  if (path !== undefined) {
    const addr = unixAddress(path);
    if ((L.bind(fd, addr, addr.length) as number) < 0) {
      const err = errnoError('bind', path);
      L.close(fd);
      throw err;
    }
  }
  return fd;
}

/** One datagram, or null when none is waiting. */
export function recvDatagram(fd: number, max = 4096): Buffer | null {
  const buf = Buffer.alloc(max);
  const n = Number(socketCalls().recv(fd, buf, max, MSG_DONTWAIT));
  if (n < 0) {
    const err = errnoError('recv', `fd ${fd}`);
    if (err.code === 'EAGAIN') return null;
    throw err;
  }
  return buf.subarray(0, n);
}

/** Sends one datagram to the socket at `path`. */
export function sendDatagram(fd: number, path: string, data: Buffer): void {
  const addr = unixAddress(path);
  const n = Number(socketCalls().sendto(fd, data, data.length, 0, addr, addr.length));
  if (n < 0) throw errnoError('sendto', path);
}
