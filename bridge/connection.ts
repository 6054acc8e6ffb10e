/**
 * One job server: the socket (plain or TLS, with TCP keepalive), registration
 * (SET_CLIENT_ID, CAN_DO, then an ECHO round trip to know the server answers), the grab
 * loop (GRAB_JOB_UNIQ -> JOB_ASSIGN_UNIQ | NO_JOB -> PRE_SLEEP ... NOOP), and reconnecting
 * with capped exponential backoff and jitter, registering again on its own. A connection
 * that has been silent for the probe interval is probed with ECHO_REQ; one that does not
 * answer within the probe timeout is recycled (a stopped or wedged job server keeps its
 * TCP connections open and would otherwise look connected for ever).
 *
 * It never decides how many jobs to take: the worker owns the slots and calls grab() only
 * after reserving one, so one connection can hold many jobs at once (gearmand hands a
 * connection as many jobs as it asks for) without the bridge exceeding its concurrency.
 *
 * Several grabs may be in flight at once (gearmand answers each, in order, with a
 * JOB_ASSIGN or a NO_JOB), so a busy job server's queue is drained without a round trip
 * per job: after a wake-up one grab goes out, and each job that comes back doubles how
 * many may be in flight (up to the free slots, and MAX_GRAB_WINDOW). A NO_JOB halves that
 * and stops new grabs; once none is in flight the connection sends PRE_SLEEP and waits for
 * gearmand's NOOP. Packets written in one turn of the event loop go out in one write.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { LogSink } from '../contract';
import { describeUnique } from '../contract';
import { backoffDelay } from './invoker';
import type { ServerAddress } from './address';
import { formatServer, tlsServerName } from './address';
import type { ResponsePacket } from './gearman/protocol/packets';
import { ASSIGN_ARGUMENTS_MAX } from './gearman/protocol/packets';
import { PacketParser, decodeResponse } from './gearman/protocol/parser';
import { worker as request } from './gearman/protocol/serializer';

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
  /** Probe (ECHO_REQ) a connection that has been silent this long. */
  probeIntervalMs: number;
  /** Recycle a connection whose probe gets no answer within this. */
  probeTimeoutMs: number;
  /**
   * Job payloads over this are dropped as they stream in (the job is answered FAIL); any
   * other packet over this plus ASSIGN_ARGUMENTS_MAX closes the connection.
   */
  maxPayloadBytes: number;
}

export interface AssignedJob {
  handle: string;
  /** The client's unique id, its bytes as gearmand keeps them; empty when it sent none. */
  unique: Buffer;
  functionName: string;
  data: Buffer;
  /** Set when the payload was over the limit: its size; `data` is then empty (never buffered). */
  payloadBytes?: number;
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
  /** The socket closed with these jobs unanswered: gearmand re-queues them, their answers go nowhere. */
  onOrphaned?(connection: ServerConnection, jobs: AssignedJob[]): void;
  /** Connection state changed from `previous` (for health and metrics). */
  onStateChange?(connection: ServerConnection, previous: ConnectionState): void;
  /** A reconnect is scheduled after a lost or failed connection. */
  onReconnectScheduled?(connection: ServerConnection, delayMs: number): void;
  /** A probe went unanswered: the connection is being recycled. */
  onProbeFailed?(connection: ServerConnection): void;
}

export type ConnectionState = 'idle' | 'connecting' | 'registering' | 'connected' | 'backoff' | 'stopped';

export interface ServerStatus {
  server: string;
  state: ConnectionState;
  /** When the current state began (ISO 8601). */
  since: string;
  inFlight: number;
  reconnects: number;
  /** Connections recycled because a probe (ECHO_REQ) went unanswered. */
  probeFailures: number;
  lastError?: string;
  tls: boolean;
}

const HELLO = 'pool-bridge-hello';
const PROBE = 'pool-bridge-probe';
/** Packets sent again and again, encoded once. */
const GRAB_JOB_UNIQ = request.grabJobUniq();
const PRE_SLEEP = request.preSleep();
const PROBE_PACKET = request.echoReq(PROBE);
/**
 * Grabs in flight per connection never exceed the free slots, nor this. More would hide no
 * more round trips to gearmand, only come back as NO_JOB (bench/REPORT.md, section 2: 16
 * to 32 in flight did best on its load; 4 and 8 left the bridge waiting, 1024 doubled the
 * NO_JOBs).
 */
const MAX_GRAB_WINDOW = 32;

export class ServerConnection {
  readonly name: string;
  private stateValue: ConnectionState = 'idle';
  private stateSince = new Date();
  private socket: net.Socket | undefined;
  private parser = new PacketParser();
  private epochValue = 0;
  /** Grabs sent and not yet answered (gearmand answers them in order). */
  private outstanding = 0;
  /** How many grabs may be in flight: 1 after a wake-up, doubled by each job that comes back. */
  private window = 1;
  /** A NO_JOB came since the last job: no new grab until a job or a NOOP says there is work. */
  private drained = false;
  private asleep = false;
  /** The socket corked for this turn of the event loop, if any (uncorked on setImmediate). */
  private corkedSocket: net.Socket | undefined;
  private taking = true;
  private attempt = 0;
  private reconnectCount = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When a byte last came from the job server (performance.now()). */
  private lastHeard = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeSentAt: number | undefined;
  private probeFailureCount = 0;
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

