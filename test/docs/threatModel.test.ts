/**
 * docs/security-threat-model.md names, for every threat, the test that shows
 * its mitigation, written as
 *
 *     `test/some/file.test.ts` › "the test's title"
 *
 * This test keeps those references true: the file must exist and hold a test
 * (`it(…)` / `test(…)`) with exactly that title. Titles are read with the
 * TypeScript parser, so a title in a comment or an ordinary string does not
 * count. Three forms are accepted besides an exact title:
 *
 * - a title that ends in "…" stands for every title that starts with the text
 *   before it (at least 20 characters), to keep long titles readable;
 * - a title written as a template literal (`it(\`… ${x} …\`)`) matches a
 *   citation that fills each `${…}` part with a string or number literal of
 *   the same file (as a loop over a table of cases does), and a "…" citation
 *   that is a prefix of its text before the first `${`;
 * - a table-driven test (`it(c.name, …)`) has as titles the string `name:`
 *   properties of its file.
 *
 * A reference written `` `test/…test.ts` › (test pending) `` names a test that
 * does not exist yet. Such rows fail the second test below, which lists them,
 * so the document cannot be left with a promise in place of a test.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = 'docs/security-threat-model.md';
const PENDING = '(test pending)';
const ELLIPSIS = '…';
const MIN_PREFIX = 20;

/** One citation in the document. */
export interface Citation {
  readonly line: number;
  readonly file: string;
  /** The cited title, or null for a pending test. */
  readonly title: string | null;
  /** The first cell of the table row (or the text of the line) that cites it. */
  readonly context: string;
}

/** A title as the test file spells it: plain text, or the static parts of a template literal. */
export type Title =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'template'; readonly parts: readonly string[]; readonly literals: ReadonlySet<string> };

const CITATION = /`(test\/[^`\s]+\.test\.ts)`\s*›\s*(?:"((?:[^"\\]|\\.)*)"|\(test pending\))/g;

function rowContext(line: string): string {
  const t = line.trim();
  if (!t.startsWith('|')) return t.length > 100 ? `${t.slice(0, 100)}…` : t;
  const first = t.split('|')[1]?.trim() ?? '';
  return first.length > 100 ? `${first.slice(0, 100)}…` : first;
}

/** Every citation of the document, and the lines where a "›" is not part of one. */
export function parseCitations(markdown: string): { citations: Citation[]; strays: string[] } {
  const citations: Citation[] = [];
  const strays: string[] = [];
  markdown.split('\n').forEach((text, i) => {
    let used = 0;
    for (const m of text.matchAll(CITATION)) {
      used += 1;
      const title = m[2] === undefined ? null : m[2].replace(/\\(.)/g, '$1');
      citations.push({ line: i + 1, file: m[1]!, title, context: rowContext(text) });
    }
    const marks = text.split('›').length - 1;
    if (marks > used) strays.push(`line ${i + 1}: ${marks - used} "›" not of the form \`test/….test.ts\` › "title": ${rowContext(text)}`);
  });
  return { citations, strays };
}

function literalTitle(node: ts.Expression, literals: ReadonlySet<string>): Title | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return { kind: 'text', text: node.text };
  if (ts.isTemplateExpression(node)) return { kind: 'template', parts: [node.head.text, ...node.templateSpans.map((s) => s.literal.text)], literals };
  return null;
}

function calleeIsTest(callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return callee.text === 'it' || callee.text === 'test';
  if (ts.isPropertyAccessExpression(callee)) {
    const name = callee.name.text;
    if (name === 'test' || name === 'it') return true; // t.test(…), suite.it(…)
    if (['only', 'skip', 'todo'].includes(name)) return calleeIsTest(callee.expression);
  }
  return false;
}

