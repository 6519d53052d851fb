/**
 * `npm run bench -- --scenario scale`: the scaling table. Runs the transfers
 * benchmark (bench.ts, as a child process: each row is a run of its own, with
 * its own verify-rate measurement) for each validator count, first on a state
 * of only the senders' accounts, then with `--accounts` extra funded accounts
 * in the genesis, and prints one markdown table.
 *
 *   npm run bench -- --scenario scale [--node-counts 1,4,7,10] [--accounts 1000000]
 *                    [any transfers option, applied to every row: --senders, --txs-per-sender,
 *                     --warmup-txs, --rate, --start-args, ...]
 *
 * Every row has default sizes chosen so that the whole matrix stays bounded
 * on a 2-core machine (7 and 10 processes share the cores: fewer txs); a
 * transfers option given on the command line replaces them in every row.
 * `--accounts 0` runs the empty-state rows only. A row that fails is shown
 * as failed with the first line of its error, and the matrix goes on.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RunSummary } from './nodeFigures.js';

export interface ScaleOptions {
  /** Comma-separated validator counts. */
  readonly nodeCounts: string;
  /** Extra accounts of the large-state rows (0: none). */
  readonly accounts: number;
  /** The command line the scenario was started with (its transfers options are passed on). */
  readonly argv: readonly string[];
  /** Transfers benchmark to run (default: bench.js next to this file). */
  readonly benchScript?: string;
  readonly out?: (line: string) => void;
}

/** Options of this scenario itself, not passed on to the rows. */
const OWN_OPTIONS = new Set(['--scenario', '--node-counts', '--accounts', '--summary-json']);

/** Default sizes of a row by validator count: [senders, txs per sender, warm-up txs]. */
export function rowSizes(nodes: number): { senders: number; txsPerSender: number; warmupTxs: number } {
  if (nodes <= 1) return { senders: 200, txsPerSender: 50, warmupTxs: 5_000 };
  if (nodes <= 4) return { senders: 200, txsPerSender: 25, warmupTxs: 3_000 };
  if (nodes <= 7) return { senders: 140, txsPerSender: 20, warmupTxs: 1_400 };
  return { senders: 100, txsPerSender: 20, warmupTxs: 1_000 };
}

/** `argv` without this scenario's own options (with their values). */
export function passedOn(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (OWN_OPTIONS.has(name)) {
      if (!a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export type RowResult = { readonly nodes: number; readonly accounts: number } & ({ readonly ok: true; readonly s: RunSummary } | { readonly ok: false; readonly error: string });

/** Runs one row: bench.js with its sizes, the caller's options and a summary file; its output lines go to `out`. */
async function runRow(o: ScaleOptions, nodes: number, accounts: number, dir: string): Promise<RowResult> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const script = o.benchScript ?? fileURLToPath(new URL('./bench.js', import.meta.url));
  const summary = join(dir, `row-${nodes}-${accounts}.json`);
  const z = rowSizes(nodes);
  const args = [
    script, '--scenario', 'transfers', '--nodes', String(nodes), '--accounts', String(accounts),
    '--senders', String(z.senders), '--txs-per-sender', String(z.txsPerSender), '--warmup-txs', String(z.warmupTxs), '--time-limit-s', '300',
    ...passedOn(o.argv),
    '--summary-json', summary,
  ];
  out(`--- ${nodes} validator${nodes > 1 ? 's' : ''}, ${accounts} extra accounts: node ${args.slice(0, 1).join(' ')} ${args.slice(1).join(' ')}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const errors: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (l) => out(`  ${l}`));
  const errLines = createInterface({ input: child.stderr! });
  errLines.on('line', (l) => {
    out(`  ${l}`);
    if (errors.length < 5) errors.push(l);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) return { nodes, accounts, ok: false, error: errors.find((l) => l.startsWith('bench failed')) ?? errors[0] ?? `exit code ${code}` };
  try {
    return { nodes, accounts, ok: true, s: JSON.parse(readFileSync(summary, 'utf8')) as RunSummary };
  } catch (e) {
    return { nodes, accounts, ok: false, error: `no summary: ${(e as Error).message}` };
  }
}

const n0 = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const n2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

/** The markdown table of the rows. */
export function scaleTable(rows: readonly RowResult[]): string[] {
  const lines = [
    '| validators | extra accounts | finalized tx/s | verify/s (same run) | ratio | ratio ÷ empty-state ratio | CPU per tx and node (verifications) | consensus messages per height and node (sent / received) | bytes per height and node, consensus and tx batches (sent / received) | tx batches per height and node (sent / received) | finality p50 / p99 (ms) | peak memory per node (MiB) | memory after start (MiB) | start (s) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (!r.ok) {
      lines.push(`| ${r.nodes} | ${n0(r.accounts)} | failed: ${r.error.replace(/\|/g, '/')} | | | | | | | | | | | |`);
      continue;
    }
    const s = r.s;
    // A large-state row next to the empty-state row of the same validator count (each ratio to its own run's verify rate).
    const empty = rows.find((e) => e.ok && e.nodes === r.nodes && e.accounts === 0);
    const vsEmpty = r.accounts === 0 ? '' : empty?.ok ? `${(s.ratio / empty.s.ratio).toFixed(2)}×` : 'n/a';
    type T = RunSummary['messagesSent'];
    const pair = (a: T, b: T, pick: (t: NonNullable<T>) => number | null, f: (v: number) => string): string =>
      [a, b].map((t) => (t === null ? 'n/a' : f(pick(t) ?? NaN))).join(' / ');
    const consensus = pair(s.messagesSent, s.messagesReceived, (t) => t.consensus, n2);
    const txBatches = pair(s.messagesSent, s.messagesReceived, (t) => t.txs, n2);
    const bytes = pair(s.bytesSent, s.bytesReceived, (t) => t.total, n0);
    lines.push(
      `| ${s.nodes} | ${n0(s.extraAccounts)} | ${n0(s.finalizedTxPerS)} | ${n0(s.verifyRate)} | ${n2(s.ratio)} | ${vsEmpty} | ${n2(s.cpuVerifiesPerTxNode)} | ${consensus} | ${bytes} | ${txBatches} | ${n0(s.finalityP50Ms)} / ${n0(s.finalityP99Ms)} | ${n0(s.peakMemMiB)} | ${n0(s.startRssMiB)} | ${s.startSeconds.toFixed(1)} |`,
    );
  }
  return lines;
}

/** Runs the matrix and prints the table. */
export async function runScaleScenario(o: ScaleOptions): Promise<RowResult[]> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const counts = o.nodeCounts.split(',').map((c) => Number(c.trim()));
  for (const c of counts) if (!Number.isSafeInteger(c) || c < 1 || c > 20) throw new Error(`--node-counts: each count must be from 1 to 20, got ${c}`);
  if (!Number.isSafeInteger(o.accounts) || o.accounts < 0) throw new Error(`--accounts must be a whole number >= 0, got ${o.accounts}`);
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-scale-'));
  const rows: RowResult[] = [];
  try {
    for (const accounts of o.accounts > 0 ? [0, o.accounts] : [0]) {
      for (const nodes of counts) rows.push(await runRow(o, nodes, accounts, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  out('');
  for (const l of scaleTable(rows)) out(l);
  return rows;
}
