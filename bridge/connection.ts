/**
 * One job server: the socket (plain or TLS, with TCP keepalive), registration
 * (SET_CLIENT_ID, CAN_DO, then an ECHO round trip to know the server answers), the grab
 * loop (GRAB_JOB_UNIQ -> JOB_ASSIGN_UNIQ | NO_JOB -> PRE_SLEEP ... NOOP), and reconnecting
 * with capped exponential backoff and jitter, registering again on its own.
 *
 * It never decides how many jobs to take: the worker owns the slots and calls grab() only
 * after reserving one, so one connection can hold many jobs at once (gearmand hands a
 * connection as many jobs as it asks for) without the bridge exceeding its concurrency.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { LogSink } from '../contract';
import { describeUnique } from '../contract';
import { backoffDelay } from './invoker';
import type { ServerAddress } from './address';
import { formatServer } from './address';
import type { ResponsePacket } from './gearman/protocol/packets';
import { PacketParser, decodeResponse } from './gearman/protocol/parser';
import { worker as request } from './gearman/protocol/serializer';

export type { ServerAddress };

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ConnectionOptions {
  functionName: string;
  clientId: string;
  /** TLS to the job server; undefined: plain TCP. */
  tls?: TlsFiles;
  keepAlive: boolean;
  keepAliveIdleMs: number;
  /** First reconnect delay (default 250 ms), doubling up to reconnectMaxMs. */
  reconnectBaseMs?: number;
  reconnectMaxMs: number;
  /** Connect plus registration must finish within this (default 10 s). */
  connectTimeoutMs?: number;
  maxPacketSize?: number;
}

export interface AssignedJob {
  handle: string;
  /** The client's unique id, its bytes as gearmand keeps them; empty when it sent none. */
  unique: Buffer;
  functionName: string;
  data: Buffer;
  server: string;
  /** Which socket of this connection the job came on; answers go only to that one. */
  epoch: number;
}

export interface ConnectionHooks {
  /** A job arrived. `reserved`: it answers a grab the worker reserved a slot for. */
  onJob(connection: ServerConnection, job: AssignedJob, reserved: boolean): void;
  /** A reserved grab ended without a job (NO_JOB, or the socket closed): free the slot. */
  onGrabReleased(connection: ServerConnection): void;
  /** The connection may grab now (registered, or woken by NOOP). */
  onReady(connection: ServerConnection): void;
  /** Connection state changed (for health and metrics). */
  onStateChange?(connection: ServerConnection): void;
  /** A reconnect is scheduled after a lost or failed connection. */
  onReconnectScheduled?(connection: ServerConnection, delayMs: number): void;
}

export type ConnectionState = 'idle' | 'connecting' | 'registering' | 'connected' | 'backoff' | 'stopped';

export interface ServerStatus {
  server: string;
  state: ConnectionState;
  /** When the current state began (ISO 8601). */
  since: string;
  inFlight: number;
  reconnects: number;
  lastError?: string;
  tls: boolean;
}

const HELLO = 'pool-bridge-hello';

export class ServerConnection {
  readonly name: string;
  private stateValue: ConnectionState = 'idle';
  private stateSince = new Date();
  private socket: net.Socket | undefined;
  private parser = new PacketParser();
  private epochValue = 0;
  private grabbing = false;
  private asleep = false;
  private taking = true;
  private attempt = 0;
  private reconnectCount = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly jobs = new Map<string, AssignedJob>();
  private closedWaiters: (() => void)[] = [];

