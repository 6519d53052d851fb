import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockHash } from '../../../src/codec/block.js';
import { decodeProposalPayload, encodeProposalPayload, type Envelope } from '../../../src/codec/envelope.js';
import { encodeTx } from '../../../src/codec/tx.js';
import type { Block, BlockHeader, DecodedTx } from '../../../src/types/index.js';
import { CHAIN, acct, transfer, val } from '../../helpers/fixtures.js';

const Z = '0'.repeat(64);

function proposalWith(txs: readonly DecodedTx[]): { env: Envelope; block: Block } {
  const header: BlockHeader = {
    version: 1, chainId: CHAIN, height: 1, round: 0, timestamp: 1, prevHash: Z, proposer: val(0).address,
    txRoot: Z, txCount: txs.length, stateRoot: Z, validatorSetHash: Z, lastCommitHash: Z, evidenceHash: Z,
  };
  const block: Block = { header, txs, lastCommit: null, evidence: [] };
  const payload = encodeProposalPayload(block, blockHash(header), -1);
  return { env: { type: 'proposal', chainId: CHAIN, height: 1, round: 0, validatorId: val(0).address, payload, signature: '0'.repeat(128) }, block };
}

test('a proposal tx the receiver already holds is reused, not decoded again', () => {
  const d = transfer({ from: 0, to: acct(1).address, amount: 5n, nonce: 0 });
  const { env } = proposalWith([d]);
  const known = new Map([[d.tx.signature, d]]);
  const out = decodeProposalPayload(env, (sig) => known.get(sig));
  assert.equal(out.block.txs[0], d);
});

test('a wire tx that carries a known signature but differs in any field is decoded from its own bytes', () => {
  const d = transfer({ from: 0, to: acct(1).address, amount: 5n, nonce: 0 });
  const { env } = proposalWith([d]);
  const wire = { ...encodeTx(d.tx), payload: { to: acct(1).address, amount: '6' } };
  const tampered: Envelope = { ...env, payload: { ...env.payload, block: { ...(env.payload.block as object), txs: [wire] } } };
  const known = new Map([[d.tx.signature, d]]);
  const out = decodeProposalPayload(tampered, (sig) => known.get(sig));
  const got = out.block.txs[0]!;
  assert.notEqual(got, d);
  assert.notEqual(got.id, d.id);
  assert.equal(got.tx.kind === 'transfer' && got.tx.payload.amount, 6n);
  // An extra field is not ignored either: it makes the tx malformed.
  const extra: Envelope = { ...env, payload: { ...env.payload, block: { ...(env.payload.block as object), txs: [{ ...encodeTx(d.tx), memo: 'x' }] } } };
  assert.throws(() => decodeProposalPayload(extra, (sig) => known.get(sig)), /malformed/);
});
