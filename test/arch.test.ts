/**
 * Architecture rules, as ARCHITECTURE.md states them:
 *
 * - Allowed imports: every relative import of every file under src/ must be
 *   allowed by the table in ARCHITECTURE.md's "Allowed imports" section. The
 *   test reads that table, so the document and the check cannot disagree.
 * - Pure code: the core, the simulation and every file the simulation runs
 *   (followed through imports) do no I/O, read no clock, use no real timers or
 *   event loop, draw no randomness and touch no process globals.
 *
 * Both checks parse with the TypeScript compiler, so comments and strings
 * never count, and name the file and line of each offence. The checks are
 * themselves tested on probes below.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type Offence, ROOT, SRC, allowedImportsSection, entryOf, formatOffence, importTableOffences, parseImportTable, reachable,
  readArchitecture, readImportTable, repoPath, srcEntries, tsFiles,
} from './arch/imports.js';
import { purityOffences, purityOffencesOnDisk } from './arch/purity.js';

/** The pure core: these entries import only each other and must stay pure. */
const CORE = ['types', 'errors.ts', 'crypto', 'codec', 'state', 'consensus', 'mempool'];
/** The simulation: pure too, with everything it imports. */
const SIM = 'sim';
/**
 * Program edges inside a pure folder, left out of the check: `sim/cli.ts`
 * reads the arguments, prints, times the runs and sets the exit code;
 * `sim/host.ts` lets promises settle and watches rejections. If a
 * pure file ever imports one, it is reached and checked like any other.
 */
const PROGRAM_EDGES = ['src/sim/cli.ts', 'src/sim/host.ts'];

const list = (offences: readonly Offence[]): string => offences.map((o) => `  ${formatOffence(o)}`).join('\n');
const filesOf = (entry: string): string[] => (entry.endsWith('.ts') ? [join(SRC, entry)] : tsFiles(join(SRC, entry)));

/** Pure files: the core's and the simulation's, and every file they reach through imports that emit code. */
function pureFiles(): Map<string, string | null> {
  const seeds = [...CORE, SIM].flatMap(filesOf).filter((f) => !PROGRAM_EDGES.includes(repoPath(f)));
  return reachable(seeds);
}

