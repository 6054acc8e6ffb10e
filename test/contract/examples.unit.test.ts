/**
 * The contract three ways, held together: contract/examples/ (the messages as the user wrote
 * them), the contract module (INPUT_FIELDS, PASS_FIELDS, the schemas the functions validate
 * with) and docs/contract.md (what a client reads). A change to one that the others do not
 * follow fails here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Action } from '../../contract';
import { ACTIONS, ENVELOPE_VERSION, GEARMAN_FUNCTION, INPUT_FIELDS, PASS_FIELDS, validate } from '../../contract';
import { EXAMPLES_DIR, contractExamples, exampleStem, withoutTrailingComma } from '../helpers/contract-examples';

const DOC = path.join(import.meta.dirname, '..', '..', 'docs', 'contract.md');
const doc = fs.readFileSync(DOC, 'utf8');
const examples = contractExamples();

/** The example message as JSON; BUILD_IP's is written with a trailing comma, which is dropped. */
function parsed(action: Action, text: string): Record<string, unknown> {
  const json = action === 'BUILD_IP' ? withoutTrailingComma(text) : text;
  return JSON.parse(json) as Record<string, unknown>;
}

test('contract/examples/ has a message and a response for each action, and nothing else', () => {
  assert.deepEqual(
    examples.map((e) => e.action),
    Object.keys(ACTIONS),
  );
  const expected = Object.keys(ACTIONS).flatMap((a) => [
    `${exampleStem(a as Action)}.message.txt`,
    `${exampleStem(a as Action)}.response.json`,
  ]);
  assert.deepEqual(fs.readdirSync(EXAMPLES_DIR).sort(), [...expected, 'README.md'].sort());
});

test("the user's BUILD_IP example is kept as written: with its trailing comma, not JSON", () => {
  const buildIp = examples.find((e) => e.action === 'BUILD_IP');
  assert.ok(buildIp);
  assert.match(buildIp.message, /"BUILD_IP",\s*\}$/);
  assert.throws(() => JSON.parse(buildIp.message), SyntaxError);
});

for (const { action, message, response } of examples) {
  test(`${action}: the example message is valid, and the response is the message plus PASS_FIELDS`, () => {
    const sent = parsed(action, message);
    assert.equal(sent.action, action);
    assert.equal(validate(action, sent), undefined, 'the example message passes the schema the functions use');
    assert.equal(response.response, 'PASS');
    for (const [key, value] of Object.entries(sent)) assert.deepEqual(response[key], value, `${key} is echoed`);
    assert.deepEqual(
      Object.keys(response).sort(),
      [...new Set([...Object.keys(sent), ...PASS_FIELDS[action], 'response'])].sort(),
    );
    for (const field of PASS_FIELDS[action]) assert.equal(typeof response[field], 'string', `${field} is a string`);
  });

  test(`${action}: each field of INPUT_FIELDS is required, and the error names it`, () => {
    const sent = parsed(action, message);
    assert.deepEqual(
      INPUT_FIELDS[action].slice().sort(),
      Object.keys(sent)
        .filter((k) => k !== 'action')
        .sort(),
      'the example carries exactly the input fields',
    );
    for (const field of INPUT_FIELDS[action]) {
      const without = { ...sent };
      delete without[field];
      assert.match(validate(action, without) ?? '', new RegExp(`'${field}' is missing`));
    }
  });
}

test('docs/contract.md: its action table says what the contract module says and links each example', () => {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length > 4 && Object.hasOwn(ACTIONS, cells[1] ?? '')) rows.set(cells[1] ?? '', cells.slice(2, 5));
  }
  const fields = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  assert.deepEqual([...rows.keys()], Object.keys(ACTIONS));
  for (const [action, [input = '', added = '', links = '']] of rows) {
    const a = action as Action;
    assert.deepEqual(fields(input), INPUT_FIELDS[a], `${action}: input fields`);
    assert.deepEqual(fields(added), PASS_FIELDS[a], `${action}: fields added on PASS`);
    const targets = [...links.matchAll(/\]\(([^)]+)\)/g)].map((m) => path.resolve(path.dirname(DOC), m[1] ?? ''));
    assert.deepEqual(
      targets,
      [`${exampleStem(a)}.message.txt`, `${exampleStem(a)}.response.json`].map((f) => path.join(EXAMPLES_DIR, f)),
      `${action}: links to its example`,
    );
  }
});

test('docs/contract.md names the Gearman function and shows the envelope the bridge sends', () => {
  assert.ok(doc.includes(`**\`${GEARMAN_FUNCTION}\`**`));
  const envelope = /^ {4}(\{"envelope".*\n {4,}.*\})$/m.exec(doc)?.[1];
  assert.ok(envelope, 'an indented envelope example');
  const shown = JSON.parse(envelope) as Record<string, unknown>;
  assert.equal(shown.envelope, ENVELOPE_VERSION);
  assert.deepEqual(Object.keys(shown), ['envelope', 'unique', 'handle', 'message']);
});
