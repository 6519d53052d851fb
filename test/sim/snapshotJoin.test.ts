/**
 * Scenario `snapshot-join` of the simulation: every node prunes and takes
 * snapshots; an honest node comes back with a wiped chain store after its
 * peers pruned block 1, must install a snapshot (checked against the honest
 * chain's block and state root at that height), and keeps deciding with the
 * others, while the Byzantine node serves corrupted chunks, manifests with a
 * wrong state root, or a forged snapshot no certificate signs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optionsFor, replayCommand, type RunArgs } from '../../src/sim/cli.js';
import { nodeHost } from '../../src/sim/host.js';
import { deriveConfig, Simulation, type SimResult } from '../../src/sim/index.js';

const ARGS: RunArgs = { nodes: null, heights: 6, byzantine: undefined, partitions: true, crashes: true, loss: undefined, duplication: undefined, maxDelayMs: undefined, maxVirtualMs: undefined, scenario: 'snapshot-join' };

function explain(r: SimResult, replay: string): string {
  return [`seed ${r.seed} failed:`, ...r.violations.map((v) => `  ${v}`), `  replay: ${replay} --trace`, r.description].join('\n');
}

describe('simulation (node parts): snapshot-join', () => {
  // Seed 2: corrupted chunks (4 validators); 5: a forged snapshot at the tip (5 validators); 8: manifests with a wrong state root (4 validators).
  for (const [seed, lie] of [[2, 'corrupt-chunk'], [5, 'forged-state'], [8, 'wrong-root']] as const) {
    it(`seed ${seed} (${lie}): the node that comes back with a wiped store installs a snapshot of the honest chain and keeps deciding; the liar is penalized`, async () => {
      const cfg = deriveConfig(optionsFor(ARGS, seed));
      assert.equal(cfg.snapshots?.lie, lie);
      const join = cfg.scenario.snapshotJoin!;
      const sim = new Simulation(cfg);
      const r = await sim.run(nodeHost);
      assert.ok(r.ok, explain(r, replayCommand(ARGS, seed)));
      const x = sim.nodes[join.node]!;
      assert.ok(x.installs.length >= 1, 'the node installed a snapshot');
      const installed = x.installs[0]!;
      assert.ok(installed.height > 1, `installed at height ${installed.height}`);
      // Its store starts at the snapshot: the blocks below were never on it.
      assert.equal(x.disk!.block(1), undefined);
      assert.ok(x.chain.height > installed.height && r.decisions[join.node]!.some((d) => d.height > installed.height), 'it decided heights above the snapshot');
      assert.equal(r.stats.snapshotInstalls, x.installs.length);
      assert.ok(r.stats.snapshotPenaltiesByzantine >= 1, 'the Byzantine snapshot server was penalized');
    });
  }

  it('a seed replays exactly', async () => {
    const cfg = deriveConfig(optionsFor(ARGS, 2));
    const a = await new Simulation(cfg).run(nodeHost);
    const b = await new Simulation(deriveConfig(optionsFor(ARGS, 2))).run(nodeHost);
    assert.deepEqual(b.decisions, a.decisions);
    assert.deepEqual(b.stats, a.stats);
    assert.equal(b.virtualMs, a.virtualMs);
  });
});
