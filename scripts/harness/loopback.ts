/**
 * The loopback guard (loopback-guard.mjs) from TypeScript: install it in the test process,
 * give child processes a file to record their connections in, and read it back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const GUARD_PATH = path.join(import.meta.dirname, 'loopback-guard.mjs');

export interface ConnectionRecord {
  pid: number;
  host: string;
  port: number;
  allowed: boolean;
}

interface GuardModule {
  isLoopbackHost(host: unknown): boolean;
  connections(): ConnectionRecord[];
}

let guard: Promise<GuardModule> | undefined;

/** Installs the guard in this process (idempotent); every later connect is recorded and checked. */
export function installLoopbackGuard(): Promise<GuardModule> {
  guard ??= import(pathToFileURL(GUARD_PATH).href) as Promise<GuardModule>;
  return guard;
}

/** A fresh file for children to record their connections in. */
export function guardFile(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `loopback-${label}-`));
  const file = path.join(dir, 'connections.jsonl');
  fs.writeFileSync(file, '');
  return file;
}

function readGuardFile(file: string): ConnectionRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ConnectionRecord);
}

/** Every connection of this process and of the children that wrote to `files`. */
export async function allConnections(files: string[]): Promise<ConnectionRecord[]> {
  const own = (await installLoopbackGuard()).connections();
  return [...own, ...files.flatMap(readGuardFile)];
}

export function removeGuardFile(file: string): void {
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}
