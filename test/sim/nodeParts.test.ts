/**
 * The deterministic simulation with every node running the node's real parts
 * (src/sim/fullNode.ts): ChainHead over an in-memory store, ChainApp,
 * PeerInbox, EvidencePool, CatchUp, Admission and the double-sign guard, over
 * the real state machine with signed transfers and staking txs. Many seeds of
 * the full mix, then each named scenario, then hand-written checks. A failing
 * seed is printed with its violations and the command that replays it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optionsFor, replayCommand, type RunArgs } from '../../src/sim/cli.js';
import { nodeHost } from '../../src/sim/host.js';
import { BYZANTINE_KINDS, deriveConfig, describeConfig, NO_FAULTS, Simulation, simConfig, type ByzantineKind, type SimConfig, type SimResult } from '../../src/sim/index.js';
import { SCENARIO_NAMES } from '../../src/sim/scenario.js';

const SEEDS = 200;
const HEIGHTS = 6;
const MIX: RunArgs = { nodes: null, heights: HEIGHTS, byzantine: undefined, partitions: true, crashes: true, loss: undefined, duplication: undefined, maxDelayMs: undefined, maxVirtualMs: undefined };

/**
 * Seeds of the mix that fail because of a bug reported to the owners of the
 * part at fault, with the diagnosis. They may pass once it is fixed; no other
 * seed may fail.
 */
const KNOWN_FAILURES = new Map<number, string>();

function explain(r: SimResult, replay: string): string {
  return [`seed ${r.seed} failed:`, ...r.violations.map((v) => `  ${v}`), ...r.anomalies.slice(0, 5).map((a) => `  (anomaly) ${a}`), `  replay: ${replay} --trace`, r.description].join('\n');
}

async function run(cfg: SimConfig, setup?: (sim: Simulation) => void): Promise<{ sim: Simulation; r: SimResult }> {
  const sim = new Simulation(cfg);
  setup?.(sim);
  const r = await sim.run(nodeHost);
  return { sim, r };
}

/** A hand-written run of the real parts: no faults unless given, a tx every ~200 ms. */
function nodeConfig(p: Partial<SimConfig> & { readonly seed: number }): SimConfig {
  return simConfig({ app: 'node', stakes: [10n, 10n, 10n, 10n], heights: 8, txIntervalMs: 200, minBlockIntervalMs: 75, idleBlockIntervalMs: 150, epochLengthBlocks: 3, ...p });
}

const replayOf = (cfg: SimConfig): string => `(hand-written scenario, seed ${cfg.seed})\n${describeConfig(cfg)}`;
const safetyOnly = (r: SimResult): string[] => r.violations.filter((v) => !v.startsWith('LIVENESS') && !v.startsWith('PROGRESS'));

