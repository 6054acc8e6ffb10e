/** Loopback ports: a free one to listen on, and whether something accepts connections on one. */
import net from 'node:net';

/** A free TCP port on a loopback address (there is a small window before it is used). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `start(...ports)` on `count` free ports of `host`. Another process may take a port between
 * freePort() and the listen; when `inUse(error)` says that is why start failed, it tries again
 * with new ports (three tries in all).
 */
export async function onFreePorts<T>(
  host: string,
  count: number,
  start: (...ports: number[]) => Promise<T>,
  inUse: (error: unknown) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) ports.push(await freePort(host));
    try {
      return await start(...ports);
    } catch (error) {
      if (attempt < 3 && inUse(error)) continue;
      throw error;
    }
  }
}

/** True when something accepts a TCP connection on host:port within timeoutMs. */
export function accepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when GET url answers within timeoutMs with a status `ok` accepts (default: any status). */
export async function answers(
  url: string,
  ok: (status: number) => boolean = () => true,
  timeoutMs = 1000,
): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return ok(res.status);
  } catch {
    return false;
  }
}
