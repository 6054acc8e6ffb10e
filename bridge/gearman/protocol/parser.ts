/**
 * Streaming Gearman packet parser: bytes in, packets out. No sockets, no timers, no
 * exceptions for anything a peer can send: feed it whatever chunks the socket delivers
 * (a packet split across chunks, several packets in one chunk) and it returns the
 * complete packets. A stream that cannot be framed (bad magic, a length over the limit)
 * yields a ProtocolError and the parser stays failed: framing is lost for good, and the
 * owner of the socket closes it.
 *
 * Sizes are checked from the 12-byte header, before any data is buffered. With
 * maxJobPayload set, a JOB_ASSIGN or JOB_ASSIGN_UNIQ too large for it is not refused (the
 * job server would only hand the same job out again) and not buffered either: its
 * arguments are kept, its payload bytes are dropped as they stream in, and the packet comes
 * out with an empty payload and `discardedPayload`, so the job can be answered with a FAIL.
 */
import type { Magic, RawPacket, ResponsePacket } from './packets';
import {
  ASSIGN_ARGUMENTS_MAX,
  DEFAULT_MAX_PACKET_SIZE,
  HEADER_SIZE,
  MAGIC_REQ,
  MAGIC_RES,
  PacketType,
  ProtocolError,
  packetTypeName,
} from './packets';

export interface ParserOptions {
  /** Which magic the stream must carry: "RES" from a job server (default), "REQ" to one. */
  expect?: Magic;
  /** Largest accepted data size in bytes (a JOB_ASSIGN over maxJobPayload is streamed instead). */
  maxPacketSize?: number;
  /**
   * Largest job payload kept: a JOB_ASSIGN(_UNIQ) whose data is over this plus
   * ASSIGN_ARGUMENTS_MAX keeps only its arguments. Undefined: such packets are framed like
   * any other, up to maxPacketSize.
   */
  maxJobPayload?: number;
}

export interface ParseResult {
  packets: RawPacket[];
  /** Set once the stream is unframeable; every later call returns it again. */
  error?: ProtocolError;
}

/** A JOB_ASSIGN(_UNIQ) whose payload is being dropped as it streams in. */
interface Discarding {
  type: number;
  size: number;
  /** NULs that end the arguments before the payload: 2 for JOB_ASSIGN, 3 for JOB_ASSIGN_UNIQ. */
  nulsWanted: number;
  nuls: number;
  /** The argument bytes so far (the NULs included). */
  args: Buffer[];
  argsLength: number;
  /** Data bytes of the packet not yet seen. */
  remaining: number;
}

export class PacketParser {
  private readonly magic: Uint8Array;
  private readonly expect: Magic;
  private readonly maxPacketSize: number;
  private readonly maxJobPayload: number | undefined;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Bytes needed before it is worth joining the pending chunks and looking again. */
  private needed = HEADER_SIZE;
  private discarding: Discarding | undefined;
  private failure: ProtocolError | undefined;

  constructor(options: ParserOptions = {}) {
    this.expect = options.expect ?? 'RES';
    this.magic = this.expect === 'RES' ? MAGIC_RES : MAGIC_REQ;
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.maxJobPayload = options.maxJobPayload;
  }

  /** Bytes received and kept but not yet part of a complete packet. */
  get buffered(): number {
    return this.pendingLength + (this.discarding?.argsLength ?? 0);
  }

  get failed(): ProtocolError | undefined {
    return this.failure;
  }

  parse(chunk: Uint8Array): ParseResult {
    if (this.failure) return { packets: [], error: this.failure };
    const packets: RawPacket[] = [];
    let piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (;;) {
      if (this.discarding) {
        piece = this.discard(piece, packets);
        if (this.failure) return { packets, error: this.failure };
        if (this.discarding) return { packets };
      }
      if (piece.length === 0) return { packets };
      const rest = this.frame(piece, packets);
      if (this.failure) return { packets, error: this.failure };
      if (rest === undefined) return { packets };
      // frame() met a JOB_ASSIGN to stream: the bytes after its header go to discard().
      piece = rest;
    }
  }