describe('simulation (node parts): random seeds of the full mix', () => {
  it(`${SEEDS} seeds (4 and 5 validators, every fault and Byzantine kind, txs, epochs) keep safety and liveness`, async (ctx) => {
    const failures: string[] = [];
    const failedSeeds: number[] = [];
    const known: number[] = [];
    const kinds = new Map<ByzantineKind, number>();
    const t = { partitions: 0, shaped: 0, skewed: 0, allCrash: 0, writeFaults: 0, fatalStops: 0, crashes: 0, synced: 0, penalties: 0, setChanges: 0, txsFinalized: 0, evidenceInBlocks: 0, heights: 0 };
    for (let seed = 0; seed < SEEDS; seed++) {
      const cfg = deriveConfig(optionsFor(MIX, seed));
      if (cfg.byzantine !== null) kinds.set(cfg.byzantineKind, (kinds.get(cfg.byzantineKind) ?? 0) + 1);
      if (cfg.scenario.partitions.length > 0) t.partitions++;
      if (cfg.scenario.partitions.some((p) => (p.kind ?? 'split') !== 'split')) t.shaped++;
      if (cfg.clockSkewMs.some((x) => x !== 0)) t.skewed++;
      if (cfg.scenario.allCrashAt != null) t.allCrash++;
      t.writeFaults += cfg.scenario.writeFaults?.length ?? 0;
      const r = await new Simulation(cfg).run(nodeHost);
      t.fatalStops += r.stats.fatalStops;
      t.crashes += r.stats.crashes;
      t.synced += r.stats.syncBlocks;
      t.penalties += r.stats.syncPenalties;
      t.setChanges += r.stats.validatorSets > 1 ? 1 : 0;
      t.txsFinalized += r.stats.txsFinalized;
      t.evidenceInBlocks += r.stats.evidenceInBlocks;
      t.heights += r.heightsDecided;
      if (r.ok) continue;
      if (KNOWN_FAILURES.has(seed)) {
        known.push(seed);
        continue;
      }
      failedSeeds.push(seed);
      if (failures.length < 10) failures.push(explain(r, replayCommand(MIX, seed)));
    }
    if (known.length > 0) ctx.diagnostic(`seeds failing with a reported bug: ${known.map((s) => `${s} (${KNOWN_FAILURES.get(s)})`).join('; ')}`);
    ctx.diagnostic(`${SEEDS} seeds: ${t.heights} heights decided, ${t.txsFinalized} txs finalized, ${t.crashes} crashes, ${t.fatalStops} fatal stops, ${t.synced} synced blocks`);
    // The seeds really exercise the faults.
    for (const k of BYZANTINE_KINDS) assert.ok((kinds.get(k) ?? 0) >= 5, `only ${kinds.get(k) ?? 0} runs with a Byzantine validator of kind ${k}`);
    assert.ok(t.partitions >= 60 && t.shaped >= 25, `${t.partitions} runs with partitions, ${t.shaped} of other shapes than a split`);
    assert.ok(t.skewed >= 60 && t.allCrash >= 10 && t.writeFaults >= 60, `${t.skewed} runs with clock skew, ${t.allCrash} with every node crashing, ${t.writeFaults} write faults`);
    assert.ok(t.crashes >= 150 && t.fatalStops >= 10, `${t.crashes} crashes, ${t.fatalStops} fatal stops`);
    assert.ok(t.synced > 0 && t.penalties > 0, `${t.synced} synced blocks, ${t.penalties} sync penalties`);
    assert.ok(t.setChanges >= 40 && t.evidenceInBlocks > 0, `${t.setChanges} runs where the validator set changed, ${t.evidenceInBlocks} evidence items in blocks`);
    assert.ok(t.txsFinalized >= 2_000, `only ${t.txsFinalized} txs finalized`);
    assert.equal(failedSeeds.length, 0, `${failedSeeds.length} of ${SEEDS} seeds failed: ${failedSeeds.join(' ')}\n(the first ${failures.length}:)\n${failures.join('\n')}`);
  });

  for (const [seed, bug] of KNOWN_FAILURES) {
    it(`seed ${seed} (fails until this is fixed: ${bug})`, { todo: 'a reported bug of the node parts' }, async () => {
      const r = await new Simulation(deriveConfig(optionsFor(MIX, seed))).run(nodeHost);
      assert.ok(r.ok, explain(r, replayCommand(MIX, seed)));
    });
  }

  it('seeds found failing by long campaigns stay fixed (`npm run sim -- --seed N`)', async () => {
    // 1172: a lock kept a polka without the prevote that completed it; once the validator whose prevote
    // completed it was gone, nobody could justify the locked block.
    // 1760, 2407: a validator a height behind sent votes its peers refused as outdated without handing it
    // the block and certificate, and its catch-up requests kept failing.
    // 6002, 6332, 7327, 8672: a node committed a block whose certificate rested on its own precommit before
    // the guard had made that precommit durable; a crash or failed guard write then let it sign another block.
    for (const seed of [1172, 1760, 2407, 6002, 6332, 7327, 8672]) {
      const r = await new Simulation(deriveConfig(optionsFor(MIX, seed))).run(nodeHost);
      assert.ok(r.ok, explain(r, replayCommand(MIX, seed)));
    }
  });

  it('a seed replays exactly', async () => {
    for (const opts of [
      { seed: 4242, nodes: 5, heights: HEIGHTS, byzantine: true },
      { seed: 77, nodes: 4, heights: HEIGHTS, scenario: 'set-changes' as const },
    ]) {
      const a = await new Simulation(deriveConfig(opts)).run(nodeHost);
      const b = await new Simulation(deriveConfig(opts)).run(nodeHost);
      assert.deepEqual(b.decisions, a.decisions);
      assert.equal(b.messages, a.messages);
      assert.equal(b.virtualMs, a.virtualMs);
      assert.deepEqual(b.stats, a.stats);
      assert.deepEqual(b.violations, a.violations);
    }
  });
});

