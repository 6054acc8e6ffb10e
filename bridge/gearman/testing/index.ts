/**
 * Test-only packet builders: the responses a job server sends, to make parser fixtures and
 * fake job servers (as node-postgres keeps its test buffers in pg-protocol's testing/). No
 * production code imports this module.
 */
import { PacketType } from '../protocol/packets';
import type { Argument } from '../protocol/serializer';
import { encodePacket } from '../protocol/serializer';

const res = (type: number, args?: readonly Argument[]): Buffer => encodePacket('RES', type, args);

/** Responses a job server sends (magic "\0RES"). */
export const server = {
  noop: (): Buffer => res(PacketType.NOOP),
  noJob: (): Buffer => res(PacketType.NO_JOB),
  jobCreated: (handle: string): Buffer => res(PacketType.JOB_CREATED, [handle]),
  jobAssign: (handle: string, functionName: string, data: Argument): Buffer =>
    res(PacketType.JOB_ASSIGN, [handle, functionName, data]),
  jobAssignUniq: (handle: string, functionName: string, unique: Argument, data: Argument): Buffer =>
    res(PacketType.JOB_ASSIGN_UNIQ, [handle, functionName, unique, data]),
  workStatus: (handle: string, numerator: string, denominator: string): Buffer =>
    res(PacketType.WORK_STATUS, [handle, numerator, denominator]),
  workData: (handle: string, data: Argument): Buffer => res(PacketType.WORK_DATA, [handle, data]),
  workWarning: (handle: string, data: Argument): Buffer => res(PacketType.WORK_WARNING, [handle, data]),
  workComplete: (handle: string, data: Argument): Buffer => res(PacketType.WORK_COMPLETE, [handle, data]),
  workFail: (handle: string): Buffer => res(PacketType.WORK_FAIL, [handle]),
  workException: (handle: string, data: Argument): Buffer => res(PacketType.WORK_EXCEPTION, [handle, data]),
  echoRes: (data: Argument): Buffer => res(PacketType.ECHO_RES, [data]),
  error: (code: string, text: string): Buffer => res(PacketType.ERROR, [code, text]),
};
