/**
 * A job server that follows a script instead of gearmand's rules, on 127.0.0.1: it answers
 * ECHO_REQ as gearmand does and hands every other request to the script, which writes
 * whatever packets it likes (bridge/gearman/testing builds them). For what a real gearmand
 * never does: jobs nobody asked for, NO_JOB and NOOP in odd places.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PacketType, packetTypeName } from '../../../bridge/gearman/protocol/packets';
import { PacketParser, splitArguments } from '../../../bridge/gearman/protocol/parser';
import { server as res } from '../../../bridge/gearman/testing';

export interface ScriptedRequest {
  type: number;
  name: string;
  data: Buffer;
  /** Which connection (1-based, in accept order) sent it. */
  connection: number;
}

/** Called for every request but ECHO_REQ; write to `socket` to answer. */
export type Script = (request: ScriptedRequest, socket: net.Socket) => void;

export interface ScriptedServer {
  readonly address: string;
  readonly requests: ScriptedRequest[];
  /** Connections accepted, and how many of them the other side closed. */
  readonly accepted: number;
  readonly closed: number;
  script: Script;
  /** Handles of the WORK_COMPLETE packets received, in order. */
  completed(): string[];
  close(): Promise<void>;
}

export async function startScriptedServer(script: Script = () => undefined): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const state = { script, accepted: 0, closed: 0 };
  const srv = net.createServer((socket) => {
    state.accepted += 1;
    const connection = state.accepted;
    sockets.add(socket);
    socket.setNoDelay(true);
    const parser = new PacketParser({ expect: 'REQ' });
    socket.on('data', (chunk: Buffer) => {
      for (const raw of parser.parse(chunk).packets) {
        if (raw.type === PacketType.ECHO_REQ) {
          socket.write(res.echoRes(raw.data));
          continue;
        }
        const request = { type: raw.type, name: packetTypeName(raw.type), data: raw.data, connection };
        requests.push(request);
        state.script(request, socket);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      state.closed += 1;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    requests,
    get accepted() {
      return state.accepted;
    },
    get closed() {
      return state.closed;
    },
    get script() {
      return state.script;
    },
    set script(s: Script) {
      state.script = s;
    },
    completed: () =>
      requests
        .filter((r) => r.type === PacketType.WORK_COMPLETE)
        .map((r) => (splitArguments(r.data, 2)?.[0] ?? Buffer.alloc(0)).toString()),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}
