/**
 * The real `gearman` CLI (gearman-tools) as a client, as an operator would run it:
 * gearman -h HOST -p PORT -f FUNCTION [-u UNIQUE] PAYLOAD. It prints the job's result on stdout.
 */
import type { ServerAddress } from '../../bridge/address';
import type { RunResult } from '../../scripts/harness';
import { run } from '../../scripts/harness';

export interface GearmanCliResult extends RunResult {
  /** stdout parsed as a JSON object (undefined when it is not one). */
  json: Record<string, unknown> | undefined;
}

export async function gearmanCli(
  server: ServerAddress,
  functionName: string,
  payload: string,
  options: { unique?: string; timeoutMs?: number } = {},
): Promise<GearmanCliResult> {
  const args = ['-h', server.host, '-p', String(server.port), '-f', functionName];
  if (options.unique !== undefined) args.push('-u', options.unique);
  args.push(payload);
  const result = await run('gearman', args, { timeoutMs: options.timeoutMs ?? 30_000 });
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(result.stdout);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { ...result, json };
}
