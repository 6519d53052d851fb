/**
 * Messages a node holds for heights ahead of its own survive catch-up, and
 * messages of the first heights of a new epoch wait for the new validator set
 * instead of being refused. A real node (SQLite, in process) holds one of four
 * dev validator keys; blocks, certificates and envelopes are signed for real,
 * and the node's own votes are read where they leave through the transport.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Envelope } from '../../../src/codec/envelope.js';
import { devAccount, devValidator } from '../../../src/crypto/keys.js';
import type { SyncSource } from '../../../src/node/node.js';
import type { RunningNode } from '../../../src/node/run.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import type { FinalizedBlock, Genesis } from '../../../src/types/index.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { TestChain, devIndexOf } from '../../helpers/chain.js';
import { startValidatorNode, type TestNode } from '../../helpers/node.js';
import { signTx, spec } from '../state/stakingHarness.js';

const nodes: TestNode[] = [];
after(async () => {
  for (const n of nodes) await n.dispose();
});

async function startNode(genesis: Genesis, nodeIndex: number, sent: Envelope[]): Promise<TestNode> {
  // Long timeouts: every vote the node signs is its verdict on what it was sent, never a timeout's.
  const n = await startValidatorNode({ genesis, index: nodeIndex, sent, config: { timeoutPrevoteMs: 60_000, timeoutPrecommitMs: 60_000 } });
  nodes.push(n);
  return n;
}

function source(n: RunningNode, blocks: FinalizedBlock[]): SyncSource {
  return {
    peers: () => ['http://peer.invalid'],
    status: async () => ({ height: blocks.at(-1)!.block.header.height, genesisHash: n.node.genesisHash }),
    blocks: async (_peer, from, limit) => blocks.filter((b) => b.block.header.height >= from).slice(0, limit),
  };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

describe('catch-up and the messages of heights ahead', () => {
  it('the proposal and prevotes of the next height, received before catching up, are used after it: the node precommits the block', async () => {
    const genesis = defaultDevnetGenesis({ validators: 4 });
    const chain = new TestChain(genesis);
    const b1 = chain.build([]);
    const fb1 = chain.append(b1, chain.certify(b1.hash));
    const b2 = chain.build([]);
    const proposer2 = chain.proposerOf(2, 0);
    const ids = chain.setAt(2).validators.map((v) => v.id);
    const me = ids.find((id) => id !== proposer2)!;
    const sent: Envelope[] = [];
    const n = await startNode(genesis, devIndexOf(me), sent);
    // Height 2's proposal and the other three validators' prevotes arrive while the node is still at height 0.
    await n.node.handleEnvelope(chain.proposal(b2));
    for (const id of ids.filter((x) => x !== me)) await n.node.handleEnvelope(chain.vote('prevote', 2, 0, id, b2.hash));
    assert.equal(await n.node.syncFromPeers(source(n, [fb1])), 1);
    const precommitted = await until(() => sent.some((e) => e.type === 'precommit' && e.height === 2 && e.payload.blockHash === b2.hash), 5_000);
    assert.ok(precommitted, `no precommit for block 2 (sent: ${sent.map((e) => `${e.type}@${e.height}`).join(', ')})`);
  });

  it('a validator that joins at an epoch boundary is heard at the new epoch\'s first height, before this node has the set', async () => {
    const genesis = defaultDevnetGenesis({ validators: 4 });
    const g: Genesis = { ...genesis, params: { ...genesis.params, epochLengthBlocks: 3 } };
    const chain = new TestChain(g);
    const joining = devValidator(4);
    const operator = { ...devAccount(5) };
    const bond = signTx(spec(operator, 'validator_bond', { pubKey: joining.publicKey, amount: 1_000_000n }), 0, g.chainId);
    const blocks: FinalizedBlock[] = [];
    for (const txs of [[bond], [], []]) {
      const b = chain.build(txs);
      blocks.push(chain.append(b, chain.certify(b.hash)));
    }
    assert.ok(chain.setAt(4).validators.some((v) => v.id === joining.address), 'the bonded validator is in the set of epoch 1');
    const me = chain.setAt(3).validators[0]!.id;
    const sent: Envelope[] = [];
    const n = await startNode(g, devIndexOf(me), sent);
    await n.node.syncFromPeers(source(n, blocks.slice(0, 2)));
    assert.equal(n.node.height, 2);
    // Height 4 is in epoch 1, whose set is written by block 3: not known here yet.
    await n.node.handleEnvelope(chain.vote('prevote', 4, 0, joining.address, null));
    await n.node.syncFromPeers(source(n, blocks));
    assert.equal(n.node.height, 3);
  });
});

describe('catch-up: what /readyz calls syncing', () => {
  it('behavior: asking peers where they are is not syncing; fetching blocks from a peer ahead is', async () => {
    const genesis = defaultDevnetGenesis({ validators: 4 });
    const chain = new TestChain(genesis);
    const b1 = chain.build([]);
    const fb1 = chain.append(b1, chain.certify(b1.hash));
    const n = await startNode(genesis, 0, []);
    const seen: boolean[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    // A peer at our height that answers slowly (the periodic check under load): never syncing.
    const level: SyncSource = {
      peers: () => ['http://peer.invalid'],
      status: async () => {
        seen.push(n.node.isSyncing);
        await gate;
        seen.push(n.node.isSyncing);
        return { height: n.node.height, genesisHash: n.node.genesisHash };
      },
      blocks: async () => [],
    };
    const run = n.node.syncFromPeers(level);
    await until(() => seen.length === 1, 2_000);
    const midway = n.node.isSyncing;
    release();
    assert.equal(await run, 0);
    assert.deepEqual([...seen, midway], [false, false, false], 'the status probe made the node report syncing');
    // A peer ahead: syncing while its blocks are fetched.
    let during = false;
    const ahead: SyncSource = { ...source(n, [fb1]), blocks: async (_p, from, limit) => ((during = n.node.isSyncing), [fb1].filter((b) => b.block.header.height >= from).slice(0, limit)) };
    assert.equal(await n.node.syncFromPeers(ahead), 1);
    assert.equal(during, true);
    assert.equal(n.node.isSyncing, false);
  });
});

describe('catch-up: peers that pruned the blocks', () => {
  it('behavior: a peer answering PRUNED is not penalized and the next peer serves the blocks', async () => {
    const genesis = defaultDevnetGenesis({ validators: 4 });
    const chain = new TestChain(genesis);
    const b1 = chain.build([]);
    const fb1 = chain.append(b1, chain.certify(b1.hash));
    const n = await startNode(genesis, 0, []);
    const penalized: string[] = [];
    const both: SyncSource = {
      peers: () => ['http://pruned.invalid', 'http://full.invalid'],
      status: async () => ({ height: 1, genesisHash: n.node.genesisHash }),
      blocks: async (peer, from, limit) => {
        if (peer === 'http://pruned.invalid') throw new FastposError(ErrorCode.PRUNED, `peer ${peer} keeps whole blocks from height 50`);
        return [fb1].filter((b) => b.block.header.height >= from).slice(0, limit);
      },
      penalize: (peer) => penalized.push(peer),
    };
    assert.equal(await n.node.syncFromPeers(both), 1);
    assert.equal(n.node.height, 1);
    assert.deepEqual(penalized, []);
  });
});
