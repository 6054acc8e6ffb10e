/**
 * gearmand's text admin protocol (bridge/gearman/admin.ts): the reply parsers on the line
 * shapes of gearmand's PROTOCOL document (and of Debian's gearmand 1.1.20), and the socket
 * call against a scripted server in this process: replies split across chunks, ERR replies,
 * a server that never answers (the explicit timeout), one that hangs up, none at all.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { GearmanAdminError, adminCommand, gearmanStatus, parseStatus, parseWorkers } from '../../bridge/gearman';
import { PoolManagerError } from '../../contract/errors';

describe('parseStatus: FUNCTION<tab>TOTAL<tab>RUNNING<tab>AVAILABLE_WORKERS', () => {
  test('one object per function, the counts as numbers', () => {
    assert.deepEqual(parseStatus(['libra_pool_mgm\t3\t1\t2', 'nobody\t1\t0\t0']), [
      { function: 'libra_pool_mgm', queued: 3, running: 1, availableWorkers: 2 },
      { function: 'nobody', queued: 1, running: 0, availableWorkers: 0 },
    ]);
  });

  test('no functions: an empty list', () => {
    assert.deepEqual(parseStatus([]), []);
  });

  test('a function name with a tab in it keeps it (the counts are the last three columns)', () => {
    assert.deepEqual(parseStatus(['odd\tname\t0\t0\t1']), [
      { function: 'odd\tname', queued: 0, running: 0, availableWorkers: 1 },
    ]);
  });

  test('a line of another shape is a GearmanAdminError that quotes it', () => {
    for (const line of ['libra_pool_mgm 3 1 2', 'f\t1\t2', 'f\t1\tx\t2', '\t1\t2\t3']) {
      assert.throws(
        () => parseStatus([line]),
        (error: unknown) =>
          error instanceof GearmanAdminError &&
          error instanceof PoolManagerError &&
          error.code === 'POOL_ERR_GEARMAN_ADMIN_REPLY' &&
          error.message.includes(JSON.stringify(line)),
        line,
      );
    }
  });
});

describe('parseWorkers: FD IP-ADDRESS CLIENT-ID : FUNCTION ...', () => {
  test('client ids, functions, connections without any, IPv6 peers', () => {
    assert.deepEqual(
      parseWorkers(['33 127.0.0.1 pool-bridge-1 : libra_pool_mgm', '34 ::1 - : a b', '26 127.0.0.1 - :']),
      [
        { fd: 33, address: '127.0.0.1', clientId: 'pool-bridge-1', functions: ['libra_pool_mgm'] },
        { fd: 34, address: '::1', clientId: '-', functions: ['a', 'b'] },
        { fd: 26, address: '127.0.0.1', clientId: '-', functions: [] },
      ],
    );
  });

  test('a line of another shape is a GearmanAdminError', () => {
    assert.throws(() => parseWorkers(['garbage']), { code: 'POOL_ERR_GEARMAN_ADMIN_REPLY' });
  });
});

/** A server that answers each command line with `reply(command)`, written in the given pieces. */
async function scripted(reply: (command: string, socket: net.Socket) => void): Promise<{
  port: number;
  commands: string[];
  close(): Promise<void>;
}> {
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n');
      text = lines.pop() ?? '';
      for (const line of lines) {
        commands.push(line);
        reply(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    commands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

async function adminError(promise: Promise<unknown>): Promise<GearmanAdminError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof GearmanAdminError, String(error));
  return error;
}

describe('adminCommand over a socket', () => {
  test('a list reply split across chunks, up to the "." line', async () => {
    const srv = await scripted((_command, socket) => {
      socket.write('libra_pool_mgm\t2\t1');
      setTimeout(() => socket.write('\t4\nother\t0\t0\t0\n'), 20);
      setTimeout(() => socket.write('.\n'), 40);
    });
    try {
      const status = await gearmanStatus({ host: '127.0.0.1', port: srv.port });
      assert.deepEqual(srv.commands, ['status']);
      assert.deepEqual(status, [
        { function: 'libra_pool_mgm', queued: 2, running: 1, availableWorkers: 4 },
        { function: 'other', queued: 0, running: 0, availableWorkers: 0 },
      ]);
    } finally {
      await srv.close();
    }
  });

  test('a one-line command resolves with its line', async () => {
    const srv = await scripted((_command, socket) => socket.write('OK 1.1.20\n'));
    try {
      assert.deepEqual(await adminCommand(`127.0.0.1:${srv.port}`, 'version'), ['OK 1.1.20']);
    } finally {
      await srv.close();
    }
  });

  test('an ERR reply is POOL_ERR_GEARMAN_ADMIN_REFUSED, quoting it', async () => {
    const srv = await scripted((_command, socket) => socket.write('ERR UNKNOWN_COMMAND Unknown+server+command\n'));
    try {
      const error = await adminError(adminCommand(`127.0.0.1:${srv.port}`, 'status'));
      assert.equal(error.code, 'POOL_ERR_GEARMAN_ADMIN_REFUSED');
      assert.match(error.message, /refused "status": ERR UNKNOWN_COMMAND/);
    } finally {
      await srv.close();
    }
  });

  test('no complete reply in time: POOL_ERR_GEARMAN_ADMIN_TIMEOUT after the timeout given', async () => {
    const srv = await scripted((_command, socket) => socket.write('libra_pool_mgm\t0\t0\t1\n'));
    try {
      const started = Date.now();
      const error = await adminError(adminCommand(`127.0.0.1:${srv.port}`, 'status', { timeoutMs: 150 }));
      assert.equal(error.code, 'POOL_ERR_GEARMAN_ADMIN_TIMEOUT');
      assert.match(error.message, /did not answer "status" within 150 ms/);
      assert.ok(Date.now() - started >= 140);
    } finally {
      await srv.close();
    }
  });

  test('a hang-up before the "." line, and no server at all: POOL_ERR_GEARMAN_ADMIN_UNREACHABLE', async () => {
    const srv = await scripted((_command, socket) => socket.end('libra_pool_mgm\t0\t0\t1\n'));
    const port = srv.port;
    try {
      const error = await adminError(adminCommand({ host: '127.0.0.1', port }, 'status'));
      assert.equal(error.code, 'POOL_ERR_GEARMAN_ADMIN_UNREACHABLE');
      assert.match(error.message, /closed the connection before answering "status"/);
    } finally {
      await srv.close();
    }
    const refused = await adminError(adminCommand({ host: '127.0.0.1', port }, 'status'));
    assert.equal(refused.code, 'POOL_ERR_GEARMAN_ADMIN_UNREACHABLE');
    assert.match(refused.message, /ECONNREFUSED/);
  });

  test('a command with a newline is refused before anything is sent', () => {
    assert.throws(() => adminCommand('127.0.0.1:1', 'status\nshutdown'), RangeError);
  });
});
