/**
 * Deterministic bad input for the pool manager: a seeded generator of job payloads that
 * must each be answered with a FAIL result object. Every payload is wrong in a way the
 * contract must refuse (no payload here is a valid message: none may boot a server or
 * allocate an address): random bytes, truncated JSON, deep nesting, huge strings, the
 * wrong type in each field, unicode, numbers where strings belong, messages over 1 MB.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzCase {
  /** The generator that made it (for the summary). */
  kind: string;
  payload: Buffer;
  /** The message as a JSON object when the payload parses to one (for the echo check). */
  message?: Record<string, unknown>;
}

const ACTIONS = ['BUILD_DEVICE', 'DELETE_DEVICE', 'BUILD_IP', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP'];
/** Characters that never turn into ASCII letters when upper-cased, and are not whitespace to trim(). */
const UNICODE = ['\u200b', '\u0301', '\u202e', '中', 'ｘ', '🚀', 'Ж', '\u0000', '\ud83d', '\udc00', 'é', 'ǅ', '\u2066'];
const NOT_IPV4 = [
  '',
  ' ',
  '127.0.0.1 ',
  '256.1.1.1',
  '1.2.3',
  '1.2.3.4.5',
  '0x7f.0.0.1',
  '::1',
  'localhost',
  '127.0.0.1/32',
  '１２７.0.0.1',
  '127.0.0.1\u0000',
  '-1.0.0.0',
  '1e3.0.0.1',
];
const WRONG_TYPES: unknown[] = [0, -1, 1.5, 1e308, true, false, null, [], ['x'], {}, { a: 1 }];

export function fuzzCases(count: number, seed = 20240501): FuzzCase[] {
  const random = seeded(seed);
  const int = (max: number): number => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const unicodeString = (length: number): string => Array.from({ length }, () => pick(UNICODE)).join('');
  /** An action string that is not one of the six, even case-insensitively and trimmed. */
  const badAction = (): unknown => {
    switch (int(7)) {
      case 0:
        return pick(WRONG_TYPES);
      case 1:
        return `${pick(ACTIONS)}${pick(UNICODE)}`;
      case 2:
        return `${pick(UNICODE)}${pick(ACTIONS).toLowerCase()}`;
      case 3:
        return pick(ACTIONS).replace('_', pick(['-', ' ', '', '__', '\u200b']));
      case 4:
        return pick([
          '',
          ' ',
          'EXPLODE',
          'BUILD',
          'DELETE',
          'PASS',
          'FAIL',
          'null',
          '{}',
          'BUILD_DEVICE;DELETE_DEVICE',
          '__proto__',
          'constructor',
        ]);
      case 5:
        return 'A'.repeat(1 + int(5000));
      default:
        return unicodeString(1 + int(40));
    }
  };
  /** A message with a real action and at least one required field wrong. */
  const badFields = (): Record<string, unknown> => {
    const action = pick(['DELETE_DEVICE', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP']);
    const shown = random() < 0.3 ? action.toLowerCase() : action;
    const message: Record<string, unknown> = { action: shown };
    const needsName = action !== 'DELETE_IP';
    const needsIp = action !== 'DELETE_DEVICE';
    const badName = (): unknown => pick([pick(WRONG_TYPES), '', 'n'.repeat(256 + int(2000)), int(1000)]);
    const badIp = (): unknown => pick([pick(WRONG_TYPES), pick(NOT_IPV4), unicodeString(1 + int(10)), 2130706433]);
    // Which required field is wrong; the other (if any) may be right.
    const breakName = needsName && (!needsIp || random() < 0.5);
    if (needsName) message.name = breakName ? badName() : pick(['libra-1', 'libra-10', '.*', unicodeString(5)]);
    if (needsIp) message.ip = breakName ? pick(['127.0.100.1', badIp()]) : badIp();
    if (random() < 0.3) message.extra = pick([unicodeString(20), int(100), null, { nested: [1, 2, 3] }]);
    return message;
  };

  const cases: FuzzCase[] = [];
  const json = (kind: string, message: Record<string, unknown>): FuzzCase => ({
    kind,
    payload: Buffer.from(JSON.stringify(message), 'utf8'),
    message,
  });
  for (let i = 0; i < count; i += 1) {
    const roll = int(100);
    if (roll < 12) {
      const bytes = Buffer.alloc(int(600));
      for (let j = 0; j < bytes.length; j += 1) bytes[j] = int(256);
      cases.push({ kind: 'random bytes', payload: bytes });
    } else if (roll < 24) {
      const text = JSON.stringify({ action: pick(ACTIONS), name: 'libra-1', ip: '127.0.100.1', n: int(1e6) });
      cases.push({ kind: 'truncated JSON', payload: Buffer.from(text.slice(0, int(text.length)), 'utf8') });
    } else if (roll < 30) {
      const depth = pick([64, 1000, 5000, 20_000, 100_000]);
      const open = pick(['[', '{"a":']);
      const close = open === '[' ? ']' : '}';
      // A real action with nesting too deep to forward, or a wrong action at any depth.
      const action = depth >= 20_000 && random() < 0.5 ? JSON.stringify(pick(ACTIONS)) : JSON.stringify(badAction());
      cases.push({
        kind: 'deep nesting',
        payload: Buffer.from(`{"action":${action},"x":${open.repeat(depth)}0${close.repeat(depth)}}`, 'utf8'),
      });
    } else if (roll < 38) {
      const size = pick([10_000, 100_000, 250_000, 300_000]);
      const where = int(3);
      const message: Record<string, unknown> =
        where === 0
          ? { action: 'X'.repeat(size) }
          : where === 1
            ? { action: 'DELETE_DEVICE', name: 'n'.repeat(size) }
            : { action: pick(['ASSIGN_IP', 'DELETE_IP']), ip: '1'.repeat(size), name: 'libra-1' };
      cases.push(json('huge strings', message));
    } else if (roll < 56) {
      cases.push(json('wrong types', random() < 0.4 ? { action: badAction() } : badFields()));
    } else if (roll < 66) {
      const message =
        random() < 0.5
          ? { action: unicodeString(1 + int(12)), name: unicodeString(3 + int(30)) }
          : { ...badFields(), note: unicodeString(50) };
      cases.push(json('unicode', message));
    } else if (roll < 74) {
      const message: Record<string, unknown> = pick([
        { action: int(10) },
        { action: 'DELETE_IP', ip: 2130706433 },
        { action: 'ASSIGN_IP', ip: 127.0001, name: 'libra-1' },
        { action: 'DELETE_DEVICE', name: 12345 },
        { action: 'REMOVE_IP', ip: '127.0.100.1', name: 1e21 },
      ]);
      cases.push(json('numbers for strings', message));
    } else if (roll < 82) {
      const text = pick([
        '[]',
        '[{"action":"BUILD_IP"}]',
        '42',
        '-0',
        '"BUILD_IP"',
        'null',
        'true',
        '""',
        '1e999',
        'NaN',
        'Infinity',
        '{}',
        '{"action":"BUILD_IP"}{"action":"BUILD_IP"}',
        "{'action':'BUILD_IP'}",
        '{"action":"BUILD_IP",}',
        '\u0000{"action":"BUILD_IP"}',
      ]);
      cases.push({ kind: 'not one JSON object', payload: Buffer.from(text, 'utf8') });
    } else if (roll < 88) {
      const message = JSON.parse(
        pick([
          '{"__proto__":{"response":"PASS","polluted":true},"action":"EXPLODE"}',
          '{"constructor":{"prototype":{"polluted":true}},"action":null}',
          '{"action":"DELETE_IP","ip":"1.2.3.4.5","response":"PASS"}',
          '{"action":"ASSIGN_IP","action":"NOPE","ip":"127.0.100.1","name":"x"}',
          '{"action":"DELETE_DEVICE","name":"","error":"not me"}',
        ]),
      ) as Record<string, unknown>;
      cases.push({ kind: 'tricky keys', payload: Buffer.from(JSON.stringify(message), 'utf8'), message });
    } else if (roll < 92) {
      // Invalid UTF-8 inside an otherwise fine message.
      const head = Buffer.from('{"action":"BUILD_IP","name":"', 'utf8');
      cases.push({
        kind: 'invalid UTF-8',
        payload: Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]), Buffer.from('"}')]),
      });
    } else if (roll < 96) {
      const keys = Object.fromEntries(Array.from({ length: 2000 + int(8000) }, (_, k) => [`k${k}`, k]));
      cases.push(json('many keys', { action: badAction(), ...keys }));
    } else {
      const size = 1024 * 1024 + int(64 * 1024);
      const pad = Buffer.alloc(size, 0x61);
      cases.push({
        kind: '1 MB message',
        payload: Buffer.concat([Buffer.from('{"action":"BUILD_IP","pad":"'), pad, Buffer.from('"}')]),
      });
    }
  }
  return cases;
}
