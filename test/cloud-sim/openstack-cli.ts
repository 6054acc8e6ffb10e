/**
 * Runs the real `openstack` CLI (python-openstackclient) against a simulator, in a clean
 * environment (a throw-away HOME, no clouds.yaml, no proxy, only the simulator's OS_*
 * variables). Starting Python costs each `openstack` process most of a second of CPU, so
 * commands that should succeed run as one interactive session (`openstack` reading commands
 * from stdin, as an operator can use it), and at most a few processes run at once.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const COMMAND_TIMEOUT_MS = 60_000;
/** The interactive shell (cmd2) would split, redirect or pipe on these; session arguments avoid them. */
const SESSION_SAFE = /^[^\s'"|<>;&!]+$/;

export class OpenStackCli {
  private readonly home = mkdtempSync(join(tmpdir(), 'openstack-cli-'));
  private readonly env: Record<string, string>;
  private running = 0;
  private readonly queue: (() => void)[] = [];
  /** Every command line run, in start order. */
  readonly history: string[] = [];
  /** How many `openstack` processes were started. */
  processes = 0;

  constructor(
    osEnv: Record<string, string>,
    private readonly parallel = 3,
  ) {
    this.env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      OS_CLIENT_CONFIG_FILE: join(this.home, 'no-clouds.yaml'),
      LANG: 'C.UTF-8',
      // Session output is split on markers a shell escape prints, so Python must not buffer.
      PYTHONUNBUFFERED: '1',
      NO_PROXY: '127.0.0.1,localhost,::1',
      no_proxy: '127.0.0.1,localhost,::1',
      ...osEnv,
    };
  }

  /** Exit code and output; a command that runs longer than a minute is killed and fails. */
  async run(args: string[]): Promise<CliRun> {
    this.history.push(args.join(' '));
    return this.spawn(args);
  }

  /**
   * Runs the commands in order in one `openstack` session and returns each one's stdout
   * (parsed when it is JSON, else the text). Any output on stderr means a command failed:
   * that throws, with the session's stderr.
   */
  // The CLI's JSON is whatever each command prints; tests index into it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async session(commands: string[][]): Promise<any[]> {
    const nonce = randomBytes(6).toString('hex');
    const marker = (i: number): string => `@@end-${nonce}-${i}@@`;
    const lines = commands.map((args, i) => {
      const unsafe = args.find((arg) => !SESSION_SAFE.test(arg));
      if (unsafe !== undefined) throw new Error(`session argument ${JSON.stringify(unsafe)} needs quoting; use run()`);
      this.history.push(args.join(' '));
      return `${args.join(' ')}\n!echo ${marker(i)}\n`;
    });
    const result = await this.spawn([], lines.join(''));
    if (result.code !== 0 || result.stderr.trim() !== '') {
      throw new Error(
        `openstack session exited ${result.code}:\n${result.stderr}\ncommands:\n${this.history.slice(-commands.length).join('\n')}`,
      );
    }
    let rest = result.stdout;
    return commands.map((_, i) => {
      const at = rest.indexOf(`${marker(i)}\n`);
      if (at < 0) throw new Error(`openstack session output has no end marker for command ${i}:\n${result.stdout}`);
      const text = rest.slice(0, at).trim();
      rest = rest.slice(at + marker(i).length + 1);
      return text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as unknown) : text;
    });
  }

  private async spawn(args: string[], input?: string): Promise<CliRun> {
    // A counting semaphore in a few lines rather than a dependency for one test helper.
    while (this.running >= this.parallel) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running += 1;
    this.processes += 1;
    try {
      return await new Promise<CliRun>((resolve) => {
        const child = execFile(
          'openstack',
          args,
          { env: this.env, timeout: COMMAND_TIMEOUT_MS },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
            resolve({ code, stdout, stderr: error && code === 127 ? `${stderr}${error.message}` : stderr });
          },
        );
        child.stdin?.end(input ?? '');
      });
    } finally {
      this.running -= 1;
      this.queue.shift()?.();
    }
  }

  /** `openstack ARGS -f json`, parsed; a non-zero exit throws with the CLI's stderr. */
  // The CLI's JSON is whatever each command prints; tests index into it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async json(args: string[]): Promise<any> {
    const result = await this.run([...args, '-f', 'json']);
    if (result.code !== 0) throw new Error(`openstack ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
    return JSON.parse(result.stdout) as unknown;
  }

  /** A command that must fail: its exit code and stderr. */
  async failing(args: string[]): Promise<CliRun> {
    const result = await this.run(args);
    if (result.code === 0) throw new Error(`openstack ${args.join(' ')} succeeded but should have failed`);
    return result;
  }

  close(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Throws a clear error when the CLI is missing, rather than letting every test fail on ENOENT. */
export async function requireOpenStackCli(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openstack', ['--version'], { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new Error(
            `the openstack CLI does not run (${error.message}); bash scripts/setup.sh installs python3-openstackclient`,
          ),
        );
      } else {
        resolve(`${stdout}${stderr}`.trim());
      }
    });
  });
}
