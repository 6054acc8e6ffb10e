/**
 * A TLS terminator in front of a plain job server (what stunnel does in production):
 * accepts TLS on 127.0.0.1, optionally requires a client certificate signed by `ca`,
 * and pipes the bytes to target. Debian's gearmand 1.1.20 accepts --ssl but does not
 * negotiate TLS (it reads the ClientHello as a bad packet magic), so TLS tests use this.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface TlsProxy {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

export async function startTlsProxy(options: {
  target: { host: string; port: number };
  cert: Buffer;
  key: Buffer;
  /** CA for client certificates; set to require one. */
  ca?: Buffer;
}): Promise<TlsProxy> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: options.cert,
      key: options.key,
      ...(options.ca ? { ca: options.ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (client) => {
      const upstream = net.connect(options.target);
      sockets.add(client);
      sockets.add(upstream);
      const done = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', done);
      upstream.on('error', done);
      client.on('close', done);
      upstream.on('close', done);
      client.pipe(upstream);
      upstream.pipe(client);
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
