/**
 * The Gearman packet encoder/decoder, byte for byte against the layouts in gearmand's
 * PROTOCOL document ("Binary Packet", the packet table, and the "Binary Protocol Example"
 * hex dumps), plus the streaming cases: split chunks, several packets per chunk, bad
 * magic, oversized length, garbage.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PoolManagerError } from '../../contract/errors';
import { PacketType, ProtocolError } from '../../bridge/gearman/protocol/packets';
import type { RawPacket } from '../../bridge/gearman/protocol/packets';
import { PacketParser, decodeResponse, splitArguments } from '../../bridge/gearman/protocol/parser';
import { client, encodePacket, worker } from '../../bridge/gearman/protocol/serializer';
import { server } from '../../bridge/gearman/testing';

/** Hex dump as written in PROTOCOL: "00 52 45 51  00 00 00 01 ..." (whitespace ignored). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const REQ = '00 52 45 51';
const RES = '00 52 45 53';

describe('serializer: requests, byte for byte', () => {
  test('CAN_DO "reverse" (PROTOCOL example: worker registration)', () => {
    assert.deepEqual(worker.canDo('reverse'), hex(`${REQ} 00 00 00 01 00 00 00 07 72 65 76 65 72 73 65`));
  });

  test('GRAB_JOB (PROTOCOL example) and GRAB_JOB_UNIQ (type 30, no arguments)', () => {
    assert.deepEqual(worker.grabJob(), hex(`${REQ} 00 00 00 09 00 00 00 00`));
    assert.deepEqual(worker.grabJobUniq(), hex(`${REQ} 00 00 00 1e 00 00 00 00`));
  });

  test('PRE_SLEEP (PROTOCOL example)', () => {
    assert.deepEqual(worker.preSleep(), hex(`${REQ} 00 00 00 04 00 00 00 00`));
  });

  test('SUBMIT_JOB "reverse", empty unique id, "test" (PROTOCOL example: client job submission)', () => {
    assert.deepEqual(
      client.submitJob('reverse', '', 'test'),
      hex(`${REQ} 00 00 00 07 00 00 00 0d 72 65 76 65 72 73 65 00 00 74 65 73 74`),
    );
  });

  test('WORK_COMPLETE "H:lap:1" "tset" (PROTOCOL example: worker response)', () => {
    assert.deepEqual(
      worker.workComplete('H:lap:1', 'tset'),
      hex(`${REQ} 00 00 00 0d 00 00 00 0c 48 3a 6c 61 70 3a 31 00 74 73 65 74`),
    );
  });

  test('SET_CLIENT_ID (22): one argument, the id', () => {
    assert.deepEqual(
      worker.setClientId('bridge-1'),
      hex(`${REQ} 00 00 00 16 00 00 00 08 ${Buffer.from('bridge-1').toString('hex')}`),
    );
  });

  test('RESET_ABILITIES (3) and CANT_DO (2)', () => {
    assert.deepEqual(worker.resetAbilities(), hex(`${REQ} 00 00 00 03 00 00 00 00`));
    assert.deepEqual(worker.cantDo('f'), hex(`${REQ} 00 00 00 02 00 00 00 01 66`));
  });

  test('WORK_FAIL (14): the handle only; WORK_EXCEPTION (25): handle NUL data', () => {
    assert.deepEqual(worker.workFail('H:a:2'), hex(`${REQ} 00 00 00 0e 00 00 00 05 48 3a 61 3a 32`));
    assert.deepEqual(worker.workException('H:a:2', 'x'), hex(`${REQ} 00 00 00 19 00 00 00 07 48 3a 61 3a 32 00 78`));
  });

  test('ECHO_REQ (16): opaque data', () => {
    assert.deepEqual(worker.echoReq('hi'), hex(`${REQ} 00 00 00 10 00 00 00 02 68 69`));
  });

  test('the last argument is opaque: binary data with NULs is carried as is', () => {
    const data = Buffer.from([0, 1, 0, 255]);
    assert.deepEqual(worker.workComplete('H', data), hex(`${REQ} 00 00 00 0d 00 00 00 06 48 00 00 01 00 ff`));
  });

  test('a NUL inside a non-last argument is refused (it would shift the arguments)', () => {
    assert.throws(() => worker.workComplete('H\0x', 'data'), RangeError);
  });

  test('UTF-8 arguments are sized in bytes, not characters', () => {
    const p = worker.workComplete('H', 'é');
    assert.equal(p.readUInt32BE(8), 1 + 1 + 2);
  });
});

describe('serializer: responses (fixtures for the parser), byte for byte', () => {
  test('NO_JOB, NOOP, JOB_CREATED (PROTOCOL example)', () => {
    assert.deepEqual(server.noJob(), hex(`${RES} 00 00 00 0a 00 00 00 00`));
    assert.deepEqual(server.noop(), hex(`${RES} 00 00 00 06 00 00 00 00`));
    assert.deepEqual(server.jobCreated('H:lap:1'), hex(`${RES} 00 00 00 08 00 00 00 07 48 3a 6c 61 70 3a 31`));
  });

  test('JOB_ASSIGN "H:lap:1" "reverse" "test" (PROTOCOL example)', () => {
    assert.deepEqual(
      server.jobAssign('H:lap:1', 'reverse', 'test'),
      hex(`${RES} 00 00 00 0b 00 00 00 14 48 3a 6c 61 70 3a 31 00 72 65 76 65 72 73 65 00 74 65 73 74`),
    );
  });

  test('JOB_ASSIGN_UNIQ (31): handle NUL function NUL unique NUL data', () => {
    assert.deepEqual(
      server.jobAssignUniq('H:lap:1', 'reverse', 'u-1', 'test'),
      hex(`${RES} 00 00 00 1f 00 00 00 18 48 3a 6c 61 70 3a 31 00 72 65 76 65 72 73 65 00 75 2d 31 00 74 65 73 74`),
    );
  });
});

describe('parser: framing', () => {
  const stream = Buffer.concat([
    server.noop(),
    server.jobAssignUniq('H:vm:7', 'libra_pool_mgm', 'uuid-7', '{"action":"BUILD_IP"}'),
    server.noJob(),
    server.error('ERR', 'text'),
  ]);

  const kinds = (packets: RawPacket[]): string[] => packets.map((p) => decodeResponse(p).kind);

  test('the PROTOCOL example responses decode to what they say', () => {
    const parser = new PacketParser();
    const { packets, error } = parser.parse(
      hex(`${RES} 00 00 00 0b 00 00 00 14 48 3a 6c 61 70 3a 31 00 72 65 76 65 72 73 65 00 74 65 73 74`),
    );
    assert.equal(error, undefined);
    assert.equal(packets.length, 1);
    const p = decodeResponse(packets[0] as RawPacket);
    assert.deepEqual(p, { kind: 'JOB_ASSIGN', handle: 'H:lap:1', functionName: 'reverse', data: Buffer.from('test') });
  });

  test('several packets in one chunk', () => {
    const parser = new PacketParser();
    const { packets, error } = parser.parse(stream);
    assert.equal(error, undefined);
    assert.deepEqual(kinds(packets), ['NOOP', 'JOB_ASSIGN_UNIQ', 'NO_JOB', 'ERROR']);
    assert.deepEqual(decodeResponse(packets[1] as RawPacket), {
      kind: 'JOB_ASSIGN_UNIQ',
      handle: 'H:vm:7',
      functionName: 'libra_pool_mgm',
      unique: Buffer.from('uuid-7'),
      data: Buffer.from('{"action":"BUILD_IP"}'),
    });
    assert.deepEqual(decodeResponse(packets[3] as RawPacket), { kind: 'ERROR', code: 'ERR', text: 'text' });
    assert.equal(parser.buffered, 0);
  });

  test('a unique id is kept as its bytes: 6a ff and 6a fe stay two ids', () => {
    const decode = (unique: Uint8Array) => {
      const { packets } = new PacketParser().parse(server.jobAssignUniq('H:vm:8', 'libra_pool_mgm', unique, '{}'));
      const packet = decodeResponse(packets[0] as RawPacket);
      assert.equal(packet.kind, 'JOB_ASSIGN_UNIQ');
      return packet.kind === 'JOB_ASSIGN_UNIQ' ? packet.unique : Buffer.alloc(0);
    };
    const ff = decode(Uint8Array.of(0x6a, 0xff));
    const fe = decode(Uint8Array.of(0x6a, 0xfe));
    assert.deepEqual([...ff], [0x6a, 0xff]);
    assert.deepEqual([...fe], [0x6a, 0xfe]);
    assert.notDeepEqual(ff, fe, 'decoded as UTF-8 both were "j\uFFFD"');
    // The client sends bytes as they are.
    assert.deepEqual(
      client.submitJob('f', Uint8Array.of(0x6a, 0xff), 'x').subarray(12),
      Buffer.from([0x66, 0, 0x6a, 0xff, 0, 0x78]),
    );
  });

  test('split at every possible byte: the same packets come out', () => {
    for (let cut = 1; cut < stream.length; cut += 1) {
      const parser = new PacketParser();
      const a = parser.parse(stream.subarray(0, cut));
      const b = parser.parse(stream.subarray(cut));
      assert.equal(a.error ?? b.error, undefined);
      assert.deepEqual(
        kinds([...a.packets, ...b.packets]),
        ['NOOP', 'JOB_ASSIGN_UNIQ', 'NO_JOB', 'ERROR'],
        `cut at ${cut}`,
      );
    }
  });

  test('one byte at a time', () => {
    const parser = new PacketParser();
    const out: RawPacket[] = [];
    for (const byte of stream) out.push(...parser.parse(Uint8Array.of(byte)).packets);
    assert.deepEqual(kinds(out), ['NOOP', 'JOB_ASSIGN_UNIQ', 'NO_JOB', 'ERROR']);
  });

  test('a 1 MiB job in 64 KiB chunks arrives whole', () => {
    const data = Buffer.alloc(1024 * 1024, 0x61);
    const packet = server.jobAssignUniq('H:1', 'f', 'u', data);
    const parser = new PacketParser();
    const out: RawPacket[] = [];
    for (let i = 0; i < packet.length; i += 65536) out.push(...parser.parse(packet.subarray(i, i + 65536)).packets);
    assert.equal(out.length, 1);
    const p = decodeResponse(out[0] as RawPacket);
    assert.equal(p.kind, 'JOB_ASSIGN_UNIQ');
    assert.deepEqual(p.kind === 'JOB_ASSIGN_UNIQ' && p.data, data);
  });

  test('data with NULs in the last argument is kept whole', () => {
    const parser = new PacketParser();
    const data = Buffer.from([0x7b, 0, 0, 0x7d]);
    const p = decodeResponse(parser.parse(server.jobAssignUniq('H', 'f', 'u', data)).packets[0] as RawPacket);
    assert.deepEqual(p.kind === 'JOB_ASSIGN_UNIQ' && p.data, data);
  });

  test('empty chunks are harmless', () => {
    const parser = new PacketParser();
    assert.deepEqual(parser.parse(new Uint8Array(0)), { packets: [] });
  });
});

describe('parser: streams that cannot be framed', () => {
  test('bad magic: a ProtocolError, no exception, and the parser stays failed', () => {
    const parser = new PacketParser();
    const r = parser.parse(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    assert.ok(r.error instanceof ProtocolError);
    assert.ok(r.error instanceof PoolManagerError, 'under the one error root');
    assert.equal(r.error.code, 'POOL_ERR_GEARMAN_BAD_MAGIC');
    assert.equal(r.packets.length, 0);
    const again = parser.parse(server.noop());
    assert.equal(again.error, r.error);
    assert.equal(again.packets.length, 0);
  });

  test('bad magic after good packets: the good ones are returned with the error', () => {
    const parser = new PacketParser();
    const r = parser.parse(Buffer.concat([server.noop(), server.noJob(), Buffer.from('garbage-garbage!')]));
    assert.equal(r.packets.length, 2);
    assert.equal(r.error?.code, 'POOL_ERR_GEARMAN_BAD_MAGIC');
  });

  test('a request magic where a response is expected is bad magic', () => {
    const r = new PacketParser().parse(worker.preSleep());
    assert.equal(r.error?.code, 'POOL_ERR_GEARMAN_BAD_MAGIC');
    assert.equal(new PacketParser({ expect: 'REQ' }).parse(worker.preSleep()).packets.length, 1);
  });

  test('a length over the limit is refused before any data is buffered', () => {
    const parser = new PacketParser({ maxPacketSize: 1024 });
    const header = hex(`${RES} 00 00 00 1f ff ff ff ff`);
    const r = parser.parse(header);
    assert.equal(r.error?.code, 'POOL_ERR_GEARMAN_TOO_LARGE');
    assert.match(r.error?.message ?? '', /4294967295 bytes/);
    assert.equal(parser.buffered, 0);
  });

  test('random bytes never throw', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 2000; i += 1) {
      const parser = new PacketParser({ maxPacketSize: 4096 });
      const prefix = rand() < 0.5 ? hex(RES) : Buffer.alloc(0);
      const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      const { packets } = parser.parse(Buffer.concat([prefix, junk]));
      for (const p of packets) decodeResponse(p);
    }
  });
});

describe('parser: a job payload over the limit is dropped as it streams in, never buffered', () => {
  const LIMIT = 256 * 1024;
  /** A JOB_ASSIGN(_UNIQ) header announcing `payload` bytes, then its arguments; the payload itself is fed separately. */
  const assignHead = (payload: number, uniq = true): Buffer => {
    const args = Buffer.from(uniq ? 'H:gm:7\0libra_pool_mgm\0job-\xff\0' : 'H:gm:7\0libra_pool_mgm\0', 'latin1');
    const header = Buffer.alloc(12);
    header.set(Buffer.from(RES.replace(/\s+/g, ''), 'hex'), 0);
    header.writeUInt32BE(uniq ? PacketType.JOB_ASSIGN_UNIQ : PacketType.JOB_ASSIGN, 4);
    header.writeUInt32BE(args.length + payload, 8);
    return Buffer.concat([header, args]);
  };

  test('a 10 MiB JOB_ASSIGN_UNIQ in 64 KiB chunks: the arguments come out, the payload is counted, never held', () => {
    const parser = new PacketParser({ maxPacketSize: LIMIT + 4096, maxJobPayload: LIMIT });
    const payload = 10 * 1024 * 1024;
    const stream = Buffer.concat([assignHead(payload), Buffer.alloc(payload, 0x61), server.noop()]);
    const packets: RawPacket[] = [];
    let mostHeld = 0;
    for (let i = 0; i < stream.length; i += 64 * 1024) {
      const r = parser.parse(stream.subarray(i, i + 64 * 1024));
      assert.equal(r.error, undefined);
      packets.push(...r.packets);
      mostHeld = Math.max(mostHeld, parser.buffered);
    }
    assert.ok(mostHeld <= 4096, `held at most ${mostHeld} bytes of a ${payload}-byte payload`);
    assert.equal(packets.length, 2);
    const [assign, noop] = packets as [RawPacket, RawPacket];
    assert.equal(assign.discardedPayload, payload);
    const decoded = decodeResponse(assign);
    assert.equal(decoded.kind, 'JOB_ASSIGN_UNIQ');
    if (decoded.kind !== 'JOB_ASSIGN_UNIQ') return;
    assert.equal(decoded.handle, 'H:gm:7');
    assert.equal(decoded.functionName, 'libra_pool_mgm');
    assert.deepEqual(decoded.unique, Buffer.from('job-\xff', 'latin1'));
    assert.equal(decoded.data.length, 0);
    assert.equal(decodeResponse(noop).kind, 'NOOP', 'framing carries on after the dropped payload');
  });

  test('the same, one byte at a time through the header and arguments, and a JOB_ASSIGN', () => {
    for (const uniq of [true, false]) {
      const parser = new PacketParser({ maxPacketSize: LIMIT + 4096, maxJobPayload: LIMIT });
      const payload = LIMIT + 4097;
      const head = assignHead(payload, uniq);
      const packets: RawPacket[] = [];
      for (const byte of head) packets.push(...parser.parse(Buffer.of(byte)).packets);
      packets.push(...parser.parse(Buffer.alloc(payload - 1, 0x7b)).packets);
      assert.equal(packets.length, 0, 'nothing until the last payload byte');
      packets.push(...parser.parse(Buffer.concat([Buffer.of(0x7d), server.noJob()])).packets);
      assert.deepEqual(
        packets.map((p) => [p.type, p.discardedPayload]),
        [
          [uniq ? PacketType.JOB_ASSIGN_UNIQ : PacketType.JOB_ASSIGN, payload],
          [PacketType.NO_JOB, undefined],
        ],
      );
      const decoded = decodeResponse(packets[0] as RawPacket);
      assert.equal(decoded.kind, uniq ? 'JOB_ASSIGN_UNIQ' : 'JOB_ASSIGN');
    }
  });

  test('a payload at the limit is framed whole (the job layer reads it)', () => {
    const parser = new PacketParser({ maxPacketSize: LIMIT + 4096, maxJobPayload: LIMIT });
    const packet = server.jobAssignUniq('H:gm:8', 'libra_pool_mgm', 'u', Buffer.alloc(LIMIT, 0x61));
    const { packets, error } = parser.parse(packet);
    assert.equal(error, undefined);
    assert.equal(packets[0]?.discardedPayload, undefined);
    const decoded = decodeResponse(packets[0] as RawPacket);
    assert.equal(decoded.kind === 'JOB_ASSIGN_UNIQ' && decoded.data.length, LIMIT);
  });

  test('arguments that do not end within 4 KiB: a misbehaving server, refused', () => {
    const parser = new PacketParser({ maxPacketSize: LIMIT + 4096, maxJobPayload: LIMIT });
    const header = assignHead(0).subarray(0, 12);
    header.writeUInt32BE(LIMIT * 4, 8);
    const r = parser.parse(Buffer.concat([header, Buffer.alloc(8192, 0x41)]));
    assert.equal(r.error?.code, 'POOL_ERR_GEARMAN_TOO_LARGE');
    assert.match(r.error?.message ?? '', /JOB_ASSIGN_UNIQ arguments run past 4096 bytes/);
    assert.ok(parser.buffered <= 4096);
  });

  test('any other packet over the framing limit is refused from its header alone', () => {
    const parser = new PacketParser({ maxPacketSize: LIMIT + 4096, maxJobPayload: LIMIT });
    const echo = server.echoRes(Buffer.alloc(LIMIT + 4097));
    const r = parser.parse(echo.subarray(0, 12));
    assert.equal(r.error?.code, 'POOL_ERR_GEARMAN_TOO_LARGE');
    assert.match(r.error?.message ?? '', /ECHO_RES packet announces 266241 bytes of data, over the 266240-byte limit/);
    assert.equal(parser.buffered, 0);
  });
});

describe('decoder: packets with the wrong arguments', () => {
  test('JOB_ASSIGN_UNIQ without enough NULs is OTHER with a reason, not an exception', () => {
    const raw = encodePacket('RES', PacketType.JOB_ASSIGN_UNIQ, ['only-a-handle']);
    const p = decodeResponse(new PacketParser().parse(raw).packets[0] as RawPacket);
    assert.equal(p.kind, 'OTHER');
    assert.match(p.kind === 'OTHER' ? (p.reason ?? '') : '', /unique id/);
  });

  test('an unknown type is OTHER, named', () => {
    const p = decodeResponse(new PacketParser().parse(encodePacket('RES', 99, ['x'])).packets[0] as RawPacket);
    assert.equal(p.kind === 'OTHER' && p.name, 'UNKNOWN(99)');
  });

  test('splitArguments: the last argument takes the rest', () => {
    assert.deepEqual(splitArguments(Buffer.from('a\0b\0c\0d'), 3)?.map(String), ['a', 'b', 'c\0d']);
    assert.equal(splitArguments(Buffer.from('a'), 2), undefined);
    assert.deepEqual(splitArguments(Buffer.from(''), 1)?.map(String), ['']);
  });
});
