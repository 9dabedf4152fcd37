// A D-Bus connection over a unix socket: SASL EXTERNAL authentication with our uid (the peer
// reads our credentials with SO_PEERCRED), then messages both ways. Method calls get their
// reply or a DBusError; signals and incoming method calls go to the listeners. On a message
// bus (dbus-daemon) Hello is called first; a peer-to-peer connection (systemd's private
// socket) has no bus and no Hello.
import { createConnection, type Socket } from 'node:net';
import { decodeMessage, encodeMessage, ERROR, METHOD_CALL, METHOD_RETURN, NO_REPLY_EXPECTED, SIGNAL, type DBusMessage } from './message';
import type { DBusValue } from './marshal';

/** An error reply: `errorName` is the D-Bus error name (org.freedesktop.DBus.Error.ServiceUnknown...). */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    readonly detail: string,
    call: string,
  ) {
    super(`${call}: ${errorName}${detail ? `: ${detail}` : ''}`);
  }
}

/** The connection itself failed: the socket could not be reached, authentication, a closed peer. */
export class DBusConnectionError extends Error {}

export interface ConnectOptions {
  /** Call org.freedesktop.DBus.Hello after authentication (true for a message bus). */
  bus: boolean;
  /** Milliseconds for connecting + authenticating, and the default for each call. */
  timeoutMs?: number;
}

/** One unix socket address from a D-Bus address string ("unix:path=/x;unix:abstract=y"). */
export function socketPathOf(address: string): string {
  for (const part of address.split(';')) {
    const m = /^unix:(.*)$/.exec(part.trim());
    if (!m) continue;
    const kv = Object.fromEntries(m[1]!.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i), decodeURIComponent(p.slice(i + 1))];
    }));
    if (kv.path) return kv.path;
    if (kv.abstract) return '\0' + kv.abstract;
  }
  throw new DBusConnectionError(`D-Bus address ${JSON.stringify(address)} has no unix:path= or unix:abstract= socket`);
}

export interface CallOptions {
  destination?: string;
  path: string;
  interface?: string;
  member: string;
  signature?: string;
  body?: DBusValue[];
  timeoutMs?: number;
}

