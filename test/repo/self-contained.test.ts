/**
 * A fresh clone stands alone: no tracked file reads, links or imports anything outside the
 * repository (test/repo/references.ts says what is looked at), and every relative link in the
 * docs leads to a file the clone has.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Finding } from './references';
import { findOutsideReferences, markdownTargets, outsideSymlinks } from './references';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f !== '' && fs.existsSync(path.join(ROOT, f)));

/** A tracked file's text, or undefined for a binary one. */
function textOf(file: string): string | undefined {
  const bytes = fs.readFileSync(path.join(ROOT, file));
  return bytes.includes(0) ? undefined : bytes.toString('utf8');
}

const show = (findings: Finding[]): string => findings.map((f) => `${f.file}:${f.line}: ${f.what}`).join('\n');

test('no tracked file refers to a path outside the repository', () => {
  assert.ok(files.length > 100, `git ls-files listed ${files.length} files`);
  const findings = outsideSymlinks(ROOT, files);
  for (const file of files) {
    const text = textOf(file);
    if (text !== undefined) findings.push(...findOutsideReferences(ROOT, file, text));
  }
  assert.equal(findings.length, 0, `references outside the repository:\n${show(findings)}`);
});

test('relative links in the Markdown files lead to files of the repository', () => {
  const broken: string[] = [];
  for (const file of files.filter((f) => f.endsWith('.md'))) {
    const text = textOf(file) ?? '';
    for (const { target } of markdownTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      const bare = decodeURI(target.replace(/[#?].*$/, ''));
      if (bare && !fs.existsSync(path.resolve(ROOT, path.dirname(file), bare))) broken.push(`${file}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

// The checker itself, on the kinds of reference it must catch (and some it must let be).
const sample = (file: string, text: string): string[] => findOutsideReferences(ROOT, file, text).map((f) => f.what);
const SHARED = ['..', 'shared'].join('/');
const WORK = `/${'work'}/`;

test('caught: the spec read through the repository root (the end-to-end helper once did this)', () => {
  const text = [
    "import path from 'node:path';",
    "import { ROOT, startFleet } from '../../scripts/fleet';",
    "export const SPEC_FILE = path.resolve(ROOT, '..', 'shared', 'spec', 'pool-manager-commands.txt');",
  ].join('\n');
  const found = sample('test/e2e/helpers.ts', text);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(
    found[0] ?? '',
    /^path\.resolve\(\): \S+\/shared\/spec\/pool-manager-commands\.txt is outside the repository$/,
  );
});

test('caught: climbing out from import.meta.dirname, a const, __dirname or new URL()', () => {
  const text = [
    'const here = path.dirname(fileURLToPath(import.meta.url));',
    "const up = join(import.meta.dirname, '..', '..', '..');",
    "const spec = path.join(here, '../../../other/spec.txt');",
    "const cjs = path.resolve(__dirname, '..', '..', '..', 'x');",
    "const url = new URL('../../../x.json', import.meta.url);",
    "const ok = path.join(import.meta.dirname, '..', '..', 'contract');",
    "const system = path.join('/usr/sbin', 'gearmand');",
  ].join('\n');
  assert.deepEqual(
    sample('test/e2e/x.ts', text).map((what) => what.split(':')[0]),
    ['path.join()', 'path.join()', 'path.resolve()', 'new URL()'],
  );
});

test('caught: imports, links and literals that leave the repository', () => {
  assert.deepEqual(sample('bridge/x.ts', "import { a } from '../../elsewhere/a';\nexport * from './fine';"), [
    'import: ../../elsewhere/a climbs out of the repository',
  ]);
  assert.deepEqual(sample('bridge/x.ts', "const m = await import('../../../m.js');"), [
    'import(): ../../../m.js climbs out of the repository',
  ]);
  assert.deepEqual(
    sample('docs/x.md', `[the spec](../${SHARED}/spec.txt) [ok](../README.md) [web](https://example.com/a/../b)`),
    ['names the shared folder beside the clone', `link: ../${SHARED}/spec.txt climbs out of the repository`],
  );
  assert.deepEqual(sample('README.md', `see ${WORK}main/README.md`), [
    "names an absolute path on the author's machine",
  ]);
  assert.deepEqual(sample('serverless.yml', 'a: ${file(../deadlines.json)}'), [
    '${file()}: ../deadlines.json climbs out of the repository',
  ]);
});
