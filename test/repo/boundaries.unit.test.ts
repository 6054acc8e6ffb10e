/**
 * The dependency rules of eslint.config.js fire: each refused import is an error from
 * `npm run lint` with a message that says where the code belongs, and the allowed ones pass.
 * ESLint lints each probe as if it were a file at that path (nothing is written to disk).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

/** The no-restricted-imports messages (ours, without ESLint's prefix) for `code` placed at `file`. */
async function refusals(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  assert.ok(result, file);
  const other = result.messages.filter((m) => m.ruleId !== 'no-restricted-imports' && m.fatal);
  assert.deepEqual(other, [], `${file} parses`);
  // ESLint's text is "'<specifier>' import is restricted from being used by a pattern. <ours>".
  return result.messages
    .filter((m) => m.ruleId === 'no-restricted-imports')
    .map((m) => m.message.replace(/^'[^']+' import is restricted from being used by a pattern\. /, ''));
}

test('bridge/ may not import functions/, in any form, from any depth', async () => {
  const found = await refusals(
    'bridge/protocol/probe.ts',
    [
      "import { runAction } from '../../functions/core/run';",
      "import type { Env } from '../../functions/config';",
      "export { handler } from '../../functions/handlers/buildIp';",
      'export const used = [runAction] as unknown as Env;',
    ].join('\n'),
  );
  assert.equal(found.length, 3, found.join('\n'));
  for (const message of found) assert.match(message, /^bridge\/ must not import functions\/: .*contract\//);
});

test('functions/ may not import bridge/', async () => {
  assert.deepEqual(await refusals('functions/core/probe.ts', "import { prepareJob } from '../../bridge/job';\n"), [
    'functions/ must not import bridge/: what both need belongs in contract/, imported from contract/index.ts.',
  ]);
});

test('contract/ imports nothing else of the project', async () => {
  const found = await refusals(
    'contract/probe.ts',
    ['functions/config', 'bridge/job', 'scripts/fleet', 'test/helpers/cloud', 'bench/lib/common']
      .map((target, i) => `import * as m${i} from '../${target}';`)
      .join('\n'),
  );
  assert.deepEqual(
    found.map((m) => m.split(':')[0]),
    ['functions', 'bridge', 'scripts', 'test', 'bench'].map((folder) => `contract/ must not import ${folder}/`),
  );
});

test('scripts/ and bench/ may not import test/', async () => {
  assert.equal(
    (await refusals('scripts/job/probe.ts', "import { startCloud } from '../../test/helpers/cloud';\n"))[0],
    'scripts/ must not import test/: tests depend on the tools, not the other way round.',
  );
  assert.equal(
    (await refusals('bench/probe.ts', "import { bundleHandlers } from '../test/helpers/lambda';\n"))[0],
    'bench/ must not import test/: benchmarks depend on the tools, not on the tests.',
  );
});

test('the allowed directions pass', async () => {
  for (const [file, code] of [
    ['bridge/probe.ts', "import { ACTIONS } from '../contract';\nimport { prepareJob } from './job';\n"],
    ['functions/core/probe.ts', "import { fail } from '../../contract';\nimport { runAction } from './run';\n"],
    ['contract/probe.ts', "import { ACTIONS } from './actions';\nimport * as z from 'zod/mini';\n"],
    ['scripts/job/probe.ts', "import { parseHostPort } from '../../bridge/address';\n"],
    [
      'test/probe.test.ts',
      "import { runAction } from '../functions/core/run';\nimport { prepareJob } from '../bridge/job';\n",
    ],
  ] as const) {
    assert.deepEqual(await refusals(file, code), [], file);
  }
});
