/**
 * A running node (real store of each backend) moved to a state installed from
 * a snapshot: consensus stops, the store replaces its content, the head moves
 * to the snapshot's block; the next block is then taken on top, and after a
 * restart the node loads the installed chain and checks it as any other.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { SyncSource } from '../../../src/node/node.js';
import { runNode } from '../../../src/node/run.js';
import { DEFAULT_CONFIG, type NodeConfig } from '../../../src/config/index.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import { LtHash } from '../../../src/state/ltHash.js';
import type { SnapshotManifest } from '../../../src/state/snapshot.js';
import type { Genesis } from '../../../src/types/index.js';
import { pino } from 'pino';
import { TestChain } from '../../helpers/chain.js';
import { chunkEntries, takeSnapshot } from '../../helpers/snapshot.js';
import { startValidatorNode, type TestNode } from '../../helpers/node.js';
import type { Envelope } from '../../../src/codec/envelope.js';

const nodes: TestNode[] = [];
after(async () => {
  for (const n of nodes) await n.dispose();
});

async function snapshotOf(chain: TestChain): Promise<{ manifest: SnapshotManifest; lines: [string, string][] }> {
  const { manifest, chunks } = await takeSnapshot(chain, 2048);
  return { manifest, lines: chunkEntries(chunks) };
}

for (const backend of ['sqlite', 'snapshot'] as const) {
  describe(`installSnapshot (${backend})`, () => {
    it('behavior: a node at height 0 installs a certified state at height 12, takes block 13 on top, and reloads it after a restart', async () => {
      const genesis: Genesis = defaultDevnetGenesis({ validators: 4, accounts: 50 });
      const chain = new TestChain(genesis);
      const grow = (blocks: number): void => {
        for (let i = 0; i < blocks; i++) {
          const b = chain.build([]);
          chain.append(b, chain.certify(b.hash));
        }
      };
      grow(12);
      const snap = await snapshotOf(chain);
      grow(1);
      const sent: Envelope[] = [];
      const n = await startValidatorNode({ genesis, index: 0, sent, config: { stateBackend: backend, timeoutPrevoteMs: 60_000, timeoutPrecommitMs: 60_000 } });
      nodes.push(n);
      assert.equal(n.node.height, 0);
      const acc = new LtHash();
      for (const c of snap.manifest.chunks) acc.add(LtHash.fromBytes(Buffer.from(c.ltHash, 'hex')).lanes);
      await n.node.installSnapshot(snap.manifest.block, snap.lines, acc.toBytes());
      assert.equal(n.node.height, 12);
      assert.equal(n.node.stateRoot, chain.blocks[11]!.block.header.stateRoot);
      assert.equal(n.node.store.earliestBlockHeight(), 12);
      // Block 13 from a peer, on top of the installed state.
      const source: SyncSource = {
        peers: () => ['http://peer.invalid'],
        status: async () => ({ height: 13, genesisHash: n.node.genesisHash }),
        blocks: async (_p, from) => chain.blocks.filter((b) => b.block.header.height >= from),
      };
      assert.equal(await n.node.syncFromPeers(source), 1);
      assert.equal(n.node.height, 13);
      assert.equal(n.node.stateRoot, chain.blocks[12]!.block.header.stateRoot);
      // A restart loads the installed chain (its state, its latest block and certificate are checked at load).
      await n.close();
      const config: NodeConfig = { ...DEFAULT_CONFIG, dataDir: n.dir, port: 0, verifyWorkers: 0, allowDevKeys: true, stateBackend: backend, timeoutProposeMs: 60_000, timeoutPrevoteMs: 60_000, timeoutPrecommitMs: 60_000 };
      const again = await runNode(config, { logger: pino({ level: 'silent' }), onFatal: () => undefined, wrapTransport: () => ({ hasPeers: () => true, broadcast: () => undefined }) });
      try {
        assert.equal(again.node.height, 13);
        assert.equal(again.node.stateRoot, chain.blocks[12]!.block.header.stateRoot);
        assert.equal(again.node.store.earliestBlockHeight(), 12);
        const r = await fetch(`${again.url}/blocks/5`);
        assert.equal(r.status, 410);
      } finally {
        await again.close();
      }
    });
  });
}
