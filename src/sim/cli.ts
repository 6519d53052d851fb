#!/usr/bin/env node
/**
 * Runs the deterministic simulation over many seeds.
 *
 *   node dist/sim/cli.js --seeds 10000 [--from 0] [--nodes 4] [--heights 6]
 *   node dist/sim/cli.js --seed 1234 [--nodes 4] [--trace]     (replay one seed, verbose)
 *
 * Options: --app node|stand-in (default node: every node runs the node's real
 * parts), --byzantine on|off (default: from the seed), --byzantine-kind K
 * (node app: equivocate, forge, invalid-txs, flood, withhold, duplicate),
 * --txs on|off (node app), --scenario NAME (node app: make sure one fault
 * happens in every run, see `SCENARIO_NAMES`), --partitions on|off,
 * --crashes on|off (default on), --loss P, --duplication P, --max-delay MS,
 * --max-virtual-ms MS, --quiet. Without --nodes, the seed picks 4 or 5
 * validators.
 * Prints each failing seed with its violations and the command that replays
 * it; exits 1 on any violation.
 * @module
 */
import { BYZANTINE_KINDS, SCENARIO_NAMES, describeConfig, deriveConfig, type ByzantineKind, type ScenarioName, type SimAppKind, type SimulationOptions } from './scenario.js';
import { nodeHost } from './host.js';
import { Simulation, type SimResult } from './simulation.js';

interface CliArgs {
  app: SimAppKind;
  byzantineKind: ByzantineKind | undefined;
  txs: boolean;
  scenario: ScenarioName | undefined;
  seeds: number;
  from: number;
  seed: number | null;
  nodes: number | null;
  heights: number;
  byzantine: boolean | undefined;
  partitions: boolean;
  crashes: boolean;
  loss: number | undefined;
  duplication: number | undefined;
  maxDelayMs: number | undefined;
  maxVirtualMs: number | undefined;
  trace: boolean;
  quiet: boolean;
}

function usage(msg?: string): never {
  if (msg !== undefined) process.stderr.write(`${msg}\n`);
  process.stderr.write(
    `usage: node dist/sim/cli.js (--seeds N [--from S] | --seed S [--trace]) [--app node|stand-in] [--nodes N] [--heights H] [--byzantine on|off] [--byzantine-kind ${BYZANTINE_KINDS.join('|')}] [--txs on|off] [--scenario ${SCENARIO_NAMES.join('|')}] [--partitions on|off] [--crashes on|off] [--loss P] [--duplication P] [--max-delay MS] [--max-virtual-ms MS] [--quiet]\n`,
  );
  process.exit(2);
}

function parse(argv: string[]): CliArgs {
  const a: CliArgs = { app: 'node', byzantineKind: undefined, txs: true, scenario: undefined, seeds: 100, from: 0, seed: null, nodes: null, heights: 6, byzantine: undefined, partitions: true, crashes: true, loss: undefined, duplication: undefined, maxDelayMs: undefined, maxVirtualMs: undefined, trace: false, quiet: false };
  const num = (v: string | undefined, name: string): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x)) usage(`${name} needs a number`);
    return x;
  };
  const onOff = (v: string | undefined, name: string): boolean => {
    if (v === 'on' || v === 'true') return true;
    if (v === 'off' || v === 'false') return false;
    return usage(`${name} takes on or off`);
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string | undefined => argv[++i];
    switch (k) {
      case '--app': {
        const x = v();
        if (x !== 'node' && x !== 'stand-in') usage('--app takes node or stand-in');
        a.app = x;
        break;
      }
      case '--byzantine-kind': {
        const x = v() as ByzantineKind;
        if (!BYZANTINE_KINDS.includes(x)) usage(`--byzantine-kind takes ${BYZANTINE_KINDS.join(', ')}`);
        a.byzantineKind = x;
        break;
      }
      case '--txs': a.txs = onOff(v(), k); break;
      case '--scenario': {
        const x = v() as ScenarioName;
        if (!SCENARIO_NAMES.includes(x)) usage(`--scenario takes ${SCENARIO_NAMES.join(', ')}`);
        a.scenario = x;
        break;
      }
      case '--seeds': a.seeds = num(v(), k); break;
      case '--from': a.from = num(v(), k); break;
      case '--seed': a.seed = num(v(), k); break;
      case '--nodes': a.nodes = num(v(), k); break;
      case '--heights': a.heights = num(v(), k); break;
      case '--byzantine': a.byzantine = onOff(v(), k); break;
      case '--partitions': a.partitions = onOff(v(), k); break;
      case '--crashes': a.crashes = onOff(v(), k); break;
      case '--loss': a.loss = num(v(), k); break;
      case '--duplication': a.duplication = num(v(), k); break;
      case '--max-delay': a.maxDelayMs = num(v(), k); break;
      case '--max-virtual-ms': a.maxVirtualMs = num(v(), k); break;
      case '--trace': a.trace = true; break;
      case '--quiet': a.quiet = true; break;
      case '--help': case '-h': usage();
      // falls through (usage exits)
      default: usage(`unknown option ${k}`);
    }
  }
  return a;
}

/** Nodes for a seed when --nodes is not given: 4 or 5, from the seed. */
export function nodesForSeed(seed: number): number {
  return seed % 2 === 0 ? 4 : 5;
}