  /**
   * Frames whole packets out of the pending bytes plus `piece`. Returns the bytes after the
   * header of a JOB_ASSIGN that is to be streamed (the parser is then discarding), else
   * undefined once everything is framed or pending.
   */
  private frame(piece: Buffer, packets: RawPacket[]): Buffer | undefined {
    this.pending.push(piece);
    this.pendingLength += piece.length;
    if (this.pendingLength < this.needed) return undefined;

    // Join only once enough bytes are here: a large packet arriving in many chunks is
    // copied once, not once per chunk.
    const buffer = this.pending.length === 1 ? piece : Buffer.concat(this.pending, this.pendingLength);
    let offset = 0;
    let needed = HEADER_SIZE;
    while (buffer.length - offset >= HEADER_SIZE) {
      if (!startsWith(buffer, offset, this.magic)) {
        this.fail(
          new ProtocolError(
            `bad magic ${hex(buffer.subarray(offset, offset + 4))} at a packet boundary (expected \\0${this.expect})`,
            'POOL_ERR_GEARMAN_BAD_MAGIC',
          ),
        );
        return undefined;
      }
      const type = buffer.readUInt32BE(offset + 4);
      const size = buffer.readUInt32BE(offset + 8);
      if (this.streams(type, size)) {
        this.discarding = {
          type,
          size,
          nulsWanted: type === PacketType.JOB_ASSIGN_UNIQ ? 3 : 2,
          nuls: 0,
          args: [],
          argsLength: 0,
          remaining: size,
        };
        this.pending = [];
        this.pendingLength = 0;
        this.needed = HEADER_SIZE;
        return buffer.subarray(offset + HEADER_SIZE);
      }
      if (size > this.maxPacketSize) {
        this.fail(
          new ProtocolError(
            `${packetTypeName(type)} packet announces ${size} bytes of data, over the ${this.maxPacketSize}-byte limit`,
            'POOL_ERR_GEARMAN_TOO_LARGE',
          ),
        );
        return undefined;
      }
      const end = offset + HEADER_SIZE + size;
      if (end > buffer.length) {
        needed = HEADER_SIZE + size;
        break;
      }
      // Copy the data out so a small packet does not pin a large socket chunk in memory.
      packets.push({ magic: this.expect, type, data: Buffer.from(buffer.subarray(offset + HEADER_SIZE, end)) });
      offset = end;
    }
    const rest = buffer.length - offset;
    if (rest === 0) {
      this.pending = [];
      this.pendingLength = 0;
    } else {
      this.pending = [offset === 0 ? buffer : buffer.subarray(offset)];
      this.pendingLength = rest;
    }
    this.needed = needed;
    return undefined;
  }

  /** A job assignment whose data cannot fit the payload limit: streamed, not buffered. */
  private streams(type: number, size: number): boolean {
    return (
      this.maxJobPayload !== undefined &&
      (type === PacketType.JOB_ASSIGN || type === PacketType.JOB_ASSIGN_UNIQ) &&
      size > this.maxJobPayload + ASSIGN_ARGUMENTS_MAX
    );
  }

  /** Takes the discarded packet's bytes from `piece`: arguments kept, payload dropped. Returns what follows it. */
  private discard(piece: Buffer, packets: RawPacket[]): Buffer {
    const d = this.discarding as Discarding;
    const take = Math.min(piece.length, d.remaining);
    if (d.nuls < d.nulsWanted && take > 0) {
      let end = take;
      let from = 0;
      while (d.nuls < d.nulsWanted) {
        const nul = piece.indexOf(0, from);
        if (nul < 0 || nul >= take) break;
        d.nuls += 1;
        from = nul + 1;
        if (d.nuls === d.nulsWanted) end = from;
      }
      d.args.push(Buffer.from(piece.subarray(0, end)));
      d.argsLength += end;
      if (d.argsLength > ASSIGN_ARGUMENTS_MAX || (d.nuls < d.nulsWanted && d.argsLength === ASSIGN_ARGUMENTS_MAX)) {
        this.fail(
          new ProtocolError(
            `${packetTypeName(d.type)} arguments run past ${ASSIGN_ARGUMENTS_MAX} bytes without ending (handle, function, unique id)`,
            'POOL_ERR_GEARMAN_TOO_LARGE',
          ),
        );
        return Buffer.alloc(0);
      }
    }
    d.remaining -= take;
    if (d.remaining === 0) {
      this.discarding = undefined;
      const data = Buffer.concat(d.args, d.argsLength);
      packets.push({
        magic: this.expect,
        type: d.type,
        data,
        ...(d.nuls === d.nulsWanted ? { discardedPayload: d.size - d.argsLength } : {}),
      });
    }
    return piece.subarray(take);
  }

