// Unary gRPC calls for tests with Node built-ins only: HTTP/2 over a unix socket (node:http2 with
// createConnection), messages in gRPC's 5-byte framing (compressed flag + 32-bit big-endian
// length), and the call's grpc-status / grpc-message (trailers, or headers of a trailers-only
// answer) turned into a GrpcError naming the method.
import http2 from 'node:http2';
import net from 'node:net';

const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

export class GrpcError extends Error {
  constructor(
    readonly method: string,
    /** The grpc-status code, or -1 when the call failed below gRPC (connection, HTTP, framing). */
    readonly code: number,
    readonly details: string,
  ) {
    const name = code < 0 ? 'transport' : (STATUS_NAMES[code] ?? `status ${code}`);
    super(`${method}: ${name}${code >= 0 ? ` (grpc-status ${code})` : ''}: ${details}`);
  }
}

/** The message of one gRPC frame. */
export function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** The messages of a sequence of gRPC frames; compressed or truncated frames are errors. */
export function unframe(data: Buffer, method: string): Buffer[] {
  const messages: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (pos + 5 > data.length) throw new GrpcError(method, -1, `truncated frame header (${data.length - pos} bytes)`);
    if (data[pos] !== 0) throw new GrpcError(method, -1, `compressed frame (flag ${data[pos]}): no compression was offered`);
    const length = data.readUInt32BE(pos + 1);
    if (pos + 5 + length > data.length) throw new GrpcError(method, -1, `frame of ${length} bytes truncated to ${data.length - pos - 5}`);
    messages.push(data.subarray(pos + 5, pos + 5 + length));
    pos += 5 + length;
  }
  return messages;
}

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class GrpcChannel {
  private constructor(
    private readonly session: http2.ClientHttp2Session,
    readonly socketPath: string,
  ) {}

  /** Connects to a gRPC server listening on a unix socket (HTTP/2 with prior knowledge). */
  static connect(socketPath: string, timeoutMs = 10_000): Promise<GrpcChannel> {
    return new Promise((resolve, reject) => {
      const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error(`gRPC connect ${socketPath}: no HTTP/2 settings within ${timeoutMs} ms`));
      }, timeoutMs);
      session.once('connect', () => {
        clearTimeout(timer);
        session.removeAllListeners('error');
        // Later session errors fail the calls in flight (their streams see them); keep the process alive.
        session.on('error', () => undefined);
        resolve(new GrpcChannel(session, socketPath));
      });
      session.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`gRPC connect ${socketPath}: ${err.message}`));
      });
    });
  }

  /** One unary call: `path` is /package.Service/Method; resolves to the response message. */
  unary(path: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(err);
      };
      const stream = this.session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${timeoutMs}m`,
      });
      const timer = setTimeout(() => fail(new GrpcError(path, 4, `no answer within ${timeoutMs} ms (client deadline)`)), timeoutMs + 1_000);
      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => fail(new GrpcError(path, -1, err.message)));
      stream.on('close', () => {
        if (settled) return;
        const httpStatus = headers[':status'];
        if (httpStatus !== undefined && Number(httpStatus) !== 200) return fail(new GrpcError(path, -1, `HTTP status ${httpStatus}`));
        const status = trailers['grpc-status'] ?? headers['grpc-status'];
        if (status === undefined) return fail(new GrpcError(path, -1, `stream closed without grpc-status (rst code ${stream.rstCode})`));
        const code = Number(status);
        if (code !== 0) {
          const message = trailers['grpc-message'] ?? headers['grpc-message'];
          return fail(new GrpcError(path, code, percentDecoded(String(message ?? '(no grpc-message)'))));
        }
        try {
          const messages = unframe(Buffer.concat(chunks), path);
          if (messages.length !== 1) throw new GrpcError(path, -1, `a unary call answered ${messages.length} messages`);
          settled = true;
          clearTimeout(timer);
          resolve(messages[0]!);
        } catch (err) {
          fail(err as Error);
        }
      });
      stream.end(frame(request));
    });
  }

  close(): void {
    this.session.close();
  }
}
