/**
 * A Gearman client for one job at a time (the operator CLI): SUBMIT_JOB, then JOB_CREATED,
 * WORK_STATUS / WORK_DATA / WORK_WARNING while it runs, and one of WORK_COMPLETE,
 * WORK_FAIL or WORK_EXCEPTION. Built on the bridge's protocol module (bridge/protocol).
 */
import net from 'node:net';
import { PacketParser, decodeResponse } from '../../bridge/protocol/parser';
import { client as request } from '../../bridge/protocol/serializer';

export interface JobOutcome {
  packet: 'WORK_COMPLETE' | 'WORK_FAIL' | 'WORK_EXCEPTION';
  handle: string;
  /** The result bytes (empty for WORK_FAIL), WORK_DATA chunks included. */
  data: Buffer;
}

export interface SubmitOptions {
  host: string;
  port: number;
  functionName: string;
  unique: string;
  payload: string | Uint8Array;
  /** Called once gearmand has queued the job. */
  onCreated?: (handle: string) => void;
  onStatus?: (numerator: string, denominator: string) => void;
  onWarning?: (text: string) => void;
  /** Connection attempt timeout (default 5 s). */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

export class JobError extends Error {
  override readonly name = 'JobError';
  constructor(
    message: string,
    /** The job's handle, when gearmand had queued it. */
    readonly handle?: string,
  ) {
    super(message);
  }
}

/** Submits one job and resolves with its outcome; rejects with JobError on connection or protocol problems. */
export function submitJob(options: SubmitOptions): Promise<JobOutcome> {
  return new Promise((resolve, reject) => {
    const where = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    const socket = net.connect({ host: options.host, port: options.port });
    const parser = new PacketParser();
    let handle: string | undefined;
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (error: JobError | undefined, outcome?: JobOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else if (outcome) resolve(outcome);
    };
    const onAbort = (): void =>
      finish(new JobError(`stopped waiting for the job ${handle ?? '(not queued yet)'}`, handle));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const connectTimer = setTimeout(
      () =>
        finish(
          new JobError(
            `cannot connect to the job server at ${where}: no answer within ${(options.connectTimeoutMs ?? 5000) / 1000} s`,
          ),
        ),
      options.connectTimeoutMs ?? 5000,
    );
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      socket.write(request.submitJob(options.functionName, options.unique, options.payload));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ECONNREFUSED' ? 'connection refused (is gearmand running there?)' : error.message;
      finish(
        new JobError(
          handle
            ? `lost the connection to ${where} while job ${handle} ran: ${why}`
            : `cannot connect to the job server at ${where}: ${why}`,
          handle,
        ),
      );
    });
    socket.on('close', () =>
      finish(
        new JobError(
          `the job server at ${where} closed the connection${handle ? ` while job ${handle} ran` : ''}`,
          handle,
        ),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      const { packets, error } = parser.parse(chunk);
      for (const raw of packets) {
        const p = decodeResponse(raw);
        switch (p.kind) {
          case 'JOB_CREATED':
            handle = p.handle;
            options.onCreated?.(p.handle);
            break;
          case 'WORK_STATUS':
            if (p.handle === handle) options.onStatus?.(p.numerator, p.denominator);
            break;
          case 'WORK_WARNING':
            if (p.handle === handle) options.onWarning?.(p.data.toString('utf8'));
            break;
          case 'WORK_DATA':
            if (p.handle === handle) data = Buffer.concat([data, p.data]);
            break;
          case 'WORK_COMPLETE':
          case 'WORK_EXCEPTION':
            if (p.handle === handle) finish(undefined, { packet: p.kind, handle, data: Buffer.concat([data, p.data]) });
            break;
          case 'WORK_FAIL':
            if (p.handle === handle) finish(undefined, { packet: 'WORK_FAIL', handle, data: Buffer.alloc(0) });
            break;
          case 'ERROR':
            finish(new JobError(`the job server at ${where} answered ERROR ${p.code}: ${p.text}`, handle));
            break;
          default:
            break;
        }
      }
      if (error)
        finish(new JobError(`the job server at ${where} sent something that is not Gearman: ${error.message}`, handle));
    });
  });
}

export interface FunctionStatus {
  queued: number;
  running: number;
  workers: number;
}

/**
 * gearmand's text admin "status" line for one function; undefined when it is not listed
 * (no worker ever registered it and no job is queued) or the server does not answer.
 */
export function functionStatus(
  host: string,
  port: number,
  functionName: string,
  timeoutMs = 1500,
): Promise<FunctionStatus | undefined | 'unreachable'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => socket.write('status\n'));
    let text = '';
    const done = (value: FunctionStatus | undefined | 'unreachable'): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done('unreachable'));
    socket.once('error', () => done('unreachable'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const lines = text.split('\n');
      if (!lines.includes('.')) return;
      for (const line of lines) {
        const [name, queued, running, workers] = line.split('\t');
        if (name === functionName)
          return done({ queued: Number(queued), running: Number(running), workers: Number(workers) });
      }
      done(undefined);
    });
  });
}