describe('simulation (node parts): named scenarios', () => {
  for (const name of SCENARIO_NAMES) {
    it(`${name}: 4 seeds keep safety and liveness`, async () => {
      const args: RunArgs = { ...MIX, scenario: name };
      const failures: string[] = [];
      for (let seed = 100; seed < 104; seed++) {
        const r = await new Simulation(deriveConfig(optionsFor(args, seed))).run(nodeHost);
        if (!r.ok) failures.push(explain(r, replayCommand(args, seed)));
      }
      assert.deepEqual(failures, []);
    });
  }
});

describe('simulation (node parts): hand-written checks', () => {
  it('no faults: every height is decided in round 0, txs are finalized, every node stores the same chain', async () => {
    const cfg = nodeConfig({ seed: 11 });
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    for (const [i, ds] of r.decisions.entries()) {
      assert.ok(ds.length >= cfg.heights, `node ${i} decided ${ds.length} heights`);
      assert.deepEqual(
        ds.map((d) => d.round),
        ds.map(() => 0),
        `node ${i} decided in rounds ${ds.map((d) => d.round).join(',')}`,
      );
    }
    assert.ok(r.stats.txsFinalized >= 5 && r.stats.txsFinalized >= r.stats.txsSubmitted - 2, `only ${r.stats.txsFinalized} txs finalized of ${r.stats.txsSubmitted}`);
    // The same block, body and results everywhere (each node may hold another certificate for it).
    const withoutCommit = (j: string | undefined): string => JSON.stringify({ ...(JSON.parse(j!) as object), commit: null });
    for (let h = 1; h <= cfg.heights; h++) {
      assert.equal(new Set(sim.nodes.map((x) => withoutCommit(x.disk!.blockJson(h)))).size, 1, `height ${h} is stored differently`);
    }
  });

  it('staking txs change the validator set at epoch boundaries while a node crashes and a partition runs', async () => {
    const cfg = nodeConfig({
      seed: 12,
      heights: 12,
      epochLengthBlocks: 2,
      txIntervalMs: 80,
      stakingTxs: true,
      scenario: { ...NO_FAULTS, partitions: [{ start: 1_500, end: 4_000, kind: 'ring', groups: [[0, 2, 1, 3]] }], crashes: [{ node: 1, at: 2_000, downMs: 3_000 }] },
    });
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    assert.ok(r.stats.validatorSets >= 3, `the decided blocks were signed by ${r.stats.validatorSets} sets`);
    const kinds = new Set([...sim.txs.values()].map((t) => t.kind));
    for (const k of ['delegation_delegate', 'validator_bond']) assert.ok(kinds.has(k), `no ${k} tx was sent`);
  });

  it('a guard write failure stops the node before anything it signed leaves; it restarts from its durable record', async () => {
    const cfg = nodeConfig({ seed: 13, scenario: { ...NO_FAULTS, writeFaults: [{ node: 2, target: 'guard', mode: 'fail', at: 800, until: 1_500, restartMs: 1_000 }] } });
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    assert.ok(r.stats.fatalStops >= 1, 'the guard write never failed');
    // The failed incarnation signed nothing after its failure, and the node went on after its restart.
    assert.ok(sim.signatures.some((s) => s.node === 2 && s.incarnation > 1), 'node 2 never signed again');
    assert.ok(sim.nodes[2]!.chain.height >= cfg.heights);
  });

  it('a failed block write stops the node; a torn one loses the block; both restart from the disk and catch up', async () => {
    for (const mode of ['fail', 'torn'] as const) {
      const cfg = nodeConfig({ seed: 14, scenario: { ...NO_FAULTS, writeFaults: [{ node: 1, target: 'disk', mode, at: 600, until: 1_200, restartMs: 2_000 }] } });
      const { sim, r } = await run(cfg);
      assert.ok(r.ok, explain(r, replayOf(cfg)));
      assert.ok(r.stats.crashes >= 1, `${mode}: the write fault never hit`);
      assert.ok(sim.nodes[1]!.chain.height >= cfg.heights, `${mode}: node 1 at ${sim.nodes[1]!.chain.height}`);
    }
  });

  it('every node crashing at once: they restart from their disks and guards and go on', async () => {
    const cfg = nodeConfig({ seed: 15, scenario: { ...NO_FAULTS, allCrashAt: 1_200, crashes: [0, 1, 2, 3].map((node) => ({ node, at: 1_200, downMs: 300 + 400 * node })) } });
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    assert.equal(r.stats.crashes, 4);
    for (const x of sim.nodes) assert.ok(x.chain.height >= cfg.heights);
  });

  it('clock skew of seconds either way: blocks keep strictly increasing timestamps and heights are decided', async () => {
    const cfg = nodeConfig({ seed: 16, clockSkewMs: [-4_000, 0, 3_000, 5_000] });
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    const chain = sim.nodes[1]!.chain;
    for (let h = 2; h <= chain.height; h++) assert.ok(chain.at(h)!.block.header.timestamp > chain.at(h - 1)!.block.header.timestamp);
  });

  it('a one-way partition and a bridge: liveness once they heal, one chain', async () => {
    const cfg = nodeConfig({
      seed: 17,
      scenario: {
        ...NO_FAULTS,
        partitions: [
          { start: 300, end: 3_000, kind: 'oneway', groups: [[0, 1], [2, 3]] },
          { start: 4_000, end: 7_000, kind: 'bridge', groups: [[0], [2, 3], [1]] },
        ],
      },
    });
    const { r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
  });

  const byzantine = (kind: ByzantineKind, seed: number): SimConfig => nodeConfig({ seed, stakes: [10n, 10n, 10n, 10n, 10n], byzantine: 4, byzantineKind: kind, heights: 10 });

  it('Byzantine: forged proposal and finalize bodies are refused by every peer inbox, forged sync answers by catch-up', async () => {
    const cfg = byzantine('forge', 21);
    const { r } = await run(cfg, (s) => s.crash(1, 'test: a node that must catch up', 4_000));
    assert.deepEqual(safetyOnly(r), [], explain(r, replayOf(cfg)));
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    assert.ok(r.stats.byzantineActs > 0 && r.stats.rejected > 0, `${r.stats.byzantineActs} forgeries, ${r.stats.rejected} refused`);
  });

  it('Byzantine: blocks with forged tx signatures are never decided (every stored tx signature is checked)', async () => {
    const cfg = byzantine('invalid-txs', 22);
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    assert.ok(r.stats.byzantineActs > 0, 'no forged tx was put in its pool');
    const byz = sim.nodes[4]!.id;
    const rounds = sim.nodes[0]!.decisions.filter((d) => sim.nodes[0]!.chain.at(d.height)!.block.header.proposer !== byz && d.round > 0);
    assert.ok(rounds.length > 0, 'no height needed a second round: its forged blocks were never refused');
  });

  it('Byzantine: a vote flood and withheld votes keep safety and liveness; evidence names only the flooder', async () => {
    for (const [kind, seed] of [['flood', 23], ['withhold', 24]] as const) {
      const cfg = byzantine(kind, seed);
      const { sim, r } = await run(cfg);
      assert.ok(r.ok, explain(r, replayOf(cfg)));
      assert.ok(r.stats.byzantineActs > 0, `${kind}: the Byzantine validator did nothing`);
      for (const e of r.evidence) assert.equal(e.validatorId, sim.nodes[4]!.id);
      if (kind === 'flood') assert.ok(r.evidence.length > 0, 'the flood was never reported');
    }
  });

  it('Byzantine: one key in two places double-signs; its evidence lands in a block and punishes that key only', async () => {
    const cfg = byzantine('duplicate', 25);
    const { sim, r } = await run(cfg);
    assert.ok(r.ok, explain(r, replayOf(cfg)));
    assert.equal(sim.nodes.length, 6, 'no second node with the same key');
    assert.ok(r.evidence.length > 0, 'the two copies never conflicted');
    for (const e of r.evidence) assert.equal(e.validatorId, sim.nodes[4]!.id);
  });
});