  constructor(
    readonly server: ServerAddress,
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
    private readonly logger: LogSink,
  ) {
    this.name = formatServer(server);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Registered, awake, not already grabbing, still taking jobs. */
  get wantsWork(): boolean {
    return this.stateValue === 'connected' && this.taking && !this.grabbing && !this.asleep;
  }

  /** Nothing left to answer or receive: safe to close while draining. */
  get idle(): boolean {
    return this.jobs.size === 0 && !this.grabbing;
  }

  start(): void {
    if (this.stateValue === 'idle') this.connect();
  }

  /** Asks for one job. The caller has reserved a slot for it. */
  grab(): void {
    if (!this.wantsWork) throw new Error(`grab() on ${this.name} while it cannot grab (${this.stateValue})`);
    this.grabbing = true;
    this.send(request.grabJobUniq());
  }

  /**
   * Sends a job's answer on the socket the job came on. False when that socket is gone:
   * gearmand has re-queued the job, and the answer is dropped.
   */
  answer(job: AssignedJob, packet: Buffer): boolean {
    // Handles are only unique per gearmand run: a restarted server hands out H:host:1
    // again, so a job is matched by identity, never by handle alone.
    if (job.epoch !== this.epochValue || this.jobs.get(job.handle) !== job) return false;
    this.jobs.delete(job.handle);
    return this.send(packet);
  }

  /** Forgets a job without answering it (taken while draining: gearmand re-queues it on close). */
  release(job: AssignedJob): void {
    if (this.jobs.get(job.handle) === job) this.jobs.delete(job.handle);
  }

  /**
   * Stops taking jobs: no more grabs, and no reconnecting. Deliberately no CANT_DO or
   * RESET_ABILITIES: gearmand ties running jobs to the worker's registration, and dropping
   * it re-queues them (their WORK_COMPLETE then gets JOB_NOT_FOUND). gearmand assigns
   * jobs only in answer to a grab, so not grabbing is enough.
   */
  stopTaking(): void {
    if (!this.taking) return;
    this.taking = false;
    if (this.stateValue !== 'connected' && this.stateValue !== 'registering' && this.stateValue !== 'stopped') {
      // Not connected: there is nothing to answer on this server.
      this.destroySocket();
      this.setState('stopped');
    }
  }

  /**
   * Closes for good. graceful: flush what was written (answers) before closing; otherwise
   * destroy at once. Resolves once the socket is closed.
   */
  close(graceful = true): Promise<void> {
    this.taking = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      this.socket = undefined;
      this.setState('stopped');
      return Promise.resolve();
    }
    const closed = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    if (graceful && !socket.connecting) {
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    } else {
      socket.destroy();
    }
    return closed;
  }

  snapshot(): ServerStatus {
    return {
      server: this.name,
      state: this.stateValue,
      since: this.stateSince.toISOString(),
      inFlight: this.jobs.size,
      reconnects: this.reconnectCount,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      tls: this.options.tls !== undefined,
    };
  }