/** What the command line pins of a run; `app` (default node), `byzantineKind`, `txs` and `scenario` may be left out. */
export type RunArgs = Pick<CliArgs, 'nodes' | 'heights' | 'byzantine' | 'partitions' | 'crashes' | 'loss' | 'duplication' | 'maxDelayMs' | 'maxVirtualMs'> & Partial<Pick<CliArgs, 'app' | 'byzantineKind' | 'txs' | 'scenario'>>;

export function optionsFor(a: RunArgs, seed: number, trace = false): SimulationOptions {
  const o: { -readonly [K in keyof SimulationOptions]: SimulationOptions[K] } = { seed, app: a.app ?? 'node', nodes: a.nodes ?? nodesForSeed(seed), heights: a.heights, partitions: a.partitions, crashes: a.crashes, trace };
  if (a.byzantineKind !== undefined) o.byzantineKind = a.byzantineKind;
  if (a.txs === false) o.txs = false;
  if (a.scenario !== undefined) o.scenario = a.scenario;
  if (a.byzantine !== undefined) o.byzantine = a.byzantine;
  if (a.loss !== undefined) o.loss = a.loss;
  if (a.duplication !== undefined) o.duplication = a.duplication;
  if (a.maxDelayMs !== undefined) o.maxDelayMs = a.maxDelayMs;
  if (a.maxVirtualMs !== undefined) o.maxVirtualMs = a.maxVirtualMs;
  return o;
}

/** The command that replays `seed` with the same options. */
export function replayCommand(a: RunArgs, seed: number): string {
  const parts = ['node dist/sim/cli.js', `--seed ${seed}`];
  if ((a.app ?? 'node') !== 'node') parts.push(`--app ${a.app}`);
  if (a.byzantineKind !== undefined) parts.push(`--byzantine-kind ${a.byzantineKind}`);
  if (a.txs === false) parts.push('--txs off');
  if (a.scenario !== undefined) parts.push(`--scenario ${a.scenario}`);
  if (a.nodes !== null) parts.push(`--nodes ${a.nodes}`);
  if (a.heights !== 6) parts.push(`--heights ${a.heights}`);
  if (a.byzantine !== undefined) parts.push(`--byzantine ${a.byzantine ? 'on' : 'off'}`);
  if (!a.partitions) parts.push('--partitions off');
  if (!a.crashes) parts.push('--crashes off');
  if (a.loss !== undefined) parts.push(`--loss ${a.loss}`);
  if (a.duplication !== undefined) parts.push(`--duplication ${a.duplication}`);
  if (a.maxDelayMs !== undefined) parts.push(`--max-delay ${a.maxDelayMs}`);
  if (a.maxVirtualMs !== undefined) parts.push(`--max-virtual-ms ${a.maxVirtualMs}`);
  return parts.join(' ');
}

function summary(r: SimResult): string {
  const txs = r.stats.txsSubmitted > 0 ? `, txs ${r.stats.txsFinalized} finalized of ${r.stats.txsSubmitted}` : '';
  return `heights ${r.heightsDecided} (max ${r.maxHeight}), virtual ${(r.virtualMs / 1000).toFixed(1)} s, ${r.messages} messages, ${r.stats.crashes} crashes, ${r.stats.syncBlocks} synced blocks, ${r.evidence.length} evidence, ${r.refusals} refusals${txs}`;
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  if (a.seed !== null) {
    const opts = optionsFor(a, a.seed, a.trace);
    const cfg = deriveConfig(opts);
    out(describeConfig(cfg));
    const t0 = Date.now();
    const r = await new Simulation(cfg).run(nodeHost);
    if (a.trace) for (const line of r.trace) out(line);
    out(`${r.ok ? 'OK' : 'FAIL'} seed ${a.seed}: ${summary(r)} (${Date.now() - t0} ms)`);
    for (const an of r.anomalies.slice(0, 20)) out(`  anomaly: ${an}`);
    for (const v of r.violations) out(`  violation: ${v}`);
    process.exit(r.ok ? 0 : 1);
  }
  const t0 = Date.now();
  let failed = 0;
  let heights = 0;
  for (let s = a.from; s < a.from + a.seeds; s++) {
    let r: SimResult;
    try {
      r = await new Simulation(deriveConfig(optionsFor(a, s))).run(nodeHost);
    } catch (err) {
      failed++;
      out(`FAIL seed ${s}: exception ${(err as Error).stack ?? String(err)}\n  replay: ${replayCommand(a, s)}`);
      continue;
    }
    heights += r.heightsDecided;
    if (!r.ok) {
      failed++;
      out(`FAIL seed ${s}: ${summary(r)}`);
      for (const v of r.violations) out(`  ${v}`);
      out(`  replay: ${replayCommand(a, s)} --trace`);
    }
    const done = s - a.from + 1;
    if (!a.quiet && (done % 100 === 0 || done === a.seeds)) {
      out(`${done}/${a.seeds} seeds, ${failed} failing, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const secs = (Date.now() - t0) / 1000;
  out(`${a.seeds} seeds from ${a.from} (${a.app === 'node' ? 'node parts' : 'stand-in app'}${a.scenario === undefined ? '' : `, scenario ${a.scenario}`}): ${failed} failing, ${heights} heights decided, ${secs.toFixed(1)} s (${(a.seeds / secs).toFixed(1)} seeds/s)`);
  process.exit(failed === 0 ? 0 : 1);
}

// Run only as a program (the helpers above may be imported).
const invoked = process.argv[1] ?? '';
if (/[\\/]cli\.(js|ts)$/.test(invoked)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  });
}
