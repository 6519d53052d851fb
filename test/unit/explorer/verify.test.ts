/**
 * The explorer's in-browser checks (explorer/verify.js), run under Node's
 * WebCrypto: they must agree byte for byte with the node's codec, accept the
 * blocks of a real chain built by the state machine and certified with the dev
 * validator keys, and refuse what a dishonest node could serve.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as V from '../../../explorer/verify.js';
import { buildSignedTx, validatorSetHashOf } from '../../../src/client/index.js';
import { blockHash, evidenceListHash, voteSignBytes } from '../../../src/codec/block.js';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { txRoot } from '../../../src/codec/merkle.js';
import { decodeTx } from '../../../src/codec/tx.js';
import { devAccount, devValidator } from '../../../src/crypto/keys.js';
import { epochSet } from '../../../src/node/stakingView.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';
import { TestChain } from '../../helpers/chain.js';

const CHAIN = 'fastpos-devnet';
const genesis: Genesis = {
  chainId: CHAIN,
  genesisTime: 1_767_225_600_000,
  treasury: 'ab'.repeat(20),
  params: { ...DEFAULT_PARAMS, epochLengthBlocks: 100, governance: [devAccount(0).address] },
  accounts: [0, 1, 2, 3].map((i) => ({ address: devAccount(i).address, balance: 1_000_000n })),
  validators: [0, 1, 2].map((i) => ({ pubKey: devValidator(i).publicKey, stake: 100n + BigInt(i), workWeight: NEUTRAL_WORK_WEIGHT })),
};

// Height 1: no tx; height 2: three transfers; height 3: a settlement whose reference looks like markup.
const chain = new TestChain(genesis);
const pays = [1, 2, 3].map((i) => buildSignedTx(devAccount(i).privateKey, { chainId: CHAIN, kind: 'transfer', payload: { to: devAccount(0).address, amount: BigInt(10 * i) }, nonce: 0, fee: 1n }));
const settle = buildSignedTx(devAccount(0).privateKey, {
  chainId: CHAIN, kind: 'product_settle', nonce: 0, fee: 1n,
  payload: { validatorId: devValidator(0).address, amount: 50n, reference: '<script>alert(1)</script>' },
});
for (const txs of [[], pays.map((p) => decodeTx(p.tx)), [decodeTx(settle.tx)]]) {
  const b = chain.build(txs);
  chain.append(b, chain.certify(b.hash));
}
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const wire = (h: number): any => clone(TestChain.wire(chain.blocks[h - 1]!));
const set0 = (): any => clone(epochSet(chain.state, 0));

describe('explorer/verify.js', () => {
  it('default: the same bytes as the node: canonical JSON, block hash, tx id, tx root, evidence hash, set hash, vote bytes', async () => {
    for (let h = 1; h <= 3; h++) {
      const fb = chain.blocks[h - 1]!;
      assert.equal(await V.blockHash(wire(h).header), blockHash(fb.block.header));
      const ids = await Promise.all(wire(h).txs.map((t: Record<string, unknown>) => V.txId(t)));
      assert.deepEqual(ids, fb.block.txs.map((t) => t.id));
      assert.equal(await V.txRoot(ids), txRoot(ids));
      assert.equal(await V.evidenceListHash(wire(h).evidence), evidenceListHash(fb.block.evidence));
    }
    assert.equal(await V.validatorSetHash(set0().validators), validatorSetHashOf(chain.setAt(1).validators));
    const vote = { type: 'precommit' as const, chainId: CHAIN, height: 7, round: 2, validatorId: devValidator(1).address, blockHash: 'cd'.repeat(32) };
    assert.deepEqual(Buffer.from(V.voteSignBytes(vote)), voteSignBytes(vote));
    // The tx id test vector of docs/api.md ("Signing and id").
    const vector = buildSignedTx(devAccount(0).privateKey, { chainId: CHAIN, kind: 'transfer', payload: { to: devAccount(1).address, amount: 1000n }, nonce: 0, fee: 10n });
    assert.equal(await V.txId(vector.tx), 'f5bb864437bb4355559b85830e1da3bfd08958dc0141f447e4831fe8086853ad');
    // Merkle roots of every size up to 9 leaves (odd carries included).
    for (let n = 0; n <= 9; n++) {
      const leaves = Array.from({ length: n }, (_, i) => (i + 1).toString(16).padStart(64, '0'));
      assert.equal(await V.txRoot(leaves), txRoot(leaves), `${n} leaves`);
    }
  });

  it('property: canonicalJson equals the codec on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => V.canonicalJson(v) === canonicalJson(v)), { numRuns: 300 });
  });

  it('behavior: accepts every block of a real chain, with each signer, its power and the quorum', async () => {
    for (let h = 1; h <= 3; h++) {
      const r = await V.verifyBlock({ chainId: CHAIN, block: wire(h), set: set0() });
      assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
      assert.equal(r.signers.length, 3);
      assert.ok(r.signers.every((s) => s.ok));
      assert.deepEqual(r.signers.map((s) => s.power), r.signers.map((s) => chain.setAt(1).validators.find((v) => v.id === s.validatorId)!.votingPower));
      assert.deepEqual(r.signers.map((s) => s.power).sort(), [100n, 101n, 102n]);
      assert.equal(r.signedPower, 303n);
      assert.equal(r.totalPower, 303n);
    }
    const r = await V.verifyBlock({ chainId: CHAIN, block: wire(2), set: set0(), txId: pays[1]!.id });
    assert.equal(r.ok, true);
    assert.equal(r.txIndex, r.txIds.indexOf(pays[1]!.id));
    assert.equal(V.summarize(r), 'certified: 3 of 3 validators, 100% of power ≥ 2/3 — signatures verified in your browser');
  });

  it('behavior: two of three validators (203 of 303 power, just over 2/3) still certify', async () => {
    const weakest = chain.setAt(1).validators.find((v) => v.votingPower === 100n)!.id;
    const b = wire(1);
    // Drop the signer with the least power: 101 + 102 of 303 is more than 2/3.
    b.commit.signatures = b.commit.signatures.filter((s: { validatorId: string }) => s.validatorId !== weakest);
    const r = await V.verifyBlock({ chainId: CHAIN, block: b, set: set0() });
    assert.equal(r.ok, true);
    assert.match(V.summarize(r), /^certified: 2 of 3 validators, 67% of power/);
    assert.equal(V.percent(2n, 3n), '66.7%');
    assert.equal(V.percent(1n, 3n), '33.3%');
    assert.equal(V.percent(0n, 0n), '0%');
  });

  it('error: a tampered signature fails that signer and the block', async () => {
    const b = wire(2);
    const sig: string = b.commit.signatures[1].signature;
    b.commit.signatures[1].signature = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
    const r = await V.verifyBlock({ chainId: CHAIN, block: b, set: set0() });
    assert.equal(r.ok, false);
    assert.deepEqual(r.signers.map((s) => s.ok), [true, false, true]);
    assert.equal(r.signers[1]!.reason, 'bad signature');
    assert.match(V.summarize(r), /^NOT verified: signatures/);
  });

  it('error: too little power (one signer of three) fails the quorum', async () => {
    const b = wire(2);
    b.commit.signatures = b.commit.signatures.slice(0, 1);
    const r = await V.verifyBlock({ chainId: CHAIN, block: b, set: set0() });
    assert.equal(r.ok, false);
    assert.equal(r.checks.find((c) => c.name === 'quorum')?.ok, false);
  });

  it('error: a set with other powers than the header names fails (wrong power)', async () => {
    const s = set0();
    s.validators[0].votingPower = '1000';
    const r = await V.verifyBlock({ chainId: CHAIN, block: wire(2), set: s });
    assert.equal(r.ok, false);
    assert.equal(r.checks.find((c) => c.name === 'validator set')?.ok, false);
  });

  it('error: a tampered header (hash kept) fails the hash and the certificate', async () => {
    const b = wire(2);
    b.header.timestamp += 1;
    const r = await V.verifyBlock({ chainId: CHAIN, block: b, set: set0() });
    assert.equal(r.ok, false);
    assert.equal(r.checks.find((c) => c.name === 'header hash')?.ok, false);
    assert.equal(r.checks.find((c) => c.name === 'certificate names this block')?.ok, false);
    assert.ok(r.signers.every((s) => !s.ok), 'the precommits signed the real hash, not the recomputed one');
  });

  it('error: a tx changed in the body, a tx not in the block, a signer outside the set, a signer twice', async () => {
    const b = wire(2);
    b.txs[0].payload.amount = '999';
    let r = await V.verifyBlock({ chainId: CHAIN, block: b, set: set0() });
    assert.equal(r.checks.find((c) => c.name === 'tx root')?.ok, false);
    r = await V.verifyBlock({ chainId: CHAIN, block: wire(1), set: set0(), txId: pays[0]!.id });
    assert.equal(r.checks.find((c) => c.name === 'tx in block')?.ok, false);
    const c = wire(1);
    c.commit.signatures.push({ validatorId: devValidator(5).address, signature: c.commit.signatures[0].signature });
    r = await V.verifyBlock({ chainId: CHAIN, block: c, set: set0() });
    assert.equal(r.signers[3]!.reason, 'not in the validator set');
    const d = wire(1);
    d.commit.signatures.push(d.commit.signatures[0]);
    r = await V.verifyBlock({ chainId: CHAIN, block: d, set: set0() });
    assert.equal(r.signers[3]!.reason, 'signs twice');
    assert.equal(r.ok, false);
  });

  it('error: hostile shapes give a failed report, never a throw', async () => {
    for (const block of [null, 'x', { header: {} }, { header: { height: 1 }, commit: { signatures: 'no' }, txs: [] }]) {
      const r = await V.verifyBlock({ block, set: set0() });
      assert.equal(r.ok, false);
    }
    for (const set of [null, { validators: [] }, { validators: [{ id: 'zz' }] }]) {
      const r = await V.verifyBlock({ chainId: CHAIN, block: wire(1), set });
      assert.equal(r.ok, false);
      assert.equal(r.checks.find((c) => c.name === 'validator set')?.ok, false);
    }
    assert.equal(await V.verifyEd25519('00'.repeat(32), new Uint8Array(1), 'zz'), false);
  });
});