  private fail(error: ProtocolError): void {
    this.failure = error;
    this.pending = [];
    this.pendingLength = 0;
    this.discarding = undefined;
  }
}

/**
 * Splits packet data into `count` arguments: the first `count - 1` end at a NUL, the last
 * takes the rest (NULs included). Undefined when there are too few NULs.
 */
export function splitArguments(data: Buffer, count: number): Buffer[] | undefined {
  const args: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < count - 1; i += 1) {
    const nul = data.indexOf(0, start);
    if (nul < 0) return undefined;
    args.push(data.subarray(start, nul));
    start = nul + 1;
  }
  args.push(data.subarray(start));
  return args;
}

/**
 * Gives a framed "\0RES" packet its meaning. Never throws: an unknown type, or a known
 * type whose data does not have the arguments the PROTOCOL document lists, comes back as
 * an OTHER packet with a reason, for the caller to log.
 */
export function decodeResponse(packet: RawPacket): ResponsePacket {
  const text = (b: Buffer | undefined): string => (b ?? Buffer.alloc(0)).toString('utf8');
  const other = (reason?: string): ResponsePacket => ({
    kind: 'OTHER',
    magic: packet.magic,
    type: packet.type,
    name: packetTypeName(packet.type),
    data: packet.data,
    ...(reason ? { reason } : {}),
  });
  const args = (count: number): Buffer[] | undefined => splitArguments(packet.data, count);
  switch (packet.type) {
    case PacketType.NOOP:
      return { kind: 'NOOP' };
    case PacketType.NO_JOB:
      return { kind: 'NO_JOB' };
    case PacketType.JOB_ASSIGN: {
      const a = args(3);
      if (!a) return other('JOB_ASSIGN needs handle, function and data');
      // The packet's data is already the parser's own copy: the payload is a view of it.
      return { kind: 'JOB_ASSIGN', handle: text(a[0]), functionName: text(a[1]), data: a[2] ?? Buffer.alloc(0) };
    }
    case PacketType.JOB_ASSIGN_UNIQ: {
      const a = args(4);
      if (!a) return other('JOB_ASSIGN_UNIQ needs handle, function, unique id and data');
      return {
        kind: 'JOB_ASSIGN_UNIQ',
        handle: text(a[0]),
        functionName: text(a[1]),
        unique: Buffer.from(a[2] ?? []),
        data: a[3] ?? Buffer.alloc(0),
      };
    }
    case PacketType.ECHO_RES:
      return { kind: 'ECHO_RES', data: packet.data };
    case PacketType.ERROR: {
      const a = args(2);
      if (!a) return { kind: 'ERROR', code: text(packet.data), text: '' };
      return { kind: 'ERROR', code: text(a[0]), text: text(a[1]) };
    }
    case PacketType.JOB_CREATED:
      return { kind: 'JOB_CREATED', handle: text(packet.data) };
    case PacketType.WORK_COMPLETE:
    case PacketType.WORK_DATA:
    case PacketType.WORK_WARNING:
    case PacketType.WORK_EXCEPTION: {
      const a = args(2);
      const kind = packetTypeName(packet.type) as 'WORK_COMPLETE' | 'WORK_DATA' | 'WORK_WARNING' | 'WORK_EXCEPTION';
      if (!a) return other(`${kind} needs a handle and data`);
      return { kind, handle: text(a[0]), data: Buffer.from(a[1] ?? []) };
    }
    case PacketType.WORK_FAIL:
      return { kind: 'WORK_FAIL', handle: text(packet.data) };
    case PacketType.WORK_STATUS: {
      const a = args(3);
      if (!a) return other('WORK_STATUS needs a handle, numerator and denominator');
      return { kind: 'WORK_STATUS', handle: text(a[0]), numerator: text(a[1]), denominator: text(a[2]) };
    }
    case PacketType.OPTION_RES:
      return { kind: 'OPTION_RES', option: text(packet.data) };
    default:
      return other();
  }
}

function startsWith(buffer: Buffer, offset: number, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i += 1) {
    if (buffer[offset + i] !== magic[i]) return false;
  }
  return true;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}
