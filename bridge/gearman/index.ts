/**
 * Gearman for this project, in one place:
 *
 * - protocol/: the binary protocol as a pure encoder/decoder (no sockets); the bridge's
 *   worker connection (../connection.ts) is built on it;
 * - client.ts: the one client that submits jobs (the job CLI, tests, benchmarks);
 * - admin.ts: gearmand's text admin protocol (`status`, `workers`, `version`);
 * - testing/: packet builders for tests only (what a job server sends), not exported here.
 */
export type {
  ErrorPacket,
  Magic,
  PacketTypeName,
  ProtocolErrorCode,
  RawPacket,
  ResponsePacket,
} from './protocol/packets';
export { DEFAULT_MAX_PACKET_SIZE, PacketType, ProtocolError, packetTypeName } from './protocol/packets';
export type { ParseResult, ParserOptions } from './protocol/parser';
export { PacketParser, decodeResponse, splitArguments } from './protocol/parser';
export type { Argument } from './protocol/serializer';
export { client, encodePacket, worker } from './protocol/serializer';
export type { ConnectOptions, GearmanClientErrorCode, JobOptions, JobResult, SubmitJobRequest } from './client';
export { GearmanClient, GearmanClientError, submitJob } from './client';
export type { AdminOptions, FunctionStatus, GearmanAdminErrorCode, WorkerConnection } from './admin';
export {
  GearmanAdminError,
  adminCommand,
  gearmanStatus,
  gearmanVersion,
  gearmanWorkers,
  parseStatus,
  parseWorkers,
} from './admin';