  /** Registered, awake, its last grab not answered with NO_JOB, room in its window, still taking jobs. */
  get wantsWork(): boolean {
    return (
      this.stateValue === 'connected' &&
      this.socket !== undefined &&
      this.taking &&
      !this.asleep &&
      !this.drained &&
      this.outstanding < this.window
    );
  }

  /** Nothing left to answer or receive: safe to close while draining. */
  get idle(): boolean {
    return this.jobs.size === 0 && this.outstanding === 0;
  }

  start(): void {
    if (this.stateValue === 'idle') this.connect();
  }

  /** Asks for one job. The caller has reserved a slot for it. */
  grab(): void {
    if (!this.wantsWork) throw new Error(`grab() on ${this.name} while it cannot grab (${this.stateValue})`);
    this.outstanding += 1;
    this.send(GRAB_JOB_UNIQ);
  }

  /**
   * Sends a job's answer on the socket the job came on. False when that socket is gone:
   * gearmand has re-queued the job, and the answer is dropped.
   */
  answer(job: AssignedJob, packet: Buffer): boolean {
    if (!this.holds(job)) return false;
    this.jobs.delete(job.handle);
    return this.send(packet);
  }

  /** True while the job can still be answered: it came on the socket this connection has now. */
  holds(job: AssignedJob): boolean {
    // Handles are only unique per gearmand run: a restarted server hands out H:host:1
    // again, so a job is matched by identity, never by handle alone.
    return job.epoch === this.epochValue && this.jobs.get(job.handle) === job;
  }

