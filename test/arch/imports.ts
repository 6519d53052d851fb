/**
 * Imports between the parts of src/: every module a file refers to (parsed
 * with the TypeScript compiler, so comments and strings never count), the
 * "Allowed imports" table of ARCHITECTURE.md, the check of one file against
 * it, and the set of files that a group of files reaches through the imports
 * that emit code.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SRC = join(ROOT, 'src');
export const TABLE_HEADING = '## Allowed imports';

export interface Offence {
  /** Path relative to the repository root, with forward slashes. */
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

export const formatOffence = (o: Offence): string => `${o.file}:${o.line}: ${o.what}`;

/** A module named by a file. */
export interface ModuleRef {
  /** The specifier as written; null for `import(expr)` / `require(expr)` with a computed name. */
  readonly spec: string | null;
  readonly line: number;
  /** True when no code is emitted for it (`import type`, `export type`, `import('x').T`). */
  readonly typeOnly: boolean;
  /** `new URL('./x.js', import.meta.url)`: a file loaded or started at run time rather than imported. */
  readonly runtimeUrl: boolean;
}

/** Path relative to the repository root, with forward slashes. */
export const repoPath = (abs: string): string => relative(ROOT, abs).split(sep).join('/');

export function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

const isImportMetaUrl = (e: ts.Expression | undefined): boolean =>
  e !== undefined &&
  ts.isPropertyAccessExpression(e) &&
  e.name.text === 'url' &&
  ts.isMetaProperty(e.expression) &&
  e.expression.keywordToken === ts.SyntaxKind.ImportKeyword;

/** Every module that one source file names, in source order. */
export function moduleRefs(sf: ts.SourceFile): ModuleRef[] {
  const out: ModuleRef[] = [];
  const add = (node: ts.Node, spec: ts.Node | undefined, typeOnly: boolean, runtimeUrl = false): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ spec: spec !== undefined && ts.isStringLiteralLike(spec) ? spec.text : null, line, typeOnly, runtimeUrl });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add(node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        add(node, node.arguments[0], false);
      }
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL') {
      const [first, second] = node.arguments ?? [];
      if (first !== undefined && ts.isStringLiteralLike(first) && first.text.startsWith('.') && isImportMetaUrl(second)) {
        add(node, first, false, true);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export const isRelative = (spec: string): boolean => spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');

/**
 * The entry of the table that a repository path belongs to: the folder for
 * `src/<folder>/...`, the file name for a file at the top of src/ (a `.js`
 * specifier names its `.ts` source); null outside src/.
 */
export function entryOf(path: string): string | null {
  const parts = posix.normalize(path).split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  if (parts.length > 2) return parts[1]!;
  return parts[1]!.replace(/\.(m|c)?js$/, '.ts');
}

// ---- the table -------------------------------------------------------------

/** Entry → the other entries it may import (an entry may always import itself). */
export type ImportTable = ReadonlyMap<string, ReadonlySet<string>>;

const CODE_SPAN = /^`([^`]+)`$/;

/**
 * Reads the first table under the `## Allowed imports` heading of a markdown
 * text: a header `| folder | may import |`, then one row per entry whose
 * second cell is `nothing` or a comma-separated list of entries in backticks.
 * Throws on anything else, so the document cannot say more than the check
 * understands.
 */
export function parseImportTable(markdown: string): ImportTable {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === TABLE_HEADING);
  if (start < 0) throw new Error(`no "${TABLE_HEADING}" heading`);
  let i = start + 1;
  while (i < lines.length && !lines[i]!.trimStart().startsWith('|') && !/^#{1,2} /.test(lines[i]!)) i++;
  if (i >= lines.length || !lines[i]!.trimStart().startsWith('|')) throw new Error(`no table under "${TABLE_HEADING}"`);
  const cells = (n: number): string[] => {
    const row = lines[n]!.trim();
    if (!row.startsWith('|') || !row.endsWith('|')) throw new Error(`line ${n + 1}: a table row starts and ends with |`);
    return row.slice(1, -1).split('|').map((c) => c.trim());
  };
  const header = cells(i).map((c) => c.toLowerCase());
  if (header.length !== 2 || header[0] !== 'folder' || header[1] !== 'may import') {
    throw new Error(`line ${i + 1}: the table's header must be "| folder | may import |"`);
  }
  if (!cells(i + 1).every((c) => /^:?-+:?$/.test(c))) throw new Error(`line ${i + 2}: expected the header's separator row`);
  const table = new Map<string, Set<string>>();
  const rowLine = new Map<string, number>();
  for (let n = i + 2; n < lines.length && lines[n]!.trimStart().startsWith('|'); n++) {
    const [name, allowed, ...rest] = cells(n);
    const entry = CODE_SPAN.exec(name ?? '')?.[1];
    if (entry === undefined || allowed === undefined || rest.length > 0) {
      throw new Error(`line ${n + 1}: a row is | \`entry\` | \`a\`, \`b\` | (or "nothing")`);
    }
    if (table.has(entry)) throw new Error(`line ${n + 1}: a second row for ${entry}`);
    const targets = new Set<string>();
    if (allowed !== 'nothing') {
      for (const item of allowed.split(',')) {
        const target = CODE_SPAN.exec(item.trim())?.[1];
        if (target === undefined) throw new Error(`line ${n + 1}: "${item.trim()}" is not an entry in backticks`);
        targets.add(target);
      }
    }
    table.set(entry, targets);
    rowLine.set(entry, n + 1);
  }
  for (const [entry, targets] of table) {
    for (const t of targets) {
      if (!table.has(t)) throw new Error(`line ${rowLine.get(entry)!}: ${entry} may import ${t}, which has no row`);
      if (t === entry) throw new Error(`line ${rowLine.get(entry)!}: ${entry} lists itself (an entry may always import itself)`);
    }
  }
  return table;
}

