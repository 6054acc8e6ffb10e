/**
 * Finds references from a tracked file to a path outside the repository: a clone must work on
 * its own, with nothing beside it. Checked:
 * - any file: the literal parent-of-the-clone folder `shared`, and absolute paths under the
 *   machine's work directory (both patterns are spelled in escaped form below, so this file
 *   does not match itself);
 * - Markdown: link and image targets, reference definitions, href/src attributes;
 * - TypeScript and JavaScript (parsed with the TypeScript compiler): import and export
 *   specifiers, import() and require(), `new URL(x, import.meta.url)`, and path.join/resolve
 *   calls whose value can be worked out from the file alone (string literals,
 *   import.meta.dirname, fileURLToPath(import.meta.url), __dirname, consts of the file, and an imported ROOT/root, which the
 *   project uses for the repository root);
 * - YAML: serverless's `${file(...)}`;
 * - symbolic links.
 * A relative path that climbs above the repository root, or an absolute path, is outside.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface Finding {
  file: string;
  line: number;
  what: string;
}

const PARENT_SHARED = /\.\.\/shared\b/;
const WORK_DIR = /(?<![\w.~-])\/work\//;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** Identifiers the project binds to the repository root (scripts/fleet's ROOT and its copies). */
const ROOT_NAME = /^(repo_?)?root$/i;

