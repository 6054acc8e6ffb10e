/**
 * The Gearman client of this project: submits jobs (SUBMIT_JOB with a unique id) over one
 * connection to a job server and resolves each with its outcome. Used by the operator's
 * job CLI (scripts/job), the tests and the benchmark load generator.
 *
 *   const client = await GearmanClient.connect('127.0.0.1:4730');
 *   const r = await client.submit('libra_pool_mgm', uuid, '{"action":"BUILD_IP"}');
 *   r.packet;  // 'WORK_COMPLETE' | 'WORK_FAIL' | 'WORK_EXCEPTION'
 *   client.close();
 *
 * Several jobs may be in flight on one connection: gearmand answers SUBMIT_JOB with
 * JOB_CREATED in the order of submission, which ties each handle to its job; later packets
 * name the handle. While a job runs, WORK_STATUS and WORK_WARNING reach its callbacks and
 * WORK_DATA chunks are collected; WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION end it.
 * Timeouts are explicit: connecting (default 5 s), and per job when asked (a build may
 * rightly take 15 minutes, so by default a job waits as long as the connection lives).
 * A lost connection, an ERROR packet or bytes that are not Gearman fail every job in
 * flight with a GearmanClientError that says which job server and which job.
 */
import net from 'node:net';
import tls from 'node:tls';
import { PoolManagerError } from '../../contract/errors';
import type { ServerAddress } from '../address';
import { formatServer, toServerAddress } from '../address';
import { PacketParser, decodeResponse } from './protocol/parser';
import { client as request } from './protocol/serializer';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export type GearmanClientErrorCode =
  /** The connection could not be made (refused, unreachable, no answer in time). */
  | 'POOL_ERR_GEARMAN_CONNECT'
  /** The connection was closed or broke while jobs were in flight. */
  | 'POOL_ERR_GEARMAN_CONNECTION_LOST'
  /** The job server answered with an ERROR packet. */
  | 'POOL_ERR_GEARMAN_SERVER_ERROR'
  /** The job server sent bytes that are not Gearman (the cause is the ProtocolError). */
  | 'POOL_ERR_GEARMAN_PROTOCOL'
  /** No outcome within the job's timeoutMs. The job may still run on the server. */
  | 'POOL_ERR_GEARMAN_TIMEOUT'
  /** The caller's AbortSignal fired. The job may still run on the server. */
  | 'POOL_ERR_GEARMAN_ABORTED';