  private connect(): void {
    this.timer = undefined;
    this.epochValue += 1;
    const epoch = this.epochValue;
    this.parser = new PacketParser({ maxPacketSize: this.options.maxPacketSize });
    this.grabbing = false;
    this.asleep = false;
    this.setState('connecting');
    const { host, port } = this.server;
    // Keepalive and no-delay go on the TCP socket itself; TLS, if any, wraps it.
    const raw = net.connect({ host, port });
    raw.setNoDelay(true);
    if (this.options.keepAlive) raw.setKeepAlive(true, this.options.keepAliveIdleMs);
    const files = this.options.tls;
    const socket = files
      ? tls.connect({
          socket: raw,
          host,
          ...(net.isIP(host) ? {} : { servername: host }),
          ...(files.ca ? { ca: files.ca } : {}),
          ...(files.cert ? { cert: files.cert } : {}),
          ...(files.key ? { key: files.key } : {}),
        })
      : raw;
    this.socket = socket;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    socket.setTimeout(timeoutMs, () => {
      socket.destroy(new Error(`not registered within ${timeoutMs / 1000} s`));
    });
    socket.on(files ? 'secureConnect' : 'connect', () => {
      if (epoch !== this.epochValue) return;
      this.setState('registering');
      this.send(
        Buffer.concat([
          request.setClientId(this.options.clientId),
          request.canDo(this.options.functionName),
          request.echoReq(HELLO),
        ]),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (epoch === this.epochValue) this.receive(chunk);
    });
    // 'error' listeners stay for the sockets' whole life: a late error is never unhandled.
    const onError = (error: Error): void => {
      if (epoch === this.epochValue) this.lastError = error.message;
    };
    socket.on('error', onError);
    let closed = false;
    const onClose = (): void => {
      if (closed) return;
      closed = true;
      socket.destroy();
      raw.destroy();
      this.closed(epoch);
    };
    socket.on('close', onClose);
    if (socket !== raw) {
      raw.on('error', onError);
      raw.on('close', onClose);
    }
  }

  private receive(chunk: Buffer): void {
    const { packets, error } = this.parser.parse(chunk);
    for (const raw of packets) this.handle(decodeResponse(raw));
    if (error) {
      this.logger.error('job server stream is not Gearman; closing the connection', {
        server: this.name,
        error: error.message,
      });
      this.lastError = error.message;
      this.socket?.destroy();
    }
  }

  private handle(packet: ResponsePacket): void {
    switch (packet.kind) {
      case 'ECHO_RES':
        if (this.stateValue === 'registering' && packet.data.toString() === HELLO) {
          this.socket?.setTimeout(0);
          this.attempt = 0;
          this.lastError = undefined;
          this.setState('connected');
          this.logger.info('registered with job server', {
            server: this.name,
            function: this.options.functionName,
            clientId: this.options.clientId,
          });
          this.hooks.onReady(this);
        }
        return;
      case 'NOOP':
        this.asleep = false;
        this.hooks.onReady(this);
        return;
      case 'NO_JOB':
        if (!this.grabbing) return;
        this.grabbing = false;
        if (this.taking) {
          this.asleep = true;
          this.send(request.preSleep());
        }
        this.hooks.onGrabReleased(this);
        return;
      case 'JOB_ASSIGN_UNIQ':
      case 'JOB_ASSIGN': {
        const reserved = this.grabbing;
        this.grabbing = false;
        const job: AssignedJob = {
          handle: packet.handle,
          unique: packet.kind === 'JOB_ASSIGN_UNIQ' ? packet.unique : Buffer.alloc(0),
          functionName: packet.functionName,
          data: packet.data,
          server: this.name,
          epoch: this.epochValue,
        };
        this.jobs.set(job.handle, job);
        this.hooks.onJob(this, job, reserved);
        return;
      }
      case 'ERROR':
        this.logger.warn('job server reported an error', { server: this.name, code: packet.code, text: packet.text });
        return;
      default:
        this.logger.debug('ignored packet from job server', { server: this.name, packet: packet.kind });
    }
  }

  private closed(epoch: number): void {
    if (epoch !== this.epochValue) return;
    this.socket = undefined;
    const wasConnected = this.stateValue === 'connected';
    if (this.grabbing) {
      this.grabbing = false;
      this.hooks.onGrabReleased(this);
    }
    const orphaned = [...this.jobs.values()].map((j) => ({ unique: describeUnique(j.unique), handle: j.handle }));
    this.jobs.clear();
    const waiters = this.closedWaiters;
    this.closedWaiters = [];
    if (!this.taking) {
      this.setState('stopped');
      waiters.forEach((resolve) => resolve());
      return;
    }
    this.attempt += 1;
    this.reconnectCount += 1;
    const delay = backoffDelay(this.attempt, this.options.reconnectBaseMs ?? 250, this.options.reconnectMaxMs);
    this.logger.warn(wasConnected ? 'lost job server connection' : 'could not connect to job server', {
      server: this.name,
      error: this.lastError ?? 'connection closed',
      retryInMs: delay,
      ...(orphaned.length
        ? {
            orphanedJobs: orphaned.slice(0, 50),
            orphanedCount: orphaned.length,
            note: 'gearmand re-queues them; their answers will be dropped',
          }
        : {}),
    });
    this.setState('backoff');
    this.hooks.onReconnectScheduled?.(this, delay);
    this.timer = setTimeout(() => this.connect(), delay);
    waiters.forEach((resolve) => resolve());
  }

  private send(packet: Buffer): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) return false;
    socket.write(packet);
    return true;
  }

  private destroySocket(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
  }

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.stateSince = new Date();
    this.hooks.onStateChange?.(this);
  }
}