describe('architecture: allowed imports', () => {
  it('default: the table has one row for each folder and top-level file of src/, and no other', () => {
    const table = readImportTable();
    const entries = srcEntries();
    assert.deepEqual(
      [...table.keys()].sort(),
      entries,
      `the "Allowed imports" table of ARCHITECTURE.md must list exactly what src/ holds (${entries.join(', ')})`,
    );
  });

  it('default: the core imports only the core', () => {
    const table = readImportTable();
    for (const entry of CORE) {
      const outside = [...(table.get(entry) ?? [])].filter((t) => !CORE.includes(t));
      assert.deepEqual(outside, [], `${entry} is in the pure core, so its row may name only ${CORE.join(', ')}`);
    }
  });

  it('default: every relative import under src/ is allowed by the table in ARCHITECTURE.md', () => {
    const table = readImportTable();
    const files = tsFiles(SRC);
    assert.ok(files.length > 50, 'src/ has fewer files than expected: the check would pass for nothing');
    const all = files.flatMap((f) => importTableOffences(repoPath(f), readFileSync(f, 'utf8'), table));
    assert.deepEqual(all.map(formatOffence), [], `imports that the "Allowed imports" table of ARCHITECTURE.md does not allow (change the import, or the table if the layering should change):\n${list(all)}`);
  });

  it('behavior: the table is read from the markdown; anything it cannot read is refused', () => {
    const doc = (rows: string): string => `# Title\n\ntext\n\n## Allowed imports\n\nSome words.\n\n| folder | may import |\n|---|---|\n${rows}\n\n## Next\n\n| folder | may import |\n|---|---|\n| \`x\` | nothing |\n`;
    const table = parseImportTable(doc('| `a` | nothing |\n| `b` | `a` |\n| `c.ts` | `a`, `b` |'));
    assert.deepEqual([...table].map(([k, v]) => [k, [...v]]), [['a', []], ['b', ['a']], ['c.ts', ['a', 'b']]]);
    assert.throws(() => parseImportTable('# no such section\n'), /no "## Allowed imports" heading/);
    assert.throws(() => parseImportTable(doc('| `a` | nothing |\n| `a` | nothing |')), /second row for a/);
    assert.throws(() => parseImportTable(doc('| `a` | `b` |')), /a may import b, which has no row/);
    assert.throws(() => parseImportTable(doc('| `a` | `b` and `c` |\n| `b` | nothing |')), /not an entry in backticks/);
    assert.throws(() => parseImportTable(doc('| a | nothing |')), /a row is/);
    assert.throws(() => parseImportTable(doc('| `a` | nothing | note |')), /a row is/);
    assert.throws(() => parseImportTable(doc('| `a` | `a` |')), /lists itself/);
    assert.throws(() => parseImportTable('## Allowed imports\n\n| dir | imports |\n|---|---|\n'), /header/);
  });

  it('behavior: an import the table does not allow is flagged with its file and line, type-only imports included', () => {
    const table = parseImportTable('## Allowed imports\n\n| folder | may import |\n|---|---|\n| `low` | nothing |\n| `top.ts` | `low` |\n| `high` | `low`, `top.ts` |\n| `edge` | nothing |\n');
    const flagged = (file: string, src: string): number[] => importTableOffences(file, src, table).map((o) => o.line);
    const src = [
      "import { a } from '../low/a.js';", // 1 allowed
      "import { b } from './b.js';", // 2 same folder
      "import { h } from '../high/h.js';", // 3
      "import type { H } from '../high/h.js';", // 4
      "export * from '../edge/e.js';", // 5
      "const m = await import('../high/h.js');", // 6
      "const w = new URL('../high/worker.js', import.meta.url);", // 7
      "import { t } from '../top.js';", // 8
      "import { n } from '../newFolder/n.js';", // 9: no row
      "// import { h } from '../high/h.js';", // 10: a comment
      "const s = \"import { h } from '../high/h.js'\";", // 11: a string
      "import { x } from 'fastify';", // 12: not relative
      "import { p } from '../../package.js';", // 13: outside src
    ].join('\n');
    assert.deepEqual(flagged('src/low/x.ts', src), [3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(flagged('src/low/deep/x.ts', "import { a } from '../a.js';\nimport { h } from '../../high/h.js';"), [2]);
    assert.deepEqual(flagged('src/high/x.ts', "import { t } from '../top.js';\nimport { e } from '../edge/e.js';"), [2]);
    assert.deepEqual(flagged('src/top.ts', "import { a } from './low/a.js';\nimport { h } from './high/h.js';"), [2]);
    assert.deepEqual(flagged('src/unknown/x.ts', "import { a } from '../low/a.js';"), [1]);
    assert.match(importTableOffences('src/low/x.ts', "import { h } from '../high/h.js';", table)[0]!.what, /low may not import high \("\.\.\/high\/h\.js"\); it may import nothing/);
  });

  it('behavior: the real table refuses imports against the layering', () => {
    const table = readImportTable();
    const allowed = (file: string, spec: string): boolean => importTableOffences(file, `import { x } from '${spec}';`, table).length === 0;
    // the core imports only the core below it
    assert.equal(allowed('src/types/x.ts', '../node/node.js'), false);
    assert.equal(allowed('src/crypto/x.ts', '../codec/tx.js'), false);
    assert.equal(allowed('src/codec/x.ts', '../crypto/hash.js'), true);
    assert.equal(allowed('src/state/x.ts', '../consensus/block.js'), false);
    assert.equal(allowed('src/consensus/x.ts', '../mempool/index.js'), false);
    assert.equal(allowed('src/mempool/x.ts', '../state/execute.js'), true);
    assert.equal(allowed('src/errors.ts', './types/index.js'), false);
    assert.equal(allowed('src/state/x.ts', '../storage/types.js'), false);
    // around the core
    assert.equal(allowed('src/storage/x.ts', '../node/node.js'), false);
    assert.equal(allowed('src/storage/x.ts', '../sim/index.js'), false);
    assert.equal(allowed('src/node/x.ts', '../storage/types.js'), true);
    assert.equal(allowed('src/node/x.ts', '../cli/main.js'), false);
    assert.equal(allowed('src/node/x.ts', '../sim/index.js'), false);
    assert.equal(allowed('src/api/x.ts', '../node/node.js'), true);
    assert.equal(allowed('src/api/x.ts', '../storage/index.js'), false);
    // the simulation runs the core, node parts and a store; nothing runs the simulation
    assert.equal(allowed('src/sim/x.ts', '../node/chainApp.js'), true);
    assert.equal(allowed('src/sim/x.ts', '../storage/types.js'), true);
    assert.equal(allowed('src/sim/x.ts', '../api/server.js'), false);
    assert.equal(allowed('src/sim/x.ts', '../p2p/httpTransport.js'), false);
    assert.equal(allowed('src/index.ts', './sim/index.js'), false);
    assert.equal(allowed('src/cli/x.ts', '../bench/bench.js'), false);
  });
});

describe('architecture: pure code', () => {
  it('default: the core, the simulation and every file it runs do no I/O and use no clock, timers, randomness or process globals', (t) => {
    const section = allowedImportsSection(readArchitecture());
    for (const edge of PROGRAM_EDGES) assert.ok(section.includes(edge.replace(/^src\//, '')), `ARCHITECTURE.md ("Allowed imports") must say why ${edge} is left out of the purity check`);
    const pure = pureFiles();
    const files = [...pure.keys()].sort();
    for (const entry of [...CORE, SIM]) assert.ok(files.some((f) => entryOf(repoPath(f)) === entry), `no pure file of ${entry}: the check would pass for nothing`);
    const reached = files.filter((f) => !CORE.includes(entryOf(repoPath(f)) ?? '') && entryOf(repoPath(f)) !== SIM);
    t.diagnostic(`pure files: ${files.length}; reached from outside the core and src/sim: ${reached.length === 0 ? 'none' : reached.map(repoPath).join(', ')}`);
    const all = purityOffencesOnDisk(files).map((o) => {
      const from = pure.get(join(ROOT, o.file));
      const isSeed = from === null || from === undefined;
      return isSeed ? o : { ...o, what: `${o.what} [reached from ${repoPath(from)}]` };
    });
    assert.deepEqual(
      all.map(formatOffence),
      [],
      `pure code must stay free of I/O, clocks, timers, the event loop, randomness and process globals; take them as injected parts, or move the code to a part that does I/O (see "Allowed imports" in ARCHITECTURE.md):\n${list(all)}`,
    );
  });

  it('behavior: the files reached are those of imports that emit code', () => {
    const at = (name: string): string => join(SRC, 'sim', `${name}.ts`);
    const texts = new Map([
      [at('a'), "import { b } from './b.js';\nimport type { C } from './c.js';\nexport type { D } from './d.js';\ntype F = import('./f.js').F;"],
      [at('b'), "import { type E } from './e.js';\nexport * from '../node/g.js';\nexport const b = 1;"],
      [at('c'), "export type C = 1;"],
      [at('d'), "export type D = 1;"],
      [at('e'), "export type E = 1;"],
      [at('f'), "export type F = 1;"],
      [join(SRC, 'node', 'g.ts'), "import { h } from './h.js';\nconst w = new URL('./worker.js', import.meta.url);"],
      [join(SRC, 'node', 'h.ts'), "export const h = 1;"],
      [join(SRC, 'node', 'worker.ts'), "export {};"],
    ]);
    const found = reachable([at('a')], (f) => texts.get(f));
    // `import { type E }` still loads e.ts; `import type`, `export type` and `import('x').T` load nothing;
    // a file started through `new URL` runs apart (and `import.meta` is itself flagged in pure code).
    assert.deepEqual(
      [...found].map(([f, via]) => [repoPath(f), via === null ? null : repoPath(via)]),
      [['src/sim/a.ts', null], ['src/sim/b.ts', 'src/sim/a.ts'], ['src/sim/e.ts', 'src/sim/b.ts'], ['src/node/g.ts', 'src/sim/b.ts'], ['src/node/h.ts', 'src/node/g.ts']],
    );
  });

  /** Checks each probe as its own file; the lines that end in `// flag` are the ones that must be flagged. */
  function checkProbes(probes: readonly (readonly string[])[]): void {
    const virtual = new Map(probes.map((lines, i) => [join(SRC, 'consensus', `__probe${i}.ts`), lines.join('\n')]));
    const files = [...virtual.keys()];
    const byFile = new Map<string, Offence[]>();
    for (const o of purityOffences(files, virtual)) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o]);
    const failures: string[] = [];
    probes.forEach((lines, i) => {
      const file = repoPath(files[i]!);
      const want = lines.flatMap((l, n) => (l.trimEnd().endsWith('// flag') ? [n + 1] : []));
      const got = [...new Set((byFile.get(file) ?? []).map((o) => o.line))];
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${lines.join('\n    ')}\n  wanted lines ${JSON.stringify(want)}, got: ${JSON.stringify(byFile.get(file) ?? [])}`);
      }
    });
    assert.deepEqual(failures, [], failures.join('\n\n'));
  }

  it('behavior: each forbidden construct is flagged at its line, however it is reached', () => {
    checkProbes([
      // clocks
      ['const t = new Date(); // flag'],
      ['const t = Date.now(); // flag'],
      ['export const now = () => Date.now(); // flag'],
      ['const D = Date; // flag', 'void D;'],
      ['const p = performance.now(); // flag'],
      ['const { now } = performance; // flag'],
      // the event loop and timers
      ['setImmediate(() => {}); // flag'],
      ['queueMicrotask(() => {}); // flag'],
      ['setTimeout(() => {}, 1); // flag'],
      ['const h = setInterval(() => {}, 1); // flag'],
      ['clearTimeout(undefined); // flag'],
      ['const w = new WeakRef({}); // flag'],
      // the network, globals, the process, output
      ["void fetch('http://127.0.0.1/'); // flag"],
      ['const g = globalThis.structuredClone; // flag'],
      ['globalThis.setTimeout(() => {}, 1); // flag'],
      ['const t = global.setTimeout; // flag'],
      ['const e = process.env.X; // flag'],
      ['const { argv } = process; // flag'],
      ["const here = typeof process !== 'undefined'; // flag"],
      ['function f(p = process) { return p; } // flag', 'void f;'],
      ['const o = { process }; // flag'],
      ['declare const process: { exit(): void };', 'process.exit(); // flag'],
      ["console.log('x'); // flag"],
      ['const u = import.meta.url; // flag'],
      ["const f = new Function('return 1'); // flag"],
      ["const r = eval('1'); // flag"],
      // randomness
      ['const r = Math.random(); // flag'],
      ['const { random } = Math; // flag'],
      ["const r = Math['random'](); // flag"],
      ['crypto.getRandomValues(new Uint8Array(4)); // flag'],
      ['const s = crypto.subtle; // flag'],
      ["import { randomBytes } from 'node:crypto'; // flag", 'randomBytes(8); // flag'],
      ["import { randomUUID as id } from 'node:crypto'; // flag", 'id(); // flag'],
      ["import * as c from 'node:crypto';", 'c.randomInt(9); // flag'],
      ["import c from 'node:crypto';", 'c.randomFillSync(new Uint8Array(1)); // flag'],
      ["import * as c from 'node:crypto';", 'const { generateKeyPairSync } = c; // flag'],
      ["import * as c from 'node:crypto';", 'const { randomBytes: rb } = c; // flag'],
      ["import * as c from 'node:crypto';", "c['randomBytes'](1); // flag"],
      ["import * as c from 'node:crypto';", 'const k = c;', 'k.randomUUID(); // flag'],
      ["import c = require('node:crypto');", 'c.randomBytes(1); // flag'],
      ["import { generateKeyPair } from 'node:crypto'; // flag"],
      ["import { webcrypto } from 'node:crypto'; // flag", 'webcrypto.getRandomValues(new Uint8Array(1)); // flag'],
      ["import { subtle } from 'node:crypto'; // flag"],
      ["import crypto from 'crypto';", "crypto.randomBytes(1); // flag"],
      ["export { randomBytes } from 'node:crypto'; // flag"],
      // modules
      ["import { readFileSync } from 'node:fs'; // flag"],
      ["import { readFile } from 'node:fs/promises'; // flag"],
      ["import fs from 'fs'; // flag"],
      ["import { type Stats } from 'node:fs'; // flag"],
      ["import 'node:process'; // flag"],
      ["import { EventEmitter } from 'events'; // flag"],
      ["import { Worker } from 'worker_threads'; // flag"],
      ["import { setTimeout as sleep } from 'node:timers/promises'; // flag"],
      ["import { performance as perf } from 'perf_hooks'; // flag"],
      ["import os from 'node:os'; // flag"],
      ["import Database from 'better-sqlite3'; // flag"],
      ["import Fastify from 'fastify'; // flag"],
      ["import { request } from 'undici'; // flag"],
      ["import pino from 'pino'; // flag"],
      ["export { spawn } from 'node:child_process'; // flag"],
      ["export * from 'node:net'; // flag"],
      ["const m = await import('node:fs'); // flag"],
      ["const f = require('fs'); // flag"],
      ["const name = 'fs';", 'const m = await import(name); // flag'],
    ]);
  });

  it('behavior: comments, strings, types, local names and properties that look alike are not flagged', () => {
    checkProbes([
      ['// Date.now() Math.random() process.exit() console.log setTimeout( crypto.randomBytes(', "/* import fs from 'node:fs'; performance.now() */"],
      ["const s = 'process.env console.log setTimeout( Date.now() globalThis fetch(';", 'const t = `performance.now() import.meta`;', 'void s; void t;'],
      ['const performanceScore = 3;', 'const processCount = performanceScore + 1;', 'void processCount;'],
      ['const x = { process: 1, console: 2, now: 3, random: 4, setTimeout: (fn: () => void, ms: number) => ms };', 'const y = x.process + x.console + x.now + x.random + x.setTimeout(() => {}, 1);', 'void y;'],
      ["function f(console: { log(s: string): void }) { console.log('x'); }", 'void f;'],
      ['const performance = { now: () => 0 };', 'performance.now();'],
      ['class Timers { setTimeout(fn: () => void): void { fn(); } }', 'new Timers().setTimeout(() => {});'],
      ['interface Host { process: number; fetch(): void; crypto: Crypto }', 'const h: Host | undefined = undefined;', 'void h;'],
      ['let when: Date | undefined;', 'type Clock = typeof Date.now;', 'type P = typeof process;', 'const m = new Map<string, Date>();', 'void when; void m;', 'export type { Clock, P };'],
      ["import type { Logger } from 'pino';", "import type { Server } from 'node:http';", "export type { Stats } from 'node:fs';", "type K = import('node:fs').Stats;", "import type * as W from 'node:worker_threads';", 'export type { Logger, Server, K, W };'],
      ["import { createHash, sign, verify, createPrivateKey, type KeyObject } from 'node:crypto';", "createHash('sha256');", 'void sign; void verify; void createPrivateKey;', 'export type { KeyObject };'],
      ["import * as nodeCrypto from 'node:crypto';", "nodeCrypto.createHash('sha256').update('x').digest();"],
      ['function randomBytes(n: number): Uint8Array { return new Uint8Array(n); }', 'randomBytes(4);'],
      ['const rng = { random: () => 0.5 };', 'rng.random();', 'const { random } = rng;', 'void random;'],
      ['enum E { process = 1, console = 2 }', 'void E.process;'],
      ["import { x } from './fs.js';", "import { y } from './process.js';", 'void x; void y;'],
      ['const n = performanceLike.now();', 'void n;'],
    ]);
  });
});