function inside(root: string, absolute: string): boolean {
  const rel = path.relative(root, absolute);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Why `target` (relative to `fromDir`, or absolute) is outside `root`; undefined when inside. */
function escapes(root: string, fromDir: string, target: string): string | undefined {
  if (path.isAbsolute(target)) return `absolute path ${target}`;
  return inside(root, path.resolve(fromDir, target)) ? undefined : `${target} climbs out of the repository`;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Markdown link targets with their offsets: [x](t), ![x](t), [x]: t, href="t", src="t". */
export function markdownTargets(text: string): { target: string; index: number }[] {
  const out: { target: string; index: number }[] = [];
  const patterns = [/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g, /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm];
  for (const pattern of [...patterns, /\b(?:href|src)\s*=\s*"([^"]+)"/g]) {
    for (const m of text.matchAll(pattern)) out.push({ target: m[1] ?? '', index: m.index ?? 0 });
  }
  return out;
}

/** Checks one file's text; `file` is its path relative to `root`. */
export function findOutsideReferences(root: string, file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const dir = path.dirname(path.join(root, file));
  const add = (index: number, what: string): void => {
    findings.push({ file, line: lineOf(text, index), what });
  };
  for (const [pattern, what] of [
    [PARENT_SHARED, 'names the shared folder beside the clone'],
    [WORK_DIR, "names an absolute path on the author's machine"],
  ] as const) {
    const global = new RegExp(pattern.source, 'g');
    for (const m of text.matchAll(global)) add(m.index ?? 0, what);
  }

  if (file.endsWith('.md')) {
    for (const { target, index } of markdownTargets(text)) {
      if (SCHEME.test(target) || target.startsWith('#')) continue;
      const bare = target.replace(/[#?].*$/, '');
      if (!bare) continue;
      const outside = escapes(root, dir, decodeURI(bare));
      if (outside) add(index, `link: ${outside}`);
    }
  }

  if (/\.ya?ml$/.test(file)) {
    for (const m of text.matchAll(/\$\{file\(([^)]+)\)/g)) {
      const outside = escapes(root, dir, m[1] ?? '');
      if (outside) add(m.index ?? 0, `\${file()}: ${outside}`);
    }
  }

  if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(file)) {
    for (const f of codeReferences(root, file, text)) findings.push(f);
  }
  return findings;
}

function codeReferences(root: string, file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const absolute = path.join(root, file);
  const dir = path.dirname(absolute);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const add = (node: ts.Node, what: string): void => {
    findings.push({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, what });
  };

  // const X = <expression>, anywhere in the file, for evaluating identifiers.
  const consts = new Map<string, ts.Expression>();
  const rootImports = new Set<string>();
  const collect = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      ts.isVariableDeclarationList(node.parent) &&
      node.parent.flags & ts.NodeFlags.Const
    ) {
      consts.set(node.name.text, node.initializer);
    }
    if (ts.isImportSpecifier(node) && ROOT_NAME.test(node.name.text)) rootImports.add(node.name.text);
    ts.forEachChild(node, collect);
  };
  collect(source);

  const isImportMeta = (node: ts.Node, property: string): boolean =>
    ts.isPropertyAccessExpression(node) &&
    node.name.text === property &&
    ts.isMetaProperty(node.expression) &&
    node.expression.keywordToken === ts.SyntaxKind.ImportKeyword;
  const calleeName = (call: ts.CallExpression): string | undefined => {
    const callee = call.expression;
    if (ts.isIdentifier(callee)) return callee.text;
    if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
    return undefined;
  };
  const isPathCall = (call: ts.CallExpression): 'join' | 'resolve' | undefined => {
    const callee = call.expression;
    const name = calleeName(call);
    if (name !== 'join' && name !== 'resolve') return undefined;
    // path.join / path.resolve / posix.join, or a bare join/resolve imported from node:path.
    if (ts.isPropertyAccessExpression(callee)) {
      const object = callee.expression;
      return ts.isIdentifier(object) && /^(path|posix|win32)$/.test(object.text) ? name : undefined;
    }
    return name;
  };
  /** new URL(x, import.meta.url): the path x names, relative to this file. */
  const urlTarget = (node: ts.Node): string | undefined => {
    if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'URL')
      return undefined;
    const [first, base] = node.arguments ?? [];
    if (!first || !base || !isImportMeta(base, 'url') || !ts.isStringLiteralLike(first)) return undefined;
    return first.text;
  };

  const evaluating = new Set<string>();
  /**
   * The path an expression names, or undefined when the file alone cannot tell. `anchored`:
   * it is built from this file's place in the repository (or is relative, and so taken from
   * the repository root, where npm runs), not from an absolute path of the system's.
   */
  const evaluate = (node: ts.Expression): { value: string; anchored: boolean } | undefined => {
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return evaluate(node.expression);
    if (ts.isStringLiteralLike(node)) return { value: node.text, anchored: !path.isAbsolute(node.text) };
    if (isImportMeta(node, 'dirname')) return { value: dir, anchored: true };
    if (isImportMeta(node, 'filename')) return { value: absolute, anchored: true };
    if (ts.isIdentifier(node)) {
      if (node.text === '__dirname') return { value: dir, anchored: true };
      if (node.text === '__filename') return { value: absolute, anchored: true };
      if (rootImports.has(node.text)) return { value: root, anchored: true };
      const init = consts.get(node.text);
      if (!init || evaluating.has(node.text)) return undefined;
      evaluating.add(node.text);
      try {
        return evaluate(init);
      } finally {
        evaluating.delete(node.text);
      }
    }
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      if (name === 'fileURLToPath' && node.arguments[0]) {
        if (isImportMeta(node.arguments[0], 'url')) return { value: absolute, anchored: true };
        const target = urlTarget(node.arguments[0]);
        return target === undefined ? undefined : { value: path.resolve(dir, target), anchored: true };
      }
      const args = node.arguments.map((a) => evaluate(a));
      if (args.some((a) => a === undefined)) return undefined;
      const values = args.map((a) => a?.value ?? '');
      const anchored = args.every((a) => a?.anchored);
      if (name === 'dirname' && values.length === 1) return { value: path.dirname(values[0] ?? ''), anchored };
      const kind = isPathCall(node);
      if (kind === 'join') return { value: path.join(...values), anchored };
      if (kind === 'resolve') return { value: path.resolve(root, ...values), anchored };
    }
    return undefined;
  };

  const checkSpecifier = (node: ts.Node, specifier: string, what: string): void => {
    if (!specifier.startsWith('.') && !specifier.startsWith('/')) return;
    const outside = escapes(root, dir, specifier);
    if (outside) add(node, `${what}: ${outside}`);
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteralLike(node.moduleSpecifier)) checkSpecifier(node, node.moduleSpecifier.text, 'import');
    } else if (ts.isImportTypeNode(node)) {
      const literal = ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined;
      if (literal && ts.isStringLiteralLike(literal)) checkSpecifier(node, literal.text, 'import type');
    } else if (ts.isCallExpression(node)) {
      const first = node.arguments[0];
      const dynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      if ((dynamicImport || calleeName(node) === 'require') && first && ts.isStringLiteralLike(first)) {
        checkSpecifier(node, first.text, dynamicImport ? 'import()' : 'require()');
      } else if (isPathCall(node)) {
        const named = evaluate(node);
        if (named?.anchored && !inside(root, path.resolve(root, named.value))) {
          add(node, `path.${isPathCall(node)}(): ${named.value} is outside the repository`);
        }
      }
    } else {
      const target = urlTarget(node);
      if (target !== undefined) {
        const outside = escapes(root, dir, target);
        if (outside) add(node, `new URL(): ${outside}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

/** Every tracked symbolic link whose target is outside the repository. */
export function outsideSymlinks(root: string, files: string[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const absolute = path.join(root, file);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(absolute);
    } catch {
      continue;
    }
    if (!stat.isSymbolicLink()) continue;
    const outside = escapes(root, path.dirname(absolute), fs.readlinkSync(absolute));
    if (outside) findings.push({ file, line: 0, what: `symbolic link: ${outside}` });
  }
  return findings;
}
