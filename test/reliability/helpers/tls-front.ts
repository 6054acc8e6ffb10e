/**
 * Fronts for the cloud simulator, on 127.0.0.1: a proxy that forwards every request to the
 * simulator and rewrites the simulator's own URLs in the answers (the Keystone catalog,
 * links) to its own address, so that every OpenStack call of a function goes through it.
 * - over HTTPS, with a self-signed certificate made with openssl at test time;
 * - or as a hostile cloud: every error answer quotes back what the request sent (its
 *   X-Auth-Token header and its body, with the password or secret of a token request).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TlsFront {
  /** https://127.0.0.1:PORT */
  url: string;
  /** Requests forwarded so far. */
  requests(): number;
  close(): Promise<void>;
}

/** Appends `echo` to the first "message" string of an error body (or to its text). */
function withEcho(text: string, echo: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    const visit = (value: unknown): boolean => {
      if (typeof value !== 'object' || value === null) return false;
      const record = value as Record<string, unknown>;
      if (typeof record.message === 'string') {
        record.message = `${record.message} ${echo}`;
        return true;
      }
      return Object.values(record).some(visit);
    };
    if (visit(body)) return JSON.stringify(body);
  } catch {
    // not JSON: plain text
  }
  return `${text} ${echo}`;
}

export async function startFront(
  target: string,
  options: { tls?: { cert: Buffer; key: Buffer }; echo?: boolean },
): Promise<TlsFront> {
  const upstream = new URL(target);
  let count = 0;
  let front = '';
  const handler: http.RequestListener = (req, res) => {
    count += 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = { ...req.headers, host: upstream.host };
      delete headers['content-length'];
      const body = Buffer.concat(chunks);
      const out = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...headers, 'content-length': String(body.length) },
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            let text = Buffer.concat(parts).toString('utf8').split(target).join(front);
            if (options.echo && (answer.statusCode ?? 0) >= 400) {
              text = withEcho(
                text,
                `(you sent token ${String(req.headers['x-auth-token'])} and ${body.toString('utf8')})`,
              );
            }
            const responseHeaders = { ...answer.headers };
            delete responseHeaders['content-length'];
            delete responseHeaders['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 502, { ...responseHeaders, 'content-length': Buffer.byteLength(text) });
            res.end(text);
          });
        },
      );
      out.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      out.end(body);
    });
  };
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : http.createServer(handler);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: front,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
