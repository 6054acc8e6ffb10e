/**
 * Gearman clients for tests: a minimal Node client on the bridge's protocol module
 * (SUBMIT_JOB, JOB_CREATED, WORK_COMPLETE / WORK_FAIL / WORK_EXCEPTION; many jobs on one
 * connection), and a wrapper that runs the real `gearman` CLI.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { PacketParser, decodeResponse } from '../../../bridge/protocol/parser';
import { client as request } from '../../../bridge/protocol/serializer';

export interface JobResult {
  handle: string;
  packet: 'WORK_COMPLETE' | 'WORK_FAIL' | 'WORK_EXCEPTION';
  data: Buffer;
  /** data parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  /** Milliseconds from submission to the result. */
  ms: number;
}

interface Pending {
  resolve: (result: JobResult) => void;
  reject: (error: Error) => void;
  started: number;
  handle?: string;
}

export class GearmanClient {
  private readonly socket: net.Socket;
  private readonly parser = new PacketParser();
  /** Submitted, waiting for JOB_CREATED (gearmand answers in order). */
  private readonly awaitingHandle: Pending[] = [];
  private readonly byHandle = new Map<string, Pending>();
  private readonly ready: Promise<void>;
  private closedError: Error | undefined;

  constructor(host: string, port: number, options: { tls?: tls.ConnectionOptions } = {}) {
    this.socket = options.tls ? tls.connect({ host, port, ...options.tls }) : net.connect({ host, port });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('error', (error) => this.failAll(error));
    this.socket.on('close', () => this.failAll(new Error('connection to gearmand closed')));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  static async connect(address: string, options: { tls?: tls.ConnectionOptions } = {}): Promise<GearmanClient> {
    const i = address.lastIndexOf(':');
    const c = new GearmanClient(address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1)), options);
    await c.ready;
    return c;
  }

  submit(functionName: string, unique: string, payload: string | Uint8Array): Promise<JobResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.awaitingHandle.push({ resolve, reject, started: performance.now() });
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
      if (p.kind === 'JOB_CREATED') {
        const pending = this.awaitingHandle.shift();
        if (pending) {
          pending.handle = p.handle;
          this.byHandle.set(p.handle, pending);
        }
      } else if (p.kind === 'WORK_COMPLETE' || p.kind === 'WORK_EXCEPTION' || p.kind === 'WORK_FAIL') {
        const pending = this.byHandle.get(p.handle);
        if (!pending) continue;
        this.byHandle.delete(p.handle);
        const data = p.kind === 'WORK_FAIL' ? Buffer.alloc(0) : p.data;
        let json: unknown;
        try {
          json = JSON.parse(data.toString('utf8'));
        } catch {
          json = undefined;
        }
        pending.resolve({ handle: p.handle, packet: p.kind, data, json, ms: performance.now() - pending.started });
      } else if (p.kind === 'ERROR') {
        this.failAll(new Error(`gearmand error ${p.code}: ${p.text}`));
      }
    }
    if (error) this.failAll(error);
  }

  private failAll(error: Error): void {
    this.closedError ??= error;
    for (const p of this.awaitingHandle.splice(0)) p.reject(error);
    for (const p of this.byHandle.values()) p.reject(error);
    this.byHandle.clear();
  }
}

/** Submits one job and waits for its result on a connection of its own. */
export async function submitJob(
  address: string,
  functionName: string,
  unique: string,
  payload: string | Uint8Array,
): Promise<JobResult> {
  const c = await GearmanClient.connect(address);
  try {
    return await c.submit(functionName, unique, payload);
  } finally {
    c.close();
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real gearman CLI as a client:
 * gearman -h HOST -p PORT -f FUNCTION -u UNIQUE -s? 'payload'
 */
export function gearmanCli(
  host: string,
  port: number,
  functionName: string,
  unique: string,
  payload: string,
  timeoutMs = 20_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('gearman', ['-h', host, '-p', String(port), '-f', functionName, '-u', unique, payload], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
