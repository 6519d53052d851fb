import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockHash } from '../../../src/codec/block.js';
import { decodeFinalizePayload, decodeProposalPayload, encodeFinalizePayload, encodeProposalPayload, type Envelope } from '../../../src/codec/envelope.js';
import { RawJson, canonicalJson } from '../../../src/codec/canonical.js';
import { envelopeSignBytes } from '../../../src/codec/envelope.js';
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
  // As a receiver gets it: parsed from the wire text.
  const payload = JSON.parse(canonicalJson(encodeProposalPayload(block, blockHash(header), -1))) as Record<string, unknown>;
  return { env: { type: 'proposal', chainId: CHAIN, height: 1, round: 0, validatorId: val(0).address, payload, signature: '0'.repeat(128) }, block };
}

test('a proposal tx the receiver already holds is reused, not decoded again', () => {
  const d = transfer({ from: 0, to: acct(1).address, amount: 5n, nonce: 0 });
  const { env } = proposalWith([d]);
  const known = new Map([[d.tx.signature, d]]);
  const signed = envelopeSignBytes(env);
  const out = decodeProposalPayload(env, (sig) => known.get(sig));
  assert.equal(out.block.txs[0], d);
  // The wire entry now holds the tx's canonical text: the signed bytes are exactly the same.
  assert.ok(((env.payload.block as { txs: unknown[] }).txs[0]) instanceof RawJson);
  assert.deepEqual(envelopeSignBytes(env), signed);
});

test('a proposal handed over in process (txs still as canonical text) decodes to the same block', () => {
  const txs = [0, 1, 2].map((i) => transfer({ from: i, to: acct(5).address, amount: 5n, nonce: 0 }));
  const header: BlockHeader = {
    version: 1, chainId: CHAIN, height: 1, round: 0, timestamp: 1, prevHash: Z, proposer: val(0).address,
    txRoot: Z, txCount: txs.length, stateRoot: Z, validatorSetHash: Z, lastCommitHash: Z, evidenceHash: Z,
  };
  const payload = encodeProposalPayload({ header, txs, lastCommit: null, evidence: [] }, blockHash(header), -1);
  const env: Envelope = { type: 'proposal', chainId: CHAIN, height: 1, round: 0, validatorId: val(0).address, payload, signature: '0'.repeat(128) };
  const out = decodeProposalPayload(env);
  assert.deepEqual(out.block.txs.map((d) => d.id), txs.map((d) => d.id));
  assert.deepEqual(out.block.txs.map((d) => d.json), txs.map((d) => d.json));
  // JSON.stringify of a canonical-text entry still gives the tx's JSON value.
  assert.deepEqual(JSON.parse(JSON.stringify(payload)), JSON.parse(canonicalJson(payload)));
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

test('a finalize payload reuses held txs the same way, and its signed bytes do not change', () => {
  const txs = [0, 1].map((i) => transfer({ from: i, to: acct(5).address, amount: 2n, nonce: 0 }));
  const header: BlockHeader = {
    version: 1, chainId: CHAIN, height: 1, round: 0, timestamp: 1, prevHash: Z, proposer: val(0).address,
    txRoot: Z, txCount: txs.length, stateRoot: Z, validatorSetHash: Z, lastCommitHash: Z, evidenceHash: Z,
  };
  const hash = blockHash(header);
  const fb = { block: { header, txs, lastCommit: null, evidence: [] }, hash, results: txs.map(() => ({ success: true })), commit: { height: 1, round: 0, blockHash: hash, signatures: [] } };
  const payload = JSON.parse(canonicalJson(encodeFinalizePayload(fb))) as Record<string, unknown>;
  const env: Envelope = { type: 'finalize', chainId: CHAIN, height: 1, round: 0, validatorId: val(0).address, payload, signature: '0'.repeat(128) };
  const signed = envelopeSignBytes(env);
  const known = new Map([[txs[0]!.tx.signature, txs[0]!]]);
  const out = decodeFinalizePayload(env, (sig) => known.get(sig));
  assert.equal(out.block.txs[0], txs[0]);
  assert.notEqual(out.block.txs[1], txs[1]);
  assert.equal(out.block.txs[1]!.id, txs[1]!.id);
  assert.deepEqual(envelopeSignBytes(env), signed);
});
