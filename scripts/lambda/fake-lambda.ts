/**
 * A tiny stand-in for the Lambda Invoke API on 127.0.0.1, enough for @aws-sdk/client-lambda:
 * POST /2015-03-31/functions/{name}/invocations, answering with the function's bytes,
 * X-Amz-Function-Error for a function error, and the REST-JSON error shape
 * (x-amzn-ErrorType header + body) for 429 TooManyRequestsException, 500, etc.
 *
 * The behaviour is a handler: (request) => reply. `requests` records everything received.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '../harness';

export interface LambdaRequest {
  functionName: string;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Remote port of the connection (to see keep-alive reuse). */
  remotePort: number | undefined;
  /** 1-based index among all requests. */
  index: number;
  /** When the request was complete (Date.now()). */
  receivedAt: number;
}

export type LambdaReply =
  | { kind: 'result'; body: string | Buffer; functionError?: 'Unhandled' | 'Handled'; delayMs?: number }
  | { kind: 'error'; status: number; type: string; message: string; extra?: Record<string, unknown>; delayMs?: number }
  | { kind: 'hang' }
  | { kind: 'destroy' };

export type LambdaHandler = (request: LambdaRequest) => LambdaReply | Promise<LambdaReply>;

export interface FakeLambda {
  readonly url: string;
  readonly requests: LambdaRequest[];
  handler: LambdaHandler;
  close(): Promise<void>;
}

/** Echoes the envelope's message back with response PASS. */
export const echoPass: LambdaHandler = (req) => {
  const envelope = JSON.parse(req.body.toString('utf8')) as { message?: Record<string, unknown> };
  return { kind: 'result', body: JSON.stringify({ ...(envelope.message ?? {}), response: 'PASS' }) };
};

/** `port`: where to listen (default: a free one); to bring an endpoint back where it was. */
export async function startFakeLambda(
  handler: LambdaHandler = echoPass,
  options: { port?: number } = {},
): Promise<FakeLambda> {
  const requests: LambdaRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const state: { handler: LambdaHandler } = { handler };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(url);
      const request: LambdaRequest = {
        functionName: match ? decodeURIComponent(match[1] ?? '') : '',
        method: req.method ?? '',
        path: url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        remotePort: req.socket.remotePort,
        index: requests.length + 1,
        receivedAt: Date.now(),
      };
      requests.push(request);
      if (!match || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
        res.end(JSON.stringify({ Type: 'User', message: `no such route ${req.method} ${url}` }));
        return;
      }
      void Promise.resolve(state.handler(request)).then(async (reply) => {
        if (reply.kind === 'hang') {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        if (reply.kind === 'destroy') {
          req.socket.destroy();
          return;
        }
        if (reply.delayMs) await sleep(reply.delayMs);
        if (res.destroyed) return;
        if (reply.kind === 'result') {
          const headers: http.OutgoingHttpHeaders = {
            'content-type': 'application/json',
            'x-amz-executed-version': '$LATEST',
            'x-amzn-requestid': `req-${request.index}`,
          };
          if (reply.functionError) headers['x-amz-function-error'] = reply.functionError;
          res.writeHead(200, headers);
          res.end(reply.body);
        } else {
          res.writeHead(reply.status, {
            'content-type': 'application/json',
            'x-amzn-errortype': `${reply.type}:http://internal.amazon.com/coral/com.amazonaws.awsgirlambda/`,
            'x-amzn-requestid': `req-${request.index}`,
          });
          res.end(
            JSON.stringify({ Type: reply.status >= 500 ? 'Service' : 'User', message: reply.message, ...reply.extra }),
          );
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get handler() {
      return state.handler;
    },
    set handler(h: LambdaHandler) {
      state.handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
