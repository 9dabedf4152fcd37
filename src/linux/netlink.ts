// A minimal rtnetlink client over libc sockets (no `ip`): links by name, their addresses, moving
// a link to another network namespace (with a new name), adding addresses, setting a link up.
// The socket works in the network namespace it was created in (see openIn).
import { errnoError, SyscallError } from './errors';
import { libc } from './libc';
import { socketCalls } from './socket-calls';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_REPLACE = 0x100;
const NLM_F_CREATE = 0x400;

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;

const IFLA_IFNAME = 3;
const IFLA_NET_NS_FD = 28;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;

export const IFF_UP = 0x1;
export const AF_INET = 2;
export const AF_INET6 = 10;

export interface Link {
  index: number;
  name: string;
  flags: number;
}

export interface Address {
  family: number;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
  local?: Buffer;
  address?: Buffer;
  broadcast?: Buffer;
}


function attr(type: number, data: Uint8Array): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  b.set(data, 4);
  return b;
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};
const cstring = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);

function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > buf.length) break;
    out.set(type, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

function ifinfomsg(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

function parseLink(body: Buffer): Link {
  const attrs = parseAttrs(body.subarray(16));
  const name = attrs.get(IFLA_IFNAME);
  return { index: body.readInt32LE(4), flags: body.readUInt32LE(8), name: name ? name.toString('utf8').replace(/\0.*$/s, '') : '' };
}

export class Netlink {
  private seq = 1;
  private closed = false;

  private constructor(private readonly fd: number) {}

  /** A NETLINK_ROUTE socket in the calling thread's network namespace. */
  static open(): Netlink {
    const fd = libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE) as number;
    if (fd < 0) throw errnoError('socket', 'AF_NETLINK NETLINK_ROUTE');
    return new Netlink(fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }

  /** Sends one request; returns the bodies of the answers (after the nlmsghdr), until ACK or DONE. */
  private request(type: number, flags: number, body: Buffer, what: string): Array<{ type: number; body: Buffer }> {
    const seq = this.seq++;
    const msg = Buffer.concat([Buffer.alloc(16), body]);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(type, 4);
    msg.writeUInt16LE(flags | NLM_F_REQUEST, 6);
    msg.writeUInt32LE(seq, 8);
    const kernel = Buffer.alloc(12);
    kernel.writeUInt16LE(AF_NETLINK, 0);
    if (Number(socketCalls().sendto(this.fd, msg, msg.length, 0, kernel, kernel.length)) < 0) throw errnoError('sendto', `netlink ${what}`);
    const out: Array<{ type: number; body: Buffer }> = [];
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = Number(socketCalls().recv(this.fd, buf, buf.length, 0));
      if (n < 0) throw errnoError('recv', `netlink ${what}`);
      let off = 0;
      while (off + 16 <= n) {
        const len = buf.readUInt32LE(off);
        const mtype = buf.readUInt16LE(off + 4);
        const mseq = buf.readUInt32LE(off + 8);
        if (len < 16 || off + len > n) break;
        const payload = Buffer.from(buf.subarray(off + 16, off + len));
        off += (len + 3) & ~3;
        if (mseq !== seq) continue;
        if (mtype === NLMSG_DONE) return out;
        if (mtype === NLMSG_ERROR) {
          const errno = -payload.readInt32LE(0);
          if (errno === 0) return out; // the ACK
          throw new SyscallError(`netlink ${what}`, errno, undefined, undefined);
        }
        out.push({ type: mtype, body: payload });
      }
    }
  }

  /** The link called `name`, or undefined. */
  link(name: string): Link | undefined {
    try {
      const r = this.request(RTM_GETLINK, NLM_F_ACK, Buffer.concat([ifinfomsg(0), attr(IFLA_IFNAME, cstring(name))]), `RTM_GETLINK ${name}`);
      const m = r.find((x) => x.type === RTM_NEWLINK);
      return m ? parseLink(m.body) : undefined;
    } catch (err) {
      if ((err as SyscallError).code === 'ENODEV') return undefined;
      throw err;
    }
  }

  /** Every address of the link with index `index` (IPv4 and IPv6). */
  addresses(index: number): Address[] {
    const req = Buffer.alloc(8); // struct ifaddrmsg, AF_UNSPEC
    const r = this.request(RTM_GETADDR, NLM_F_DUMP, req, 'RTM_GETADDR');
    const out: Address[] = [];
    for (const m of r) {
      if (m.type !== RTM_NEWADDR) continue;
      const b = m.body;
      const a: Address = { family: b.readUInt8(0), prefixlen: b.readUInt8(1), flags: b.readUInt8(2), scope: b.readUInt8(3), index: b.readUInt32LE(4) };
      if (a.index !== index) continue;
      const attrs = parseAttrs(b.subarray(8));
      const local = attrs.get(IFA_LOCAL);
      const address = attrs.get(IFA_ADDRESS);
      const broadcast = attrs.get(IFA_BROADCAST);
      if (local) a.local = local;
      if (address) a.address = address;
      if (broadcast) a.broadcast = broadcast;
      out.push(a);
    }
    return out;
  }

  /** Moves the link into the network namespace `nsFd` refers to, named `newName` there. */
  moveToNamespace(index: number, nsFd: number, newName: string): void {
    const body = Buffer.concat([ifinfomsg(index), attr(IFLA_NET_NS_FD, u32(nsFd)), attr(IFLA_IFNAME, cstring(newName))]);
    this.request(RTM_NEWLINK, NLM_F_ACK, body, `RTM_NEWLINK (move link ${index})`);
  }

  /** Adds (or replaces) an address on the link `index`. */
  addAddress(index: number, a: Address): void {
    const head = Buffer.alloc(8);
    head.writeUInt8(a.family, 0);
    head.writeUInt8(a.prefixlen, 1);
    head.writeUInt8(a.flags, 2);
    head.writeUInt8(a.scope, 3);
    head.writeUInt32LE(index, 4);
    const parts: Buffer[] = [head];
    if (a.local) parts.push(attr(IFA_LOCAL, a.local));
    if (a.address) parts.push(attr(IFA_ADDRESS, a.address));
    if (a.broadcast) parts.push(attr(IFA_BROADCAST, a.broadcast));
    this.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, Buffer.concat(parts), `RTM_NEWADDR ${formatAddress(a)}`);
  }

  /** Sets IFF_UP on the link. */
  setUp(index: number): void {
    this.request(RTM_NEWLINK, NLM_F_ACK, ifinfomsg(index, IFF_UP, IFF_UP), `RTM_NEWLINK (link ${index} up)`);
  }
}

/** "10.0.0.2/24" or "fd00::2/64". */
export function formatAddress(a: Address): string {
  const ip = a.local ?? a.address;
  if (!ip) return `?/${a.prefixlen}`;
  if (a.family === AF_INET) return `${[...ip].join('.')}/${a.prefixlen}`;
  const words: string[] = [];
  for (let i = 0; i + 1 < ip.length; i += 2) words.push(ip.readUInt16BE(i).toString(16));
  return `${words.join(':')}/${a.prefixlen}`;
}
