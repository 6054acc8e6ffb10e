/**
 * A relay on 127.0.0.1 in front of a job server, piping bytes both ways:
 * - plain TCP, to break the path between the bridge and gearmand without stopping either:
 *   cut() destroys every relayed connection (gearmand sees its worker go and re-queues the
 *   worker's jobs; the bridge sees its connection drop and reconnects through the relay,
 *   which still listens);
 * - or terminating TLS (what stunnel does in production), optionally requiring a client
 *   certificate signed by `ca`: Debian's gearmand 1.1.20 accepts --ssl but does not
 *   negotiate TLS (it reads the ClientHello as a bad packet magic), so TLS tests use this.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { TestCerts } from './certs';
import { makeTestCerts } from './certs';

export interface RelayTls {
  cert: Buffer;
  key: Buffer;
  /** CA for client certificates; set to require one. */
  ca?: Buffer;
}

export interface Relay {
  readonly port: number;
  readonly address: string;
  /** Connections relayed so far (for TLS: handshakes completed). */
  readonly accepted: number;
  /** Destroys every connection relayed now; new ones are relayed as before. */
  cut(): void;
  close(): Promise<void>;
}

export async function startRelay(
  target: { host: string; port: number },
  options: { tls?: RelayTls } = {},
): Promise<Relay> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  const relay = (client: net.Socket): void => {
    accepted += 1;
    const upstream = net.connect({ host: target.host, port: target.port });
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
  };
  const { tls: t } = options;
  const server = t
    ? tls.createServer(
        { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca, requestCert: true, rejectUnauthorized: true } : {}) },
        relay,
      )
    : net.createServer(relay);
  // A refused handshake (a test's wrong certificate) is the client's business.
  if (t) server.on('tlsClientError', () => undefined);
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
    port,
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

export interface MutualTlsRelay {
  /** The relay's host:port. */
  readonly address: string;
  /** The certificates (makeTestCerts): ca.pem, server.pem and .key, client.pem and .key. */
  readonly certs: TestCerts;
  /** Closes the relay and removes the certificates. */
  close(): Promise<void>;
}

/**
 * The TLS fixture of the bridge tests: test certificates, and a TLS relay in front of
 * `target` presenting the server certificate and requiring a client certificate of their
 * CA; or why not (no openssl), for the tests to skip with.
 */
export async function startMutualTlsRelay(target: {
  host: string;
  port: number;
}): Promise<MutualTlsRelay | { skip: string }> {
  const certs = makeTestCerts();
  if ('skip' in certs) return certs;
  let relay: Relay;
  try {
    relay = await startRelay(target, {
      tls: { cert: certs.read('server.pem'), key: certs.read('server.key'), ca: certs.read('ca.pem') },
    });
  } catch (error) {
    certs.remove();
    throw error;
  }
  return {
    address: relay.address,
    certs,
    close: async () => {
      await relay.close();
      certs.remove();
    },
  };
}