  /** Closes the socket of a job server that misbehaves; it reconnects as after any loss. */
  recycle(reason: string): void {
    this.lastError = reason;
    this.logger.error('job server misbehaves; recycling the connection', { server: this.name, reason });
    this.socket?.destroy();
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
      probeFailures: this.probeFailureCount,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      tls: this.options.tls !== undefined,
    };
  }

  private connect(): void {
    this.timer = undefined;
    this.epochValue += 1;
    const epoch = this.epochValue;
    const maxPayload = this.options.maxPayloadBytes;
    this.parser = new PacketParser({ maxPacketSize: maxPayload + ASSIGN_ARGUMENTS_MAX, maxJobPayload: maxPayload });
    this.outstanding = 0;
    this.window = 1;
    this.drained = false;
    this.asleep = false;
    this.setState('connecting');
    const { host, port } = this.server;
    // Keepalive and no-delay go on the TCP socket itself; TLS, if any, wraps it.
    const raw = net.connect({ host, port });
    raw.setNoDelay(true);
    if (this.options.keepAlive) raw.setKeepAlive(true, this.options.keepAliveIdleMs);
    const files = this.options.tls;
    const socket = files ? tls.connect({ socket: raw, host, ...tlsServerName(host), ...files }) : raw;
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
      if (epoch !== this.epochValue) return;
      this.lastHeard = performance.now();
      this.receive(chunk);
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
    for (const raw of packets) this.handle(decodeResponse(raw), raw.discardedPayload);
    if (error) {
      this.logger.error('job server stream is not Gearman; closing the connection', {
        server: this.name,
        error: error.message,
      });
      this.lastError = error.message;
      this.socket?.destroy();
    }
  }

  private handle(packet: ResponsePacket, discardedPayload?: number): void {
    switch (packet.kind) {
      case 'ECHO_RES':
        if (this.probeSentAt !== undefined && packet.data.toString() === PROBE) {
          this.probeSentAt = undefined;
          this.armProbe(this.options.probeIntervalMs);
          return;
        }
        if (this.stateValue === 'registering' && packet.data.toString() === HELLO) {
          this.socket?.setTimeout(0);
          this.attempt = 0;
          this.lastError = undefined;
          this.setState('connected');
          this.armProbe(this.options.probeIntervalMs);
          this.logger.info('registered with job server', {
            server: this.name,
            function: this.options.functionName,
            clientId: this.options.clientId,
          });
          this.hooks.onReady(this);
        }
        return;
      case 'NOOP':
        // Work may be queued again: start over with one grab.
        this.asleep = false;
        this.drained = false;
        this.window = 1;
        this.hooks.onReady(this);
        return;
      case 'NO_JOB':
        if (this.outstanding === 0) return;
        this.outstanding -= 1;
        this.drained = true;
        this.window = Math.max(1, this.window >> 1);
        // Sleep only once no grab is in flight: one still out may bring a job.
        if (this.outstanding === 0 && this.taking && !this.asleep) {
          this.asleep = true;
          this.send(PRE_SLEEP);
        }
        this.hooks.onGrabReleased(this);
        return;
      case 'JOB_ASSIGN_UNIQ':
      case 'JOB_ASSIGN': {
        const reserved = this.outstanding > 0;
        if (reserved) {
          this.outstanding -= 1;
          this.drained = false;
          this.window = Math.min(this.window * 2, MAX_GRAB_WINDOW);
        }
        const job: AssignedJob = {
          handle: packet.handle,
          unique: packet.kind === 'JOB_ASSIGN_UNIQ' ? packet.unique : Buffer.alloc(0),
          functionName: packet.functionName,
          data: packet.data,
          ...(discardedPayload !== undefined ? { payloadBytes: discardedPayload } : {}),
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

  /**
   * One timer per connection for the probe: at the interval it looks at when the job server
   * was last heard from; silent that long, it sends ECHO_REQ and waits the probe timeout for
   * the answer, else re-arms for the rest of the interval. No answer: the socket is
   * destroyed and the connection reconnects as after any loss.
   */
  private armProbe(delayMs: number): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => this.probe(), delayMs);
    this.probeTimer.unref();
  }

  private probe(): void {
    this.probeTimer = undefined;
    if (this.stateValue !== 'connected' || !this.socket) return;
    const { probeIntervalMs, probeTimeoutMs } = this.options;
    const now = performance.now();
    if (this.probeSentAt !== undefined) {
      const seconds = probeTimeoutMs / 1000;
      this.probeFailureCount += 1;
      this.lastError = `no answer to a probe (ECHO_REQ) within ${seconds} s: the job server is stopped or wedged; connection recycled`;
      this.logger.warn('job server did not answer a probe; recycling the connection', {
        server: this.name,
        probeTimeoutMs,
        silentMs: Math.round(now - this.lastHeard),
      });
      this.hooks.onProbeFailed?.(this);
      this.probeSentAt = undefined;
      this.socket.destroy();
      return;
    }
    const silent = now - this.lastHeard;
    if (silent < probeIntervalMs) {
      this.armProbe(probeIntervalMs - silent);
      return;
    }
    this.probeSentAt = now;
    this.send(PROBE_PACKET);
    this.armProbe(probeTimeoutMs);
  }

  private closed(epoch: number): void {
    if (epoch !== this.epochValue) return;
    this.socket = undefined;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.probeSentAt = undefined;
    const wasConnected = this.stateValue === 'connected';
    const grabsInFlight = this.outstanding;
    this.outstanding = 0;
    const orphanedJobs = [...this.jobs.values()];
    this.jobs.clear();
    const waiters = this.closedWaiters;
    this.closedWaiters = [];
    // The state changes before the worker hears of it, so that nothing it schedules in
    // answer grabs on this connection before it is registered again.
    let delay: number | undefined;
    if (this.taking) {
      this.attempt += 1;
      this.reconnectCount += 1;
      delay = backoffDelay(this.attempt, this.options.reconnectBaseMs ?? 250, this.options.reconnectMaxMs);
      this.logger.warn(wasConnected ? 'lost job server connection' : 'could not connect to job server', {
        server: this.name,
        error: this.lastError ?? 'connection closed',
        retryInMs: delay,
        ...(orphanedJobs.length
          ? {
              orphanedJobs: orphanedJobs
                .slice(0, 50)
                .map((j) => ({ unique: describeUnique(j.unique), handle: j.handle })),
              orphanedCount: orphanedJobs.length,
              note: 'gearmand re-queues them; their answers will be dropped',
            }
          : {}),
      });
      this.setState('backoff');
      this.timer = setTimeout(() => this.connect(), delay);
    } else {
      this.setState('stopped');
    }
    for (let i = 0; i < grabsInFlight; i += 1) this.hooks.onGrabReleased(this);
    if (orphanedJobs.length > 0) this.hooks.onOrphaned?.(this, orphanedJobs);
    if (delay !== undefined) this.hooks.onReconnectScheduled?.(this, delay);
    waiters.forEach((resolve) => resolve());
  }

  /**
   * Queues a packet on the socket. The first packet of a turn of the event loop corks the
   * socket and setImmediate uncorks it, so the answers and grabs of many jobs leave in one
   * write (one system call) instead of one each.
   */
  private send(packet: Buffer): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) return false;
    if (this.corkedSocket !== socket) {
      this.corkedSocket = socket;
      socket.cork();
      setImmediate(() => {
        if (this.corkedSocket === socket) this.corkedSocket = undefined;
        socket.uncork();
      });
    }
    socket.write(packet);
    return true;
  }

  private destroySocket(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
  }

  private setState(state: ConnectionState): void {
    const previous = this.stateValue;
    if (previous === state) return;
    this.stateValue = state;
    this.stateSince = new Date();
    this.hooks.onStateChange?.(this, previous);
  }
}
