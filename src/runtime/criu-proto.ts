// The few messages of CRIU's RPC protocol (criu's images/rpc.proto, proto2) that tsrun sends
// and reads: criu_req with its criu_opts, and criu_resp. A minimal protobuf wire codec (varint
// and length-delimited fields only, which is all these messages use), so that no protobuf
// library is needed. Field numbers are criu's; see the comments on each field.

/** criu_req_type */
export const ReqType = { EMPTY: 0, DUMP: 1, RESTORE: 2, CHECK: 3, PRE_DUMP: 4, NOTIFY: 6, VERSION: 10 } as const;

/** criu_cg_mode */
export const CgMode = { IGNORE: 0, CG_NONE: 1, PROPS: 2, SOFT: 3, FULL: 4, STRICT: 5, DEFAULT: 6 } as const;

/** criu_opts: only the fields tsrun sets. */
export interface CriuOpts {
  imagesDirFd: number; // 1
  pid?: number; // 2
  leaveRunning?: boolean; // 3
  extUnixSk?: boolean; // 4
  tcpEstablished?: boolean; // 5
  evasiveDevices?: boolean; // 6
  shellJob?: boolean; // 7
  fileLocks?: boolean; // 8
  logLevel?: number; // 9
  logFile?: string; // 10
  notifyScripts?: boolean; // 12
  root?: string; // 13
  parentImg?: string; // 14
  trackMem?: boolean; // 15
  autoDedup?: boolean; // 16
  workDirFd?: number; // 17
  extMnt?: Array<{ key: string; val: string }>; // 23
  manageCgroups?: boolean; // 24
  cgRoot?: Array<{ ctrl?: string; path: string }>; // 25
  rstSibling?: boolean; // 26
  inheritFd?: Array<{ key: string; fd: number }>; // 27
  manageCgroupsMode?: number; // 34
  external?: string[]; // 37
  emptyNs?: number; // 38
  joinNs?: Array<{ ns: string; nsFile: string }>; // 39
  freezeCgroup?: string; // 44
  orphanPtsMaster?: boolean; // 50
}

export interface CriuReq {
  type: number; // 1
  opts?: CriuOpts; // 2
  notifySuccess?: boolean; // 3
}

export interface CriuResp {
  type: number; // 1
  success: boolean; // 2
  dumpRestored?: boolean; // 3: criu_dump_resp.restored
  restorePid?: number; // 4: criu_restore_resp.pid
  notify?: { script?: string; pid?: number }; // 5: criu_notify
  crErrno?: number; // 7
  crErrmsg?: string; // 9
  version?: { major: number; minor: number; sublevel?: number }; // 10: criu_version
}

const VARINT = 0;
const LEN = 2;

class Writer {
  private readonly parts: Buffer[] = [];

