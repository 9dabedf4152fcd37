// sendto(2) and recv(2), declared once on first use, for the socket users of the libc layer
// (rtnetlink in netlink.ts, the notify socket in unix-dgram.ts). Both return what C returns.
import { libc } from './libc';

export interface SocketCalls {
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
}

let calls: SocketCalls | undefined;

export function socketCalls(): SocketCalls {
  if (calls) return calls;
  const lib = libc().koffi.load('libc.so.6');
  calls = {
    sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)') as unknown as SocketCalls['sendto'],
    recv: lib.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)') as unknown as SocketCalls['recv'],
  };
  return calls;
}
