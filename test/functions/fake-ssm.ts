/**
 * A loopback stand-in for the SSM GetParameter API (AWS JSON 1.1), enough for the AWS SDK
 * that Powertools Parameters drives: give the SDK `awsEnv` (AWS_ENDPOINT_URL_SSM is `url`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeParameter = { value: string } | { error: string; message: string };

export interface FakeSsm {
  url: string;
  /** The environment that points the AWS SDK here: the endpoint, a region and test keys. */
  awsEnv: Record<string, string>;
  parameters: Map<string, FakeParameter>;
  /** Every GetParameter request body received. */
  requests: { Name: string; WithDecryption?: boolean }[];
  close(): Promise<void>;
}

export async function startFakeSsm(): Promise<FakeSsm> {
  const parameters = new Map<string, FakeParameter>();
  const requests: FakeSsm['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const reply = (status: number, document: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(document));
      };
      if (req.headers['x-amz-target'] !== 'AmazonSSM.GetParameter') {
        return reply(400, { __type: 'UnknownOperationException', message: String(req.headers['x-amz-target']) });
      }
      const input = JSON.parse(body) as { Name: string; WithDecryption?: boolean };
      requests.push(input);
      const parameter = parameters.get(input.Name);
      if (!parameter) return reply(400, { __type: 'ParameterNotFound', message: '' });
      if ('error' in parameter) return reply(400, { __type: parameter.error, message: parameter.message });
      return reply(200, {
        Parameter: { Name: input.Name, Type: 'SecureString', Value: parameter.value, Version: 1, DataType: 'text' },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    awsEnv: {
      AWS_ENDPOINT_URL_SSM: url,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
    parameters,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