export const readArchitecture = (): string => readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
export const readImportTable = (): ImportTable => parseImportTable(readArchitecture());

/** The text of the "Allowed imports" section, up to the next heading of its level. */
export function allowedImportsSection(markdown: string): string {
  const start = markdown.indexOf(`\n${TABLE_HEADING}\n`);
  if (start < 0) throw new Error(`no "${TABLE_HEADING}" heading`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The relative imports of one file (a repository path under src/) that the table does not allow. */
export function importTableOffences(file: string, text: string, table: ImportTable): Offence[] {
  const from = entryOf(file);
  if (from === null) throw new Error(`${file} is not under src/`);
  const allowed = table.get(from);
  const out: Offence[] = [];
  for (const ref of moduleRefs(parse(file, text))) {
    if (ref.spec === null || !isRelative(ref.spec)) continue;
    const to = entryOf(posix.join(posix.dirname(file), ref.spec));
    if (to === null || to === from) continue;
    const how = ref.runtimeUrl ? 'refers to' : ref.typeOnly ? 'imports (type only)' : 'imports';
    if (allowed === undefined) {
      out.push({ file, line: ref.line, what: `${how} ${to} ("${ref.spec}"), but ${from} has no row in the table` });
    } else if (!table.has(to)) {
      out.push({ file, line: ref.line, what: `${how} ${to} ("${ref.spec}"), which has no row in the table` });
    } else if (!allowed.has(to)) {
      const list = allowed.size === 0 ? 'nothing' : [...allowed].join(', ');
      out.push({ file, line: ref.line, what: `${from} may not import ${to} ("${ref.spec}"); it may import ${list}` });
    }
  }
  return out;
}

// ---- files -----------------------------------------------------------------

/** The .ts files under a folder, sorted, as absolute paths. */
export function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The entries that src/ holds today: its folders and the .ts files at its top. */
export function srcEntries(): string[] {
  return readdirSync(SRC)
    .filter((name) => statSync(join(SRC, name)).isDirectory() || name.endsWith('.ts'))
    .sort();
}

/** The text of a file on disk, or undefined if there is no such file. */
export function readIfFile(abs: string): string | undefined {
  return existsSync(abs) && statSync(abs).isFile() ? readFileSync(abs, 'utf8') : undefined;
}

/**
 * The files that `seeds` reach through relative imports that emit code
 * (`import type` and `export type` do not count: nothing of the other file
 * runs), seeds included, each with the file that first reached it. A `./x.js`
 * specifier loads `./x.ts`.
 */
export function reachable(seeds: readonly string[], read: (abs: string) => string | undefined = readIfFile): Map<string, string | null> {
  const via = new Map<string, string | null>(seeds.map((s) => [s, null]));
  const texts = new Map<string, string>();
  const load = (abs: string): string | undefined => {
    if (!texts.has(abs)) {
      const text = read(abs);
      if (text === undefined) return undefined;
      texts.set(abs, text);
    }
    return texts.get(abs);
  };
  const queue = [...seeds];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const text = load(file);
    if (text === undefined) throw new Error(`${file}: no such file`);
    for (const ref of moduleRefs(parse(file, text))) {
      if (ref.typeOnly || ref.runtimeUrl || ref.spec === null || !isRelative(ref.spec)) continue;
      const target = resolve(dirname(file), ref.spec);
      const source = [target.replace(/\.js$/, '.ts'), target].find((c) => c.endsWith('.ts') && load(c) !== undefined);
      if (source === undefined || via.has(source)) continue;
      via.set(source, file);
      queue.push(source);
    }
  }
  return via;
}
