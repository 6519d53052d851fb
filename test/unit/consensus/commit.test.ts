import { newValidator } from '../../../src/state/staking.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signPrecommit, sortSignatures, verifyCommit } from '../../../src/consensus/commit.js';
import { selectProposer } from '../../../src/consensus/proposer.js';
import { buildValidatorSet, hasQuorum } from '../../../src/consensus/validatorSet.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import type { Commit, Validator } from '../../../src/types/index.js';
import { CHAIN, val } from '../../helpers/fixtures.js';
import { errorCodeOf } from '../../helpers/util.js';

function validator(i: number, stake: bigint, workWeight = 10_000): Validator {
  const k = val(i);
  return newValidator({ pubKey: k.publicKey, stake, workWeight });
}

const HASH = 'ab'.repeat(32);
// Powers 40, 30, 20, 10 of 100: quorum needs >= 66.67.
const set = buildValidatorSet([validator(0, 40n), validator(1, 30n), validator(2, 20n), validator(3, 10n)]);

function commitBy(indices: number[], opts: { height?: number; round?: number; hash?: string } = {}): Commit {
  const height = opts.height ?? 5;
  const round = opts.round ?? 0;
  const blockHash = opts.hash ?? HASH;
  const sigs = indices.map((i) => signPrecommit({ chainId: CHAIN, height, round, blockHash, validatorId: val(i).address, signer: createSigner(val(i).privateKey) }));
  return { height, round, blockHash, signatures: sortSignatures(sigs) };
}

const code = errorCodeOf;

const check = (commit: Commit, s = set) => verifyCommit({ chainId: CHAIN, set: s, commit, height: 5, blockHash: HASH });

describe('commit certificate', () => {
  it('default: 2/3 of power signed is final', () => {
    assert.equal(check(commitBy([0, 1])), 70n);
    assert.equal(check(commitBy([0, 1, 2, 3])), 100n);
  });
  it('boundary: exactly 2/3 passes the integer test, just below fails', () => {
    assert.ok(hasQuorum(2n, 3n));
    assert.ok(!hasQuorum(1n, 3n));
    assert.ok(hasQuorum(667n, 1000n));
    assert.ok(!hasQuorum(666n, 1000n));
  });
  it('error: too little signed power', () => assert.equal(code(() => check(commitBy([0, 2]))), 'INVALID_COMMIT'));
  it('error: a bad signature', () => {
    const c = commitBy([0, 1, 2]);
    const sigs = c.signatures.map((s, i) => (i === 0 ? { ...s, signature: s.signature.slice(0, -2) + (s.signature.endsWith('00') ? '01' : '00') } : s));
    assert.equal(code(() => check({ ...c, signatures: sigs })), 'INVALID_COMMIT');
  });
  it('error: a signer outside the validator set', () => assert.equal(code(() => check(commitBy([0, 1, 4]))), 'INVALID_COMMIT'));
  it('error: a wrong validator set (certificate signed by another set)', () => {
    const other = buildValidatorSet([validator(5, 50n), validator(6, 50n)]);
    assert.equal(code(() => check(commitBy([0, 1, 2, 3]), other)), 'INVALID_COMMIT');
  });
  it('error: the same signer twice does not count twice', () => {
    const c = commitBy([0]);
    assert.equal(code(() => check({ ...c, signatures: [...c.signatures, ...c.signatures] })), 'INVALID_COMMIT');
  });
  it('error: a certificate for another height, round or block', () => {
    assert.equal(code(() => check(commitBy([0, 1, 2], { height: 6 }))), 'INVALID_COMMIT');
    assert.equal(code(() => check(commitBy([0, 1, 2], { hash: 'cd'.repeat(32) }))), 'INVALID_COMMIT');
    const c = commitBy([0, 1, 2], { round: 1 });
    assert.equal(code(() => check({ ...c, round: 0 })), 'INVALID_COMMIT');
  });
  it('error: a signature from another chain', () => {
    const c = commitBy([0, 1, 2]);
    assert.equal(code(() => verifyCommit({ chainId: 'other-chain', set, commit: c, height: 5, blockHash: HASH })), 'INVALID_COMMIT');
  });
});

describe('proposer selection', () => {
  it('behavior: deterministic for (height, round)', () => {
    for (let h = 1; h < 50; h++) assert.equal(selectProposer(set, h, 0).id, selectProposer(buildValidatorSet([validator(3, 10n), validator(2, 20n), validator(1, 30n), validator(0, 40n)]), h, 0).id);
  });
  it('behavior: successive rounds of one height visit every validator once before repeating', () => {
    for (let h = 1; h < 20; h++) {
      const ids = new Set([0, 1, 2, 3].map((r) => selectProposer(set, h, r).id));
      assert.equal(ids.size, 4);
      assert.equal(selectProposer(set, h, 4).id, selectProposer(set, h, 0).id);
    }
  });
  it('behavior: round-0 frequency follows stake × workWeight', () => {
    const counts = new Map<string, number>();
    const N = 4000;
    for (let h = 1; h <= N; h++) {
      const id = selectProposer(set, h, 0).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const share = (i: number) => (counts.get(val(i).address) ?? 0) / N;
    assert.ok(Math.abs(share(0) - 0.4) < 0.04, `share0=${share(0)}`);
    assert.ok(Math.abs(share(3) - 0.1) < 0.03, `share3=${share(3)}`);
    // workWeight 0 removes a validator from round-0 selection but not from quorums.
    const s2 = buildValidatorSet([validator(0, 40n, 0), validator(1, 30n)]);
    for (let h = 1; h < 100; h++) assert.equal(selectProposer(s2, h, 0).id, val(1).address);
    assert.equal(s2.totalPower, 70n);
  });
});
