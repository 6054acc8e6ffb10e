/**
 * Gearman binary protocol: packet vocabulary shared by the parser and the serializer.
 *
 * Why no npm library: the package list named `gearman-js`, which does not exist. The real
 * candidates were read (npm pack, source in /tmp): `gearman` 2.1.0 is a single-socket
 * helper with no TLS, no reconnect, a decoder that throws inside the socket 'data'
 * handler on bad magic (an uncaught exception) and no size limit; `gearmanode` 0.9.2
 * runs one job at a time per server, has no TLS, gives up reconnecting after a few
 * attempts and calls an undefined function on an unknown job name; `abraxas` 2.1.10
 * (last release 2016, twelve stream-era dependencies) comes closest but attaches
 * one-shot error listeners, so a second socket error is an unhandled 'error' event.
 * The worker side of the protocol the bridge needs is a dozen packet types, so it is
 * written here as a pure encoder/decoder pair (no sockets), tested byte for byte against
 * the layouts in gearmand's PROTOCOL document. Sockets live elsewhere: the bridge's worker
 * connection in ../../connection.ts, the job-submitting client in ../client.ts.
 *
 * Wire format: 4-byte magic ("\0REQ" to a job server, "\0RES" from it), 4-byte big-endian
 * type, 4-byte big-endian data size, then the data: arguments separated by NUL bytes,
 * the last argument running to the end of the data (so it may itself contain NULs).
 */

import { PoolManagerError } from '../../../contract/errors';

export const HEADER_SIZE = 12;

export const MAGIC_REQ = Uint8Array.of(0x00, 0x52, 0x45, 0x51); // "\0REQ"
export const MAGIC_RES = Uint8Array.of(0x00, 0x52, 0x45, 0x53); // "\0RES"

export type Magic = 'REQ' | 'RES';

/** Packet type numbers, from the table in gearmand's PROTOCOL document. */
export const PacketType = {
  CAN_DO: 1,
  CANT_DO: 2,
  RESET_ABILITIES: 3,
  PRE_SLEEP: 4,
  NOOP: 6,
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  GRAB_JOB: 9,
  NO_JOB: 10,
  JOB_ASSIGN: 11,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  SET_CLIENT_ID: 22,
  CAN_DO_TIMEOUT: 23,
  ALL_YOURS: 24,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  GRAB_JOB_UNIQ: 30,
  JOB_ASSIGN_UNIQ: 31,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  SUBMIT_JOB_SCHED: 35,
  SUBMIT_JOB_EPOCH: 36,
  SUBMIT_REDUCE_JOB: 37,
  SUBMIT_REDUCE_JOB_BACKGROUND: 38,
  GRAB_JOB_ALL: 39,
  JOB_ASSIGN_ALL: 40,
  GET_STATUS_UNIQUE: 41,
  STATUS_RES_UNIQUE: 42,
} as const;

export type PacketTypeName = keyof typeof PacketType;

const NAMES = new Map<number, PacketTypeName>(
  (Object.entries(PacketType) as [PacketTypeName, number][]).map(([name, code]) => [code, name]),
);

export function packetTypeName(type: number): string {
  return NAMES.get(type) ?? `UNKNOWN(${type})`;
}

/**
 * Default ceiling on one packet's data. gearmand itself has no small limit, but a length
 * field of several gigabytes from a confused peer must not make us buffer that much.
 * Job payloads of the pool manager are a few hundred bytes; 64 MiB leaves room.
 */
export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024;

/**
 * Room for a JOB_ASSIGN's arguments before its payload: the handle, the function name and
 * the unique id, which gearmand keeps to a few hundred bytes (64, 512 and 64 in 1.1.x).
 * Arguments longer than this are a job server that does not speak Gearman as gearmand does.
 */
export const ASSIGN_ARGUMENTS_MAX = 4096;

/** A framed packet: header fields plus the raw data (not yet split into arguments). */
export interface RawPacket {
  magic: Magic;
  type: number;
  data: Buffer;
  /**
   * JOB_ASSIGN and JOB_ASSIGN_UNIQ over the parser's maxJobPayload: how many payload bytes
   * were dropped unread. `data` then holds the arguments and an empty payload.
   */
  discardedPayload?: number;
}

// Responses a worker or client receives from a job server (magic "\0RES").
export interface NoopPacket {
  kind: 'NOOP';
}
export interface NoJobPacket {
  kind: 'NO_JOB';
}
export interface JobAssignPacket {
  kind: 'JOB_ASSIGN';
  handle: string;
  functionName: string;
  data: Buffer;
}
export interface JobAssignUniqPacket {
  kind: 'JOB_ASSIGN_UNIQ';
  handle: string;
  functionName: string;
  /** The client's unique id as gearmand keeps it: bytes, not necessarily UTF-8 (`6a ff` and `6a fe` are two jobs). */
  unique: Buffer;
  data: Buffer;
}
export interface EchoResPacket {
  kind: 'ECHO_RES';
  data: Buffer;
}
export interface ErrorPacket {
  kind: 'ERROR';
  code: string;
  text: string;
}
export interface JobCreatedPacket {
  kind: 'JOB_CREATED';
  handle: string;
}
export interface WorkResultPacket {
  kind: 'WORK_COMPLETE' | 'WORK_DATA' | 'WORK_WARNING' | 'WORK_EXCEPTION';
  handle: string;
  data: Buffer;
}
export interface WorkFailPacket {
  kind: 'WORK_FAIL';
  handle: string;
}
export interface WorkStatusPacket {
  kind: 'WORK_STATUS';
  handle: string;
  numerator: string;
  denominator: string;
}
export interface OptionResPacket {
  kind: 'OPTION_RES';
  option: string;
}
/** Any other type, or a known one with the wrong number of arguments: kept, not thrown. */
export interface OtherPacket {
  kind: 'OTHER';
  magic: Magic;
  type: number;
  name: string;
  data: Buffer;
  reason?: string;
}

export type ResponsePacket =
  | NoopPacket
  | NoJobPacket
  | JobAssignPacket
  | JobAssignUniqPacket
  | EchoResPacket
  | ErrorPacket
  | JobCreatedPacket
  | WorkResultPacket
  | WorkFailPacket
  | WorkStatusPacket
  | OptionResPacket
  | OtherPacket;

export type ProtocolErrorCode =
  /** The bytes at a packet boundary are not "\0RES" (or "\0REQ"): the peer does not speak Gearman. */
  | 'POOL_ERR_GEARMAN_BAD_MAGIC'
  /** A packet announces more data than the parser's limit, or a JOB_ASSIGN's arguments are too long. */
  | 'POOL_ERR_GEARMAN_TOO_LARGE';

/** Thrown by nothing: returned by the parser when the byte stream cannot be framed. */
export class ProtocolError extends PoolManagerError {
  constructor(
    message: string,
    override readonly code: ProtocolErrorCode,
  ) {
    super(message);
  }
}
