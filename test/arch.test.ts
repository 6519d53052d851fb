/**
 * Architecture rule: the deterministic core (types, codec, crypto, state,
 * consensus, mempool) does no I/O, reads no clock, draws no randomness and
 * touches no process globals. Only `node/`, `storage/`, `api/`, `cli/` (and
 * the like) may. The check parses every file with the TypeScript compiler, so
 * comments and strings never count, and names the file and line of each
 * offence.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORE_DIRS = ['src/types', 'src/codec', 'src/crypto', 'src/state', 'src/consensus', 'src/mempool'];

/** Modules the core may not import (a subpath such as `node:fs/promises` counts too). `node:crypto` is allowed. */
const FORBIDDEN_MODULES = [
  'node:fs', 'fs',
  'node:net', 'net',
  'node:http', 'http',
  'node:child_process', 'child_process',
  'node:worker_threads', 'worker_threads',
  'better-sqlite3', 'fastify', 'undici',
];
/** Globals whose members the core may not touch. */
const FORBIDDEN_OBJECTS = new Set(['process', 'console']);
/** Members of globals the core may not use. */
const FORBIDDEN_MEMBERS: Record<string, ReadonlySet<string>> = { Date: new Set(['now']), Math: new Set(['random']) };
/** Functions the core may not call (directly or through globalThis). */
const FORBIDDEN_CALLS = new Set(['setTimeout', 'setInterval']);

export interface Offence {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

function isForbiddenModule(spec: string): boolean {
  return FORBIDDEN_MODULES.some((m) => spec === m || spec.startsWith(m + '/'));
}

/** Every offence in one source text. */
export function offences(file: string, text: string): Offence[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: Offence[] = [];
  const add = (node: ts.Node, what: string): void => {
    out.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, what });
  };
  const checkModule = (node: ts.Node, spec: ts.Node | undefined): void => {
    if (spec !== undefined && ts.isStringLiteralLike(spec) && isForbiddenModule(spec.text)) add(node, `imports "${spec.text}"`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      checkModule(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      checkModule(node, node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      checkModule(node, node.argument.literal);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        checkModule(node, node.arguments[0]);
      }
      const name = ts.isIdentifier(callee)
        ? callee.text
        : ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'globalThis'
          ? callee.name.text
          : undefined;
      if (name !== undefined && FORBIDDEN_CALLS.has(name)) add(node, `calls ${name}(`);
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const obj = node.expression.text;
      const member = node.name.text;
      if (FORBIDDEN_OBJECTS.has(obj)) add(node, `uses ${obj}.${member}`);
      if (FORBIDDEN_MEMBERS[obj]?.has(member)) add(node, `uses ${obj}.${member}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('architecture: the deterministic core', () => {
  it('default: no file of the core imports I/O modules or uses clocks, randomness, timers, process or console', () => {
    const all: Offence[] = [];
    let files = 0;
    for (const dir of CORE_DIRS) {
      const found = tsFiles(join(ROOT, dir));
      assert.ok(found.length > 0, `${dir} has no .ts file: the check would pass for nothing`);
      files += found.length;
      for (const f of found) all.push(...offences(relative(ROOT, f), readFileSync(f, 'utf8')));
    }
    assert.ok(files >= CORE_DIRS.length);
    assert.deepEqual(
      all.map((o) => `${o.file}:${o.line}: ${o.what}`),
      [],
      `the deterministic core must stay free of I/O, clocks, randomness and process globals:\n${all.map((o) => `  ${o.file}:${o.line}: ${o.what}`).join('\n')}`,
    );
  });

  it('behavior: the checker finds each forbidden import and use, with its line', () => {
    const src = [
      "import { readFileSync } from 'node:fs';", // 1
      "import fs from 'fs';", // 2
      "import * as net from 'node:net';", // 3
      "import type { Server } from 'node:http';", // 4
      "export { spawn } from 'node:child_process';", // 5
      "import { Worker } from 'node:worker_threads';", // 6
      "import Database from 'better-sqlite3';", // 7
      "import Fastify from 'fastify';", // 8
      "const u = await import('undici');", // 9
      'const t = Date.now();', // 10
      'const r = Math.random();', // 11
      'setTimeout(() => {}, 1);', // 12
      'globalThis.setInterval(() => {}, 1);', // 13
      'const e = process.env.X;', // 14
      "console.log('x');", // 15
      "import { readFile } from 'node:fs/promises';", // 16
      "type K = import('node:fs').Stats;", // 17
      "const f = require('fs');", // 18
    ].join('\n');
    const found = offences('probe.ts', src).map((o) => o.line);
    assert.deepEqual(found, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });

  it('behavior: node:crypto, comments, strings and look-alike names are allowed', () => {
    const src = [
      "import { createHash } from 'node:crypto';",
      "import * as nodeCrypto from 'node:crypto';",
      "type K = import('node:crypto').KeyObject;",
      '// Date.now() and Math.random() and process.exit() in a comment',
      "/* import fs from 'node:fs'; setTimeout( console.log( */",
      "const s = 'process.env and console.log and setTimeout(';",
      'const o = { now: 1, random: 2 }; const d = o.now + o.random;',
      'function mySetTimeout() {} mySetTimeout();',
      "import { x } from './fs.js';",
      "import { y } from 'fsevents-like';",
      'const n = performanceLike.now();',
    ].join('\n');
    assert.deepEqual(offences('probe.ts', src), []);
  });
});
