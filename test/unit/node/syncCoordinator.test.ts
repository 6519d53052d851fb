/** How a node that is behind chooses between a snapshot and blocks (SyncCoordinator), with a scripted state sync. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerStanding, SnapshotSource, StateSync } from '../../../src/node/stateSync.js';
import { SyncCoordinator, type SyncMode } from '../../../src/node/syncCoordinator.js';

interface Script {
  standings: PeerStanding[];
  /** Height installed by a snapshot, or null with the outcome. */
  installs: number | null;
  outcome?: 'none offered' | 'failed';
}

function setup(mode: SyncMode, local: number, script: Script) {
  const calls: string[] = [];
  const warnings: string[] = [];
  let height = local;
  const fake = {
    progress: null,
    outcome: null as 'none offered' | 'failed' | null,
    survey: async () => {
      calls.push('survey');
      return script.standings;
    },
    run: async () => {
      calls.push('snapshot');
      if (script.installs !== null) height = script.installs;
      fake.outcome = script.installs === null ? (script.outcome ?? 'failed') : null;
      return script.installs;
    },
  };
  const c = new SyncCoordinator({
    mode,
    minLag: 100,
    height: () => height,
    stateSync: fake as unknown as StateSync,
    snapshots: {} as SnapshotSource,
    blocks: async () => {
      calls.push('blocks');
      return 0;
    },
    blockProgress: () => null,
    clock: { now: () => 0 },
    log: { debug: () => undefined, info: () => undefined, warn: (_f: unknown, m?: string) => void warnings.push(String(m)), error: () => undefined, fatal: () => undefined } as never,
  });
  return { c, calls, warnings };
}

const peer = (height: number, earliestBlockHeight = 1): PeerStanding => ({ peer: `http://p${height}`, height, earliestBlockHeight });

describe('SyncCoordinator', () => {
  it('blocks mode never asks for snapshots', async () => {
    const { c, calls } = setup('blocks', 0, { standings: [peer(5000)], installs: 4000 });
    await c.run(1);
    assert.deepEqual(calls, ['blocks']);
  });

  it('auto: a small lag is caught up by blocks; a lag of minLag or more by a snapshot, then blocks at once', async () => {
    const near = setup('auto', 950, { standings: [peer(1000)], installs: 1000 });
    await near.c.run(1);
    assert.deepEqual(near.calls, ['survey', 'blocks']);
    const far = setup('auto', 0, { standings: [peer(1000)], installs: 900 });
    await far.c.run(1);
    assert.deepEqual(far.calls, ['survey', 'snapshot', 'blocks']);
  });

  it('auto: peers that pruned the blocks this node needs mean a snapshot, whatever the lag; with none usable it says why (once) and waits', async () => {
    const s = setup('auto', 10, { standings: [peer(40, 20), peer(41, 25)], installs: null, outcome: 'none offered' });
    await s.c.run(1);
    await s.c.run(1);
    assert.deepEqual(s.calls, ['survey', 'snapshot', 'survey', 'snapshot']);
    assert.equal(s.warnings.length, 1);
    assert.match(s.warnings[0]!, /keep whole blocks only from height 20/);
  });

  it('a failed snapshot falls back to blocks (said once); none offered falls back quietly', async () => {
    const failed = setup('snapshot', 0, { standings: [peer(50)], installs: null, outcome: 'failed' });
    await failed.c.run(1);
    await failed.c.run(1);
    assert.deepEqual(failed.calls, ['survey', 'snapshot', 'blocks', 'survey', 'snapshot', 'blocks']);
    assert.deepEqual(failed.warnings, ['no usable snapshot; catching up block by block']);
    const none = setup('snapshot', 0, { standings: [peer(50)], installs: null, outcome: 'none offered' });
    await none.c.run(1);
    assert.deepEqual(none.warnings, []);
  });

  it('one round at a time', async () => {
    const s = setup('auto', 0, { standings: [peer(1000)], installs: 900 });
    const [a, b] = await Promise.all([s.c.run(1), s.c.run(1)]);
    assert.equal(b, 0);
    assert.ok(a > 0);
    assert.deepEqual(s.calls, ['survey', 'snapshot', 'blocks']);
  });
});