  private varint(value: bigint): void {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, value); // negative int32 is sign-extended to 10 bytes, as protobuf does
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      bytes.push(b);
    } while (v !== 0n);
    this.parts.push(Buffer.from(bytes));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | undefined): this {
    if (value === undefined) return this;
    this.key(field, VARINT);
    this.varint(BigInt(value));
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    return value === undefined ? this : this.int(field, value ? 1 : 0);
  }

  bytes(field: number, value: Buffer | undefined): this {
    if (value === undefined) return this;
    this.key(field, LEN);
    this.varint(BigInt(value.length));
    this.parts.push(value);
    return this;
  }

  string(field: number, value: string | undefined): this {
    return value === undefined ? this : this.bytes(field, Buffer.from(value, 'utf8'));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function encodeOpts(o: CriuOpts): Buffer {
  const w = new Writer()
    .int(1, o.imagesDirFd)
    .int(2, o.pid)
    .bool(3, o.leaveRunning)
    .bool(4, o.extUnixSk)
    .bool(5, o.tcpEstablished)
    .bool(6, o.evasiveDevices)
    .bool(7, o.shellJob)
    .bool(8, o.fileLocks)
    .int(9, o.logLevel)
    .string(10, o.logFile)
    .bool(12, o.notifyScripts)
    .string(13, o.root)
    .string(14, o.parentImg)
    .bool(15, o.trackMem)
    .bool(16, o.autoDedup)
    .int(17, o.workDirFd);
  for (const m of o.extMnt ?? []) w.bytes(23, new Writer().string(1, m.key).string(2, m.val).finish());
  w.bool(24, o.manageCgroups);
  for (const c of o.cgRoot ?? []) w.bytes(25, new Writer().string(1, c.ctrl).string(2, c.path).finish());
  w.bool(26, o.rstSibling);
  for (const f of o.inheritFd ?? []) w.bytes(27, new Writer().string(1, f.key).int(2, f.fd).finish());
  w.int(34, o.manageCgroupsMode);
  for (const e of o.external ?? []) w.string(37, e);
  w.int(38, o.emptyNs);
  for (const j of o.joinNs ?? []) w.bytes(39, new Writer().string(1, j.ns).string(2, j.nsFile).finish());
  w.string(44, o.freezeCgroup);
  w.bool(50, o.orphanPtsMaster);
  return w.finish();
}

export function encodeRequest(req: CriuReq): Buffer {
  const w = new Writer().int(1, req.type);
  if (req.opts) w.bytes(2, encodeOpts(req.opts));
  return w.bool(3, req.notifySuccess).finish();
}

/** Every field of one message: varints as bigint, length-delimited ones as bytes. */
type Fields = Map<number, Array<bigint | Buffer>>;

export class ProtoError extends Error {}

function readVarint(buf: Buffer, pos: { at: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.at >= buf.length) throw new ProtoError('criu response: truncated varint');
    const b = buf[pos.at++] as number;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
    if (shift > 63n) throw new ProtoError('criu response: varint too long');
  }
}

export function decodeFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = Number(readVarint(buf, pos));
    const field = key >>> 3;
    const wire = key & 7;
    let value: bigint | Buffer;
    if (wire === VARINT) value = readVarint(buf, pos);
    else if (wire === LEN) {
      const len = Number(readVarint(buf, pos));
      if (pos.at + len > buf.length) throw new ProtoError('criu response: truncated field');
      value = buf.subarray(pos.at, pos.at + len);
      pos.at += len;
    } else if (wire === 5) {
      value = BigInt(buf.readUInt32LE(pos.at));
      pos.at += 4;
    } else if (wire === 1) {
      value = buf.readBigUInt64LE(pos.at);
      pos.at += 8;
    } else throw new ProtoError(`criu response: unknown wire type ${wire}`);
    const list = fields.get(field);
    if (list) list.push(value);
    else fields.set(field, [value]);
  }
  return fields;
}

function last(fields: Fields, n: number): bigint | Buffer | undefined {
  const list = fields.get(n);
  return list ? list[list.length - 1] : undefined;
}

/** An int32 field (sign-extended on the wire when negative). */
function int(fields: Fields, n: number): number | undefined {
  const v = last(fields, n);
  return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : undefined;
}

function str(fields: Fields, n: number): string | undefined {
  const v = last(fields, n);
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

function sub(fields: Fields, n: number): Fields | undefined {
  const v = last(fields, n);
  return Buffer.isBuffer(v) ? decodeFields(v) : undefined;
}

export function decodeResponse(buf: Buffer): CriuResp {
  const f = decodeFields(buf);
  const type = int(f, 1);
  if (type === undefined) throw new ProtoError('criu response: no type');
  const resp: CriuResp = { type, success: int(f, 2) === 1 };
  const dump = sub(f, 3);
  if (dump) resp.dumpRestored = int(dump, 1) === 1;
  const restore = sub(f, 4);
  const restorePid = restore && int(restore, 1);
  if (restorePid !== undefined) resp.restorePid = restorePid;
  const notify = sub(f, 5);
  if (notify) {
    const script = str(notify, 1);
    const pid = int(notify, 2);
    resp.notify = { ...(script !== undefined ? { script } : {}), ...(pid !== undefined ? { pid } : {}) };
  }
  const errno = int(f, 7);
  if (errno !== undefined) resp.crErrno = errno;
  const errmsg = str(f, 9);
  if (errmsg !== undefined) resp.crErrmsg = errmsg;
  const version = sub(f, 10);
  if (version) {
    const sublevel = int(version, 4);
    resp.version = { major: int(version, 1) ?? 0, minor: int(version, 2) ?? 0, ...(sublevel !== undefined ? { sublevel } : {}) };
  }
  return resp;
}
