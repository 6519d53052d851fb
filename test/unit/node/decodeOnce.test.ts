/**
 * An envelope is decoded once on its way to the engine: the peer inbox
 * decodes a proposal's payload (looking each tx up in the pool by its
 * signature, once), and the driver takes the decoded message as it is. A
 * real node (SQLite, in process) holds one of four dev validator keys.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Envelope } from '../../../src/codec/envelope.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import { TestChain, devIndexOf } from '../../helpers/chain.js';
import { acct, transfer } from '../../helpers/fixtures.js';
import { startValidatorNode, type TestNode } from '../../helpers/node.js';

const nodes: TestNode[] = [];
after(async () => {
  for (const n of nodes) await n.dispose();
});

describe('one decoding per envelope', () => {
  it('a proposal of 20 txs is decoded once (one pool lookup per tx) before the node prevotes for it', async () => {
    const genesis = defaultDevnetGenesis({ validators: 4 });
    const chain = new TestChain(genesis);
    const txs = Array.from({ length: 20 }, (_, i) => transfer({ from: i % 8, to: acct(9).address, amount: 1n, nonce: Math.floor(i / 8) }));
    const b = chain.build(txs);
    const me = chain.setAt(1).validators.find((v) => v.id !== chain.proposerOf(1, 0))!.id;
    const sent: Envelope[] = [];
    const n = await startValidatorNode({ genesis, index: devIndexOf(me), sent });
    nodes.push(n);
    const pool = n.node.mempool;
    const original = pool.getBySignature.bind(pool);
    let lookups = 0;
    pool.getBySignature = (sig) => {
      lookups++;
      return original(sig);
    };
    await n.node.handleEnvelope(chain.proposal(b));
    for (let i = 0; i < 500 && !sent.some((e) => e.type === 'prevote'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(sent.find((e) => e.type === 'prevote')?.payload.blockHash, b.hash);
    assert.equal(lookups, txs.length);
  });
});