type Pending = { resolve: (m: DBusMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; what: string };

export class DBusConnection {
  private serial = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private readonly signalListeners = new Set<(m: DBusMessage) => void>();
  private methodHandler: ((m: DBusMessage) => void) | undefined;
  private closedError: Error | undefined;
  /** The unique name the bus gave us (":1.42"); undefined on a peer-to-peer connection. */
  uniqueName: string | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
    private readonly timeoutMs: number,
  ) {}

  /** Connects to the unix socket `path` (a leading nul: an abstract address) and authenticates. */
  static async connect(path: string, options: ConnectOptions): Promise<DBusConnection> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const shown = path.startsWith('\0') ? `@${path.slice(1)}` : path;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new DBusConnectionError(`connect ${shown}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new DBusConnectionError(`connect ${shown}: ${err.code ?? err.message}`));
      });
    });
    let leftover: Buffer;
    try {
      leftover = await authenticate(socket, shown, timeoutMs);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    const c = new DBusConnection(socket, shown, timeoutMs);
    c.start(leftover);
    if (options.bus) {
      try {
        const [name] = await c.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
        c.uniqueName = name as string;
      } catch (err) {
        c.close();
        throw err;
      }
    }
    return c;
  }

  private start(initial: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new DBusConnectionError(`${this.path}: ${err.code ?? err.message}`)));
    this.socket.on('close', () => this.fail(new DBusConnectionError(`${this.path}: the peer closed the connection`)));
    if (initial.length > 0) this.receive(initial);
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      let decoded: ReturnType<typeof decodeMessage>;
      try {
        decoded = decodeMessage(this.buffer);
      } catch (err) {
        this.fail(new DBusConnectionError(`${this.path}: invalid message from the peer: ${(err as Error).message}`));
        this.socket.destroy();
        return;
      }
      if (!decoded) return;
      this.buffer = this.buffer.subarray(decoded.length);
      this.dispatch(decoded.message);
    }
  }

  private dispatch(m: DBusMessage): void {
    if (m.type === METHOD_RETURN || m.type === ERROR) {
      const p = m.replySerial === undefined ? undefined : this.pending.get(m.replySerial);
      if (!p) return;
      this.pending.delete(m.replySerial!);
      clearTimeout(p.timer);
      if (m.type === ERROR) {
        const detail = typeof m.body?.[0] === 'string' ? (m.body[0] as string) : '';
        p.reject(new DBusError(m.errorName ?? 'unknown error', detail, p.what));
      } else p.resolve(m);
    } else if (m.type === SIGNAL) {
      for (const l of [...this.signalListeners]) l(m);
    } else if (m.type === METHOD_CALL) {
      if (this.methodHandler) this.methodHandler(m);
      else if (!((m.flags ?? 0) & NO_REPLY_EXPECTED)) this.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `no method ${m.interface}.${m.member} here`);
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new DBusConnectionError(`${p.what}: ${err.message}`));
    }
    this.pending.clear();
  }

  /** Sends a message as is (a reply, a signal, a call without reply); returns its serial. */
  send(m: DBusMessage): number {
    if (this.closedError) throw this.closedError;
    const serial = ++this.serial;
    this.socket.write(encodeMessage(m, serial));
    return serial;
  }

  /** Calls a method; resolves with the reply's body, rejects with a DBusError for an error reply. */
  async call(o: CallOptions): Promise<DBusValue[]> {
    const what = `${o.interface ? o.interface + '.' : ''}${o.member}${o.destination ? ` on ${o.destination}` : ''}`;
    const message: DBusMessage = { type: METHOD_CALL, path: o.path, member: o.member, body: o.body ?? [] };
    if (o.interface) message.interface = o.interface;
    if (o.destination) message.destination = o.destination;
    if (o.signature) message.signature = o.signature;
    if (this.closedError) throw new DBusConnectionError(`${what}: ${this.closedError.message}`);
    const encoded = encodeMessage(message, this.serial + 1); // marshalling errors throw here, before anything is sent
    const serial = ++this.serial;
    const reply = await new Promise<DBusMessage>((resolve, reject) => {
      const timeoutMs = o.timeoutMs ?? this.timeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        reject(new DBusConnectionError(`${what}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(serial, { resolve, reject, timer, what });
      this.socket.write(encoded);
    });
    return reply.body ?? [];
  }

  /** Listens to every signal received; returns the function that stops listening. */
  onSignal(listener: (m: DBusMessage) => void): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }

  /** Receives the method calls addressed to us (a service); without a handler they get UnknownMethod. */
  onMethodCall(handler: (m: DBusMessage) => void): void {
    this.methodHandler = handler;
  }

  reply(call: DBusMessage, signature = '', body: DBusValue[] = []): void {
    this.send({ type: METHOD_RETURN, replySerial: call.serial!, ...(call.sender ? { destination: call.sender } : {}), ...(signature ? { signature } : {}), body });
  }

  replyError(call: DBusMessage, name: string, text: string): void {
    this.send({ type: ERROR, errorName: name, replySerial: call.serial!, ...(call.sender ? { destination: call.sender } : {}), signature: 's', body: [text] });
  }

  emitSignal(path: string, iface: string, member: string, signature = '', body: DBusValue[] = []): void {
    this.send({ type: SIGNAL, path, interface: iface, member, ...(signature ? { signature } : {}), body });
  }

  /** Asks the bus to route the signals matching `rule` to us (a message bus only). */
  async addMatch(rule: string): Promise<void> {
    await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
  }

  close(): void {
    this.fail(new DBusConnectionError(`${this.path}: connection closed`));
    this.socket.destroy();
  }
}

/**
 * SASL EXTERNAL: a nul byte, "AUTH EXTERNAL <uid in hex>" and "BEGIN" in one write (pipelined,
 * as sd-bus's own client does), then the server's "OK <guid>". BEGIN must not travel with the
 * first message: systemd's server (sd-bus) leaves message bytes that arrived in the same read
 * as BEGIN unprocessed until more data comes, so a call sent right after a separate BEGIN
 * often gets no reply. Returns whatever arrived after the OK line (nothing, normally).
 */
async function authenticate(socket: Socket, shown: string, timeoutMs: number): Promise<Buffer> {
  const uid = String(process.geteuid?.() ?? process.getuid?.() ?? 0);
  socket.write(Buffer.concat([Buffer.from([0]), Buffer.from(`AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\nBEGIN\r\n`, 'ascii')]));
  const line = await new Promise<{ line: string; rest: Buffer }>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (err?: Error, v?: { line: string; rest: Buffer }) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(v!);
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const i = got.indexOf('\r\n');
      if (i >= 0) done(undefined, { line: got.toString('ascii', 0, i), rest: got.subarray(i + 2) });
      else if (got.length > 4096) done(new DBusConnectionError(`${shown}: authentication: the peer's answer is not a SASL line`));
    };
    const onError = (err: NodeJS.ErrnoException) => done(new DBusConnectionError(`${shown}: authentication: ${err.code ?? err.message}`));
    const onClose = () => done(new DBusConnectionError(`${shown}: authentication: the peer closed the connection`));
    const timer = setTimeout(() => done(new DBusConnectionError(`${shown}: authentication: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
  if (!line.line.startsWith('OK ')) {
    throw new DBusConnectionError(`${shown}: authentication as uid ${uid} with SASL EXTERNAL was refused: ${JSON.stringify(line.line)}`);
  }
  return line.rest;
}
