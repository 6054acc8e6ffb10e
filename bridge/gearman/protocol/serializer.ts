/**
 * Gearman packet serializer: arguments in, bytes out. Pure functions; see packets.ts for
 * the wire format and why this module exists. Only what this project sends is here; the
 * packets a job server sends (for parser fixtures and fake servers) are in ../testing/.
 */
import type { Magic } from './packets';
import { HEADER_SIZE, MAGIC_REQ, MAGIC_RES, PacketType } from './packets';

export type Argument = string | Uint8Array;

/**
 * Encodes one packet. Every argument but the last is NUL-terminated on the wire, so it
 * must not contain a NUL itself (a RangeError says which one does: a caller bug, not
 * something a peer can cause). The last argument is opaque.
 */
export function encodePacket(magic: Magic, type: number, args: readonly Argument[] = []): Buffer {
  // Plain loops, no intermediate arrays: this runs for every answer the bridge sends.
  const last = args.length - 1;
  const parts: Uint8Array[] = new Array<Uint8Array>(args.length);
  let size = Math.max(0, last);
  for (let i = 0; i <= last; i += 1) {
    const arg = args[i] as Argument;
    const part = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    if (i < last && part.includes(0)) {
      throw new RangeError(`argument ${i + 1} of packet type ${type} contains a NUL byte`);
    }
    parts[i] = part;
    size += part.length;
  }
  const packet = Buffer.allocUnsafe(HEADER_SIZE + size);
  packet.set(magic === 'REQ' ? MAGIC_REQ : MAGIC_RES, 0);
  packet.writeUInt32BE(type, 4);
  packet.writeUInt32BE(size, 8);
  let offset = HEADER_SIZE;
  for (let i = 0; i <= last; i += 1) {
    const part = parts[i] as Uint8Array;
    packet.set(part, offset);
    offset += part.length;
    if (i < last) {
      packet[offset] = 0;
      offset += 1;
    }
  }
  return packet;
}

const req = (type: number, args?: readonly Argument[]): Buffer => encodePacket('REQ', type, args);

/** Requests a worker sends to a job server (the bridge). */
export const worker = {
  canDo: (functionName: string): Buffer => req(PacketType.CAN_DO, [functionName]),
  cantDo: (functionName: string): Buffer => req(PacketType.CANT_DO, [functionName]),
  resetAbilities: (): Buffer => req(PacketType.RESET_ABILITIES),
  setClientId: (id: string): Buffer => req(PacketType.SET_CLIENT_ID, [id]),
  preSleep: (): Buffer => req(PacketType.PRE_SLEEP),
  grabJob: (): Buffer => req(PacketType.GRAB_JOB),
  grabJobUniq: (): Buffer => req(PacketType.GRAB_JOB_UNIQ),
  workComplete: (handle: string, data: Argument): Buffer => req(PacketType.WORK_COMPLETE, [handle, data]),
  workFail: (handle: string): Buffer => req(PacketType.WORK_FAIL, [handle]),
  workException: (handle: string, data: Argument): Buffer => req(PacketType.WORK_EXCEPTION, [handle, data]),
  echoReq: (data: Argument): Buffer => req(PacketType.ECHO_REQ, [data]),
};

/** Requests a client sends to a job server (../client.ts). */
export const client = {
  submitJob: (functionName: string, unique: Argument, data: Argument): Buffer =>
    req(PacketType.SUBMIT_JOB, [functionName, unique, data]),
};