export class GearmanClientError extends PoolManagerError {
  constructor(
    message: string,
    override readonly code: GearmanClientErrorCode,
    /** The job's handle, when the job server had queued it. */
    readonly handle?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface JobResult {
  handle: string;
  packet: 'WORK_COMPLETE' | 'WORK_FAIL' | 'WORK_EXCEPTION';
  /** The result bytes, WORK_DATA chunks first (empty for WORK_FAIL). */
  data: Buffer;
  /** data parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  /** Milliseconds from submission to the outcome. */
  ms: number;
}

export interface JobOptions {
  /** Called once the job server has queued the job. */
  onCreated?: (handle: string) => void;
  onStatus?: (numerator: string, denominator: string) => void;
  onWarning?: (text: string) => void;
  /** Stop waiting after this long (default: no limit). */
  timeoutMs?: number;
  /** Stop waiting when this fires. */
  signal?: AbortSignal;
}

export interface ConnectOptions {
  /** How long connecting may take (default 5 s). */
  connectTimeoutMs?: number;
  /** Connect over TLS with these options (a TLS terminator in front of gearmand). */
  tls?: tls.ConnectionOptions;
  signal?: AbortSignal;
}

interface Pending {
  resolve: (result: JobResult) => void;
  reject: (error: GearmanClientError) => void;
  options: JobOptions;
  started: number;
  chunks: Buffer[];
  handle?: string;
  /** Timed out or aborted: its packets are still read (to keep handles in order), then ignored. */
  settled: boolean;
  cleanup: () => void;
}

export class GearmanClient {
  readonly address: string;
  private readonly parser = new PacketParser();
  /** Submitted, waiting for JOB_CREATED (the job server answers in order). */
  private readonly awaitingHandle: Pending[] = [];
  private readonly byHandle = new Map<string, Pending>();
  private failure: GearmanClientError | undefined;

  private constructor(
    private readonly socket: net.Socket,
    server: ServerAddress,
  ) {
    this.address = formatServer(server);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      this.failAll(
        (handle) =>
          `lost the connection to ${this.address}${handle ? ` while job ${handle} ran` : ''}: ${describeSocketError(error)}`,
        'POOL_ERR_GEARMAN_CONNECTION_LOST',
        error,
      ),
    );
    socket.on('close', () =>
      this.failAll(
        (handle) =>
          `the job server at ${this.address} closed the connection${handle ? ` while job ${handle} ran` : ''}`,
        'POOL_ERR_GEARMAN_CONNECTION_LOST',
      ),
    );
  }

  /** Connects to "host:port" ("[v6]:port"; the port defaults to 4730) or { host, port }. */
  static connect(server: string | ServerAddress, options: ConnectOptions = {}): Promise<GearmanClient> {
    const { host, port } = toServerAddress(server);
    const where = formatServer({ host, port });
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = options.tls ? tls.connect({ host, port, ...options.tls }) : net.connect({ host, port });
      const done = (error?: GearmanClientError): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off(options.tls ? 'secureConnect' : 'connect', onConnect);
        if (error) {
          // A late socket error after giving up has nowhere to go.
          socket.on('error', () => undefined);
          socket.destroy();
          reject(error);
        } else {
          resolve(new GearmanClient(socket, { host, port }));
        }
      };
      const onConnect = (): void => done();
      const onError = (error: NodeJS.ErrnoException): void =>
        done(
          new GearmanClientError(
            `cannot connect to the job server at ${where}: ${describeSocketError(error)}`,
            'POOL_ERR_GEARMAN_CONNECT',
            undefined,
            { cause: error },
          ),
        );
      const onAbort = (): void =>
        done(new GearmanClientError(`stopped connecting to the job server at ${where}`, 'POOL_ERR_GEARMAN_ABORTED'));
      const timer = setTimeout(
        () =>
          done(
            new GearmanClientError(
              `cannot connect to the job server at ${where}: no answer within ${timeoutMs / 1000} s`,
              'POOL_ERR_GEARMAN_CONNECT',
            ),
          ),
        timeoutMs,
      );
      socket.once(options.tls ? 'secureConnect' : 'connect', onConnect);
      socket.once('error', onError);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Submits a job (SUBMIT_JOB, normal priority) and resolves with its outcome. */
  submit(
    functionName: string,
    unique: string | Uint8Array,
    payload: string | Uint8Array,
    options: JobOptions = {},
  ): Promise<JobResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const pending: Pending = {
        resolve,
        reject,
        options,
        started: performance.now(),
        chunks: [],
        settled: false,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      };
      const giveUp = (message: string, code: GearmanClientErrorCode): void => {
        if (pending.settled) return;
        pending.settled = true;
        pending.cleanup();
        if (pending.handle !== undefined) this.byHandle.delete(pending.handle);
        reject(new GearmanClientError(message, code, pending.handle));
      };
      const job = (): string => (pending.handle ? `job ${pending.handle}` : 'the job (not queued yet)');
      const onAbort = (): void => giveUp(`stopped waiting for ${job()} on ${this.address}`, 'POOL_ERR_GEARMAN_ABORTED');
      if (options.signal?.aborted) {
        reject(new GearmanClientError(`stopped before submitting to ${this.address}`, 'POOL_ERR_GEARMAN_ABORTED'));
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            giveUp(
              `no result for ${job()} on ${this.address} within ${options.timeoutMs} ms`,
              'POOL_ERR_GEARMAN_TIMEOUT',
            ),
          options.timeoutMs,
        );
      }
      this.awaitingHandle.push(pending);
      this.socket.write(request.submitJob(functionName, unique, payload));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    const { packets, error } = this.parser.parse(chunk);
    for (const raw of packets) {
      const p = decodeResponse(raw);
      switch (p.kind) {
        case 'JOB_CREATED': {
          const pending = this.awaitingHandle.shift();
          if (!pending || pending.settled) break;
          pending.handle = p.handle;
          this.byHandle.set(p.handle, pending);
          pending.options.onCreated?.(p.handle);
          break;
        }
        case 'WORK_STATUS':
          this.byHandle.get(p.handle)?.options.onStatus?.(p.numerator, p.denominator);
          break;
        case 'WORK_WARNING':
          this.byHandle.get(p.handle)?.options.onWarning?.(p.data.toString('utf8'));
          break;
        case 'WORK_DATA':
          this.byHandle.get(p.handle)?.chunks.push(p.data);
          break;
        case 'WORK_COMPLETE':
        case 'WORK_EXCEPTION':
        case 'WORK_FAIL': {
          const pending = this.byHandle.get(p.handle);
          if (!pending) break;
          this.byHandle.delete(p.handle);
          pending.settled = true;
          pending.cleanup();
          const data = p.kind === 'WORK_FAIL' ? Buffer.alloc(0) : Buffer.concat([...pending.chunks, p.data]);
          pending.resolve({
            handle: p.handle,
            packet: p.kind,
            data,
            json: parseJson(data),
            ms: performance.now() - pending.started,
          });
          break;
        }
        case 'ERROR':
          this.failAll(
            () => `the job server at ${this.address} answered ERROR ${p.code}: ${p.text}`,
            'POOL_ERR_GEARMAN_SERVER_ERROR',
          );
          this.socket.destroy();
          break;
        default:
          break;
      }
    }
    if (error) {
      this.failAll(
        () => `the job server at ${this.address} sent something that is not Gearman: ${error.message}`,
        'POOL_ERR_GEARMAN_PROTOCOL',
        error,
      );
      this.socket.destroy();
    }
  }

  /** Fails every job in flight and every later submit; the first failure is the one kept. */
  private failAll(message: (handle?: string) => string, code: GearmanClientErrorCode, cause?: Error): void {
    this.failure ??= new GearmanClientError(message(), code, undefined, cause ? { cause } : undefined);
    const pending = [...this.awaitingHandle.splice(0), ...this.byHandle.values()];
    this.byHandle.clear();
    for (const p of pending) {
      if (p.settled) continue;
      p.settled = true;
      p.cleanup();
      p.reject(new GearmanClientError(message(p.handle), code, p.handle, cause ? { cause } : undefined));
    }
  }
}

export interface SubmitJobRequest extends JobOptions, ConnectOptions {
  /** "host:port" or { host, port }. */
  server: string | ServerAddress;
  functionName: string;
  /** Text is sent as its UTF-8 bytes; bytes as they are (a unique id need not be UTF-8). */
  unique: string | Uint8Array;
  payload: string | Uint8Array;
}

/** Submits one job on a connection of its own and resolves with its outcome. */
export async function submitJob(request: SubmitJobRequest): Promise<JobResult> {
  const { server, functionName, unique, payload, ...options } = request;
  const client = await GearmanClient.connect(server, options);
  try {
    return await client.submit(functionName, unique, payload, options);
  } finally {
    client.close();
  }
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  return error.code === 'ECONNREFUSED' ? 'connection refused (is gearmand running there?)' : error.message;
}

function parseJson(data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
}
