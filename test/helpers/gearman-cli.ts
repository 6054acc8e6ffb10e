/**
 * The real `gearman` CLI (gearman-tools) as a client, as an operator would run it:
 * gearman -h HOST -p PORT -f FUNCTION [-u UNIQUE] PAYLOAD. It prints the job's result on stdout.
 */
import { spawn } from 'node:child_process';
import type { ServerAddress } from '../../bridge/address';

export interface GearmanCliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as a JSON object (undefined when it is not one). */
  json: Record<string, unknown> | undefined;
}

export function gearmanCli(
  server: ServerAddress,
  functionName: string,
  payload: string,
  options: { unique?: string; timeoutMs?: number } = {},
): Promise<GearmanCliResult> {
  const args = ['-h', server.host, '-p', String(server.port), '-f', functionName];
  if (options.unique !== undefined) args.push('-u', options.unique);
  args.push(payload);
  return new Promise((resolve, reject) => {
    const child = spawn('gearman', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(stdout);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
          json = parsed as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
}
