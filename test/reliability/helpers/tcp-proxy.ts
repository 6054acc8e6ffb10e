/**
 * A plain TCP relay on 127.0.0.1 in front of a job server, to break the path between the
 * bridge and gearmand without stopping either: cut() destroys every relayed connection
 * (gearmand sees its worker go and re-queues the worker's jobs; the bridge sees its
 * connection drop and reconnects through the relay, which still listens).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly address: string;
  /** Connections relayed so far. */
  readonly accepted: number;
  /** Destroys every connection relayed now; new ones are relayed as before. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(target);
    // No Nagle delay on either leg: a relay must not add 40 ms to each small packet.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const s of pair) {
      s.on('error', done);
      s.on('close', done);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const cut = (): void => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