/** The titles of the tests a file declares. */
export function testTitles(source: string, fileName = 'file.ts'): Title[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const titles: Title[] = [];
  let tableDriven = false;
  const names: Title[] = [];
  const literals = new Set<string>();
  const collect = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isNumericLiteral(node)) literals.add(node.text);
    ts.forEachChild(node, collect);
  };
  collect(sf);
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && calleeIsTest(node.expression) && node.arguments.length > 0) {
      const first = node.arguments[0]!;
      const t = literalTitle(first, literals);
      if (t !== null) titles.push(t);
      else if (ts.isPropertyAccessExpression(first) && first.name.text === 'name') tableDriven = true;
    }
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'name') {
      const t = literalTitle(node.initializer, literals);
      if (t !== null) names.push(t);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return tableDriven ? [...titles, ...names] : titles;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether a cited title names one of the titles. */
export function matchesTitle(cited: string, titles: readonly Title[]): boolean {
  const prefix = cited.endsWith(ELLIPSIS) ? cited.slice(0, -ELLIPSIS.length) : null;
  if (prefix !== null && prefix.length < MIN_PREFIX) return false;
  return titles.some((t) => {
    if (t.kind === 'text') return prefix === null ? t.text === cited : t.text.startsWith(prefix);
    if (prefix !== null) return t.parts[0]!.startsWith(prefix);
    const m = new RegExp(`^${t.parts.map(escapeRegExp).join('([\\s\\S]+?)')}$`).exec(cited);
    return m !== null && m.slice(1).every((fill) => t.literals.has(fill));
  });
}

/** What is wrong with one resolved citation, or null. */
function problemOf(c: Citation, titlesOf: (file: string) => Title[] | null): string | null {
  const where = `${DOC}:${c.line} (${c.context})`;
  const titles = titlesOf(c.file);
  if (titles === null) return `${where}: ${c.file} does not exist`;
  if (!matchesTitle(c.title!, titles)) return `${where}: ${c.file} has no test titled "${c.title}"`;
  return null;
}

function readDoc(): string {
  const path = join(ROOT, DOC);
  assert.ok(existsSync(path), `${DOC} is missing`);
  return readFileSync(path, 'utf8');
}

describe('docs/security-threat-model.md: the tests it cites', () => {
  const cache = new Map<string, Title[] | null>();
  const titlesOf = (file: string): Title[] | null => {
    if (!cache.has(file)) {
      const path = join(ROOT, file);
      cache.set(file, existsSync(path) && statSync(path).isFile() ? testTitles(readFileSync(path, 'utf8'), file) : null);
    }
    return cache.get(file)!;
  };

  it('every cited test exists: the file is there and holds a test with that title', () => {
    const { citations, strays } = parseCitations(readDoc());
    const cited = citations.filter((c) => c.title !== null);
    assert.ok(cited.length >= 40, `only ${cited.length} tests are cited; the parser may have missed the references`);
    const problems = [...strays, ...cited.map((c) => problemOf(c, titlesOf)).filter((p): p is string => p !== null)];
    assert.deepEqual(problems, [], `${problems.length} reference(s) of ${DOC} do not hold:\n${problems.join('\n')}`);
  });

  it('no threat is left with a pending test', () => {
    const pending = parseCitations(readDoc()).citations.filter((c) => c.title === null);
    const list = pending.map((c) => `${DOC}:${c.line}: ${c.context} — ${c.file} › ${PENDING}${titlesOf(c.file) === null ? ' (file not written yet)' : ''}`);
    assert.deepEqual(list, [], `${pending.length} row(s) name a test that is still pending; replace each with \`test/….test.ts\` › "title":\n${list.join('\n')}`);
  });
});

describe('threat model references: the checks themselves', () => {
  const file = [
    "import { it, test } from 'node:test';",
    "it('plain title', () => {});",
    'test("double \\"quoted\\" title", () => {});',
    "it('it\\'s escaped', () => {});",
    'const sizes = [1, 8];',
    'it(`a ${mb} MB body: curl reads 413`, () => {});',
    "// it('a commented title', () => {});",
    "const s = 'a string that is not a title';",
    "describe('a suite title', () => {});",
  ].join('\n');
  const titles = testTitles(file);

  it('reads titles of it() and test() calls, unescaped, and only those', () => {
    assert.ok(matchesTitle('plain title', titles));
    assert.ok(matchesTitle('double "quoted" title', titles));
    assert.ok(matchesTitle("it's escaped", titles));
    assert.ok(!matchesTitle('a commented title', titles));
    assert.ok(!matchesTitle('a string that is not a title', titles));
    assert.ok(!matchesTitle('a suite title', titles));
    assert.ok(!matchesTitle('plain titl', titles), 'a partial title without "…" is not a match');
  });

  it('a template title matches its filled-in form; "…" needs a prefix of at least 20 characters', () => {
    assert.ok(matchesTitle('a 8 MB body: curl reads 413', titles));
    assert.ok(!matchesTitle('a 8 MB body: wget reads 413', titles));
    assert.ok(!matchesTitle('a 9 MB body: curl reads 413', titles), 'a fill must be a literal of the file');
    const long = testTitles("it('error: a body that trickles in is answered 408', () => {});");
    assert.ok(matchesTitle('error: a body that trickles…', long));
    assert.ok(!matchesTitle('error: a body…', long), 'too short a prefix');
    assert.ok(!matchesTitle('error: a body that crawls…', long));
  });

  it('a table-driven test has the name: properties of its file as titles', () => {
    const table = testTitles("const cases = [{ name: 'case one' }];\nfor (const c of cases) it(c.name, () => {});");
    assert.ok(matchesTitle('case one', table));
    assert.ok(!matchesTitle('case one', testTitles("const x = { name: 'case one' };")), 'name: counts only where a test takes c.name');
  });

  it('parses citations, pending ones, and flags a "›" that is not part of one', () => {
    const md = [
      '| threat | mitigation | test |',
      '|---|---|---|',
      '| forged tx | `codec/tx.ts` | `test/unit/api/api.test.ts` › "error: a bad signature is 400 INVALID_SIGNATURE" |',
      '| state sync | planned | `test/e2e/stateSync.test.ts` › (test pending) |',
      '| typo | x | test/unit/api/api.test.ts › "no backticks" |',
    ].join('\n');
    const { citations, strays } = parseCitations(md);
    assert.deepEqual(citations.map((c) => [c.line, c.file, c.title, c.context]), [
      [3, 'test/unit/api/api.test.ts', 'error: a bad signature is 400 INVALID_SIGNATURE', 'forged tx'],
      [4, 'test/e2e/stateSync.test.ts', null, 'state sync'],
    ]);
    assert.equal(strays.length, 1);
    assert.match(strays[0]!, /^line 5: /);
  });
});
