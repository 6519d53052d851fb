/**
 * A block's body is bound to its header everywhere: a finalize message or a
 * sync answer that carries the right header and a valid certificate but other
 * txs is refused, also when the node has already executed the real block
 * (proposed to it earlier), and what the node stores is the block it
 * executed. A real node (SQLite, in process) holds one of four dev validator
 * keys; everything it is sent is signed for real.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { toDecodedTx } from '../../../src/codec/tx.js';
import type { RunningNode } from '../../../src/node/run.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import type { DecodedTx, FinalizedBlock } from '../../../src/types/index.js';
import { TestChain, devIndexOf } from '../../helpers/chain.js';
import { acct, transfer } from '../../helpers/fixtures.js';
import { startValidatorNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const genesis = defaultDevnetGenesis({ validators: 4 });

/** The real block 1 (one signed transfer), its certificate, and a forged body under the same header. */
function scenario(): { chain: TestChain; real: FinalizedBlock; forged: FinalizedBlock; forgedTx: DecodedTx; proposalJson: unknown; nodeIndex: number } {
  const chain = new TestChain(genesis);
  const tx = transfer({ from: 1, to: acct(9).address, amount: 5n, nonce: 0 });
  const b = chain.build([tx]);
  const proposer = chain.proposerOf(1, 0);
  const proposalJson = chain.proposal(b);
  const set = chain.setAt(1);
  const nodeId = set.validators.find((v) => v.id !== proposer)!.id;
  // Certified by the three others (3 of 4: a quorum without the node's key).
  const commit = chain.certify(b.hash, { signers: set.validators.map((v) => v.id).filter((id) => id !== nodeId) });
  const real = chain.append(b, commit);
  // Another transfer, badly signed, in place of the real one: same header, same hash, same certificate.
  const other = transfer({ from: 2, to: acct(9).address, amount: 1_000n, nonce: 0 });
  const forgedTx = toDecodedTx({ ...other.tx, signature: other.tx.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
  const forged: FinalizedBlock = { ...real, block: { ...real.block, txs: [forgedTx] } };
  return { chain, real, forged, forgedTx, proposalJson, nodeIndex: devIndexOf(nodeId) };
}

const nodes: TestNode[] = [];
after(async () => {
  for (const n of nodes) await n.dispose();
});

async function startNode(nodeIndex: number): Promise<TestNode> {
  const n = await startValidatorNode({ genesis, index: nodeIndex });
  nodes.push(n);
  return n;
}

/** Hands an envelope to the node, ignoring a refusal (the assertions look at what the node stored). */
async function offer(n: RunningNode, json: unknown): Promise<void> {
  await n.node.handleEnvelope(json).catch(() => undefined);
}

function assertStoredReal(n: RunningNode, s: ReturnType<typeof scenario>): void {
  const stored = n.node.getBlock(1)!;
  assert.deepEqual(stored.block.txs.map((d) => d.id), s.real.block.txs.map((d) => d.id), 'the stored body is the real one');
  assert.equal(n.node.txStatus(s.forgedTx.id), undefined, 'the forged tx is not reported finalized');
  assert.equal(n.node.txStatus(s.real.block.txs[0]!.id)?.status, 'finalized');
}

describe('a block body bound to its header', () => {
  it('error: a finalize message with the real header and certificate but other txs is refused after the node executed the real block', async () => {
    const s = scenario();
    const n = await startNode(s.nodeIndex);
    await offer(n, s.proposalJson); // the node executes (and caches) the real block
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(n.node.handleEnvelope(s.chain.finalize(s.forged, s.real.block.header.proposer)), /INVALID_MESSAGE|does not match/);
    await offer(n, s.chain.finalize(s.real, s.real.block.header.proposer));
    await waitForHeight(n, 1);
    assertStoredReal(n, s);
  });

  it('error: the first block of a sync answer with the real header and certificate but other txs is not committed', async () => {
    const s = scenario();
    const n = await startNode(s.nodeIndex);
    await offer(n, s.proposalJson);
    await new Promise((r) => setTimeout(r, 200));
    const source = (fb: FinalizedBlock) => ({
      peers: () => ['http://peer.invalid'],
      status: async () => ({ height: 1, genesisHash: n.node.genesisHash }),
      blocks: async () => [fb],
    });
    await n.node.syncFromPeers(source(s.forged));
    if (n.node.height < 1) await n.node.syncFromPeers(source(s.real));
    await waitForHeight(n, 1);
    assertStoredReal(n, s);
  });
});
