import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { doubleSignKey, evidenceUsedKey } from '../../../src/codec/state.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { checkEvidence, decodeEvidence, encodeEvidence, evidenceId, selectValidEvidence } from '../../../src/state/evidence.js';
import { executeBlockTxs } from '../../../src/state/execute.js';
import type { Evidence } from '../../../src/types/index.js';
import { CHAIN, Chain, GOV, OPS, VALS, doubleVote, signedMessage, spec } from './stakingHarness.js';

const A1 = devAccount(1);
const v = (i: number) => VALS[i]!.address;
const ok = { success: true };
const fail = (error: string) => ({ success: false, error });

function blockError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FastposError, String(e));
    return `${e.code}: ${e.message}`;
  }
  return 'OK';
}

/** A chain at height `h` (empty blocks, everyone signing). */
function chainAt(h: number): Chain {
  const c = new Chain();
  c.advanceTo(h);
  return c;
}

describe('double-sign evidence', () => {
  it('default: evidence in a tx from anyone slashes 5% for the evidence height, jails, and records its use', () => {
    const c = chainAt(3);
    const e = doubleVote(VALS[0]!, 2);
    assert.deepEqual(c.block([spec(A1, 'validator_slash', { evidence: e })]), [ok]); // height 4
    const val = c.validator(v(0));
    assert.equal(val.stake, 3800n);
    assert.equal(val.status, 'jailed');
    assert.equal(val.jailedUntil, 4 + c.params.jailDoubleSignBlocks);
    assert.deepEqual(val.slashes, [{ height: 4, infractionHeight: 2, reason: 'double_sign', fractionBps: 500, burned: 200n }]);
    assert.deepEqual(c.ws.get(evidenceUsedKey(v(0), 2)), { evidenceId: evidenceId(e), usedAt: 4 });
  });

  it('default: evidence carried by a block is applied in beginBlock, before the txs', () => {
    const c = chainAt(3);
    const r = c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 10n })], { evidence: [doubleVote(VALS[1]!, 3)] });
    assert.deepEqual(r, [fail(ErrorCode.VALIDATOR_JAILED)]);
    assert.equal(c.validator(v(1)).status, 'jailed');
  });

  it('behavior: precommits and proposals, nil against a block, are evidence too', () => {
    const c = chainAt(3);
    const pre: Evidence = {
      a: signedMessage(VALS[0]!, { type: 'precommit', height: 1, round: 2, payload: { blockHash: null } }),
      b: signedMessage(VALS[0]!, { type: 'precommit', height: 1, round: 2, payload: { blockHash: 'aa'.repeat(32) } }),
    };
    const prop: Evidence = {
      a: signedMessage(VALS[1]!, { type: 'proposal', height: 2, payload: { blockHash: 'aa'.repeat(32), validRound: -1, block: { txs: [] } } }),
      b: signedMessage(VALS[1]!, { type: 'proposal', height: 2, payload: { blockHash: 'bb'.repeat(32), validRound: -1, block: { txs: [] } } }),
    };
    assert.equal(checkEvidence(c.ws, pre, c.ctx()), null);
    assert.equal(checkEvidence(c.ws, prop, c.ctx()), null);
  });

  it('error: the same double sign twice is EVIDENCE_ALREADY_USED, also with the messages swapped or other payloads', () => {
    const c = chainAt(3);
    const e = doubleVote(VALS[0]!, 2);
    const swapped = { a: e.b, b: e.a };
    const other: Evidence = { a: e.a, b: signedMessage(VALS[0]!, { height: 2, payload: { blockHash: null } }) };
    assert.equal(evidenceId(e), evidenceId(swapped));
    assert.deepEqual(
      c.block([spec(A1, 'validator_slash', { evidence: e }), spec(A1, 'validator_slash', { evidence: swapped }), spec(A1, 'validator_slash', { evidence: other })]),
      [ok, fail(ErrorCode.EVIDENCE_ALREADY_USED), fail(ErrorCode.EVIDENCE_ALREADY_USED)],
    );
    assert.equal(c.validator(v(0)).slashes.length, 1);
    assert.match(blockError(() => c.block([], { evidence: [e] })), /INVALID_BLOCK: evidence 0 .*EVIDENCE_ALREADY_USED/);
  });

  it('error: one double sign twice in a block makes the block invalid; a proposer selects each once', () => {
    const c = chainAt(3);
    const e = doubleVote(VALS[0]!, 2);
    const input = { txs: [], lastCommit: c.lastCommit(), evidence: [e, { a: e.b, b: e.a }] };
    assert.match(blockError(() => executeBlockTxs(c.ws, input, c.ctx())), /EVIDENCE_ALREADY_USED/);
    const picked = selectValidEvidence(c.ws, [e, { a: e.b, b: e.a }, doubleVote(VALS[0]!, 9), doubleVote(VALS[1]!, 2)], c.ctx());
    assert.deepEqual(picked.map(evidenceId), [evidenceId(e), evidenceId(doubleVote(VALS[1]!, 2))]);
    assert.doesNotThrow(() => executeBlockTxs(c.ws, { ...input, evidence: picked }, c.ctx()));
  });

  it('error: evidence older than evidenceMaxAgeBlocks is EVIDENCE_TOO_OLD (the limit itself is fine)', () => {
    const c = chainAt(9);
    // Next height 10: 10 - 2 = 8 = evidenceMaxAgeBlocks is still valid; 10 - 1 = 9 is too old.
    assert.equal(checkEvidence(c.ws, doubleVote(VALS[0]!, 2), c.ctx()), null);
    assert.equal(checkEvidence(c.ws, doubleVote(VALS[0]!, 1), c.ctx())?.code, ErrorCode.EVIDENCE_TOO_OLD);
    assert.deepEqual(c.block([spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 1) })]), [fail(ErrorCode.EVIDENCE_TOO_OLD)]);
    assert.deepEqual(c.validator(v(0)).slashes, []);
    assert.match(blockError(() => c.block([], { evidence: [doubleVote(VALS[0]!, 1)] })), /EVIDENCE_TOO_OLD/);
  });

  it('error: evidence of the current or a future height is INVALID_EVIDENCE', () => {
    const c = chainAt(3);
    assert.equal(checkEvidence(c.ws, doubleVote(VALS[0]!, 4), c.ctx())?.code, ErrorCode.INVALID_EVIDENCE);
    assert.equal(checkEvidence(c.ws, doubleVote(VALS[0]!, 50), c.ctx())?.code, ErrorCode.INVALID_EVIDENCE);
  });

  it('error: a validator outside the set of that height, or a key that is not the set member\'s, is INVALID_EVIDENCE', () => {
    const c = chainAt(3);
    // Validator 3 is bonded but cut from epoch 0 by maxValidators = 3.
    assert.equal(c.validator(v(3)).status, 'active');
    const outside = checkEvidence(c.ws, doubleVote(VALS[3]!, 2), c.ctx());
    assert.equal(outside?.code, ErrorCode.INVALID_EVIDENCE);
    assert.match(outside!.message, /not in the validator set of height 2/);
    // Messages that name validator 0 but are signed with validator 4's key.
    const forged: Evidence = {
      a: signedMessage(VALS[4]!, { height: 2, validatorId: v(0), payload: { blockHash: 'aa'.repeat(32) } }),
      b: signedMessage(VALS[4]!, { height: 2, validatorId: v(0), payload: { blockHash: 'bb'.repeat(32) } }),
    };
    assert.match(checkEvidence(c.ws, forged, c.ctx())!.message, /not signed by/);
    // One good signature is not enough.
    const half: Evidence = { a: doubleVote(VALS[0]!, 2).a, b: forged.b };
    assert.equal(checkEvidence(c.ws, half, c.ctx())?.code, ErrorCode.INVALID_EVIDENCE);
    assert.deepEqual(c.block([spec(A1, 'validator_slash', { evidence: forged })]), [fail(ErrorCode.INVALID_EVIDENCE)]);
    assert.deepEqual(c.validator(v(0)).slashes, []);
  });

  it('error: identical payloads, or different type, round, height, chain or validator, are not a double sign', () => {
    const c = chainAt(3);
    const k = VALS[0]!;
    const m = (o: Parameters<typeof signedMessage>[1]) => signedMessage(k, o);
    const base = m({ height: 2, payload: { blockHash: 'aa'.repeat(32) } });
    const cases: [string, Evidence][] = [
      ['identical', { a: base, b: m({ height: 2, payload: { blockHash: 'aa'.repeat(32) } }) }],
      ['type', { a: base, b: m({ type: 'precommit', height: 2, payload: { blockHash: 'bb'.repeat(32) } }) }],
      ['round', { a: base, b: m({ height: 2, round: 1, payload: { blockHash: 'bb'.repeat(32) } }) }],
      ['height', { a: base, b: m({ height: 1, payload: { blockHash: 'bb'.repeat(32) } }) }],
      ['validator', { a: base, b: signedMessage(VALS[1]!, { height: 2, payload: { blockHash: 'bb'.repeat(32) } }) }],
    ];
    for (const [name, e] of cases) {
      assert.equal(checkEvidence(c.ws, e, c.ctx())?.code, ErrorCode.INVALID_EVIDENCE, name);
      assert.throws(() => decodeEvidence(encodeEvidence(e)), (err: unknown) => err instanceof FastposError && err.code === ErrorCode.INVALID_EVIDENCE, name);
    }
    const otherChain: Evidence = { a: m({ height: 2, chainId: 'other', payload: { blockHash: 'aa'.repeat(32) } }), b: m({ height: 2, chainId: 'other', payload: { blockHash: 'bb'.repeat(32) } }) };
    assert.match(checkEvidence(c.ws, otherChain, c.ctx())!.message, /chain other/);
  });

  it('behavior: a double signer is punished once for its spell: evidence of its other heights is EVIDENCE_ALREADY_USED until it unjails', () => {
    const c = chainAt(5);
    const r = c.block([
      spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 3) }),
      spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 4) }),
      spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 2) }),
    ]); // height 6
    assert.deepEqual(r, [ok, fail(ErrorCode.EVIDENCE_ALREADY_USED), fail(ErrorCode.EVIDENCE_ALREADY_USED)]);
    assert.deepEqual(c.validator(v(0)).slashes.map((x) => x.infractionHeight), [3]);
    assert.deepEqual(c.ws.get(doubleSignKey(v(0))), { punishedAt: 6, infractionHeight: 3, unjailedAt: null });
    // Later heights of the same spell (it still signs until the epoch ends) are covered too, in a tx or in a block.
    const later = doubleVote(VALS[0]!, 6);
    assert.match(checkEvidence(c.ws, later, c.ctx())!.message, /covered by its punishment at height 6 \(not unjailed since\)/);
    assert.match(blockError(() => c.block([], { evidence: [later] })), /INVALID_BLOCK: evidence 0 .*EVIDENCE_ALREADY_USED/);
    // A downtime miss is not counted while jailed.
    c.block([], { absent: [v(0)] });
    assert.deepEqual(c.validator(v(0)).missed, []);
  });

  it('behavior: after unjailing, a new double sign is punished again; one from before the unjail stays covered', () => {
    const c = chainAt(3);
    c.block([spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 2) })]); // 4
    const unjailAt = 4 + c.params.jailDoubleSignBlocks;
    c.advanceTo(unjailAt - 1);
    assert.deepEqual(c.block([spec(OPS[0]!, 'validator_unjail', { validatorId: v(0) })]), [ok]);
    assert.deepEqual(c.ws.get(doubleSignKey(v(0))), { punishedAt: 4, infractionHeight: 2, unjailedAt: unjailAt });
    // Back in the set from the next epoch on; a double sign there is a new spell.
    const E = c.params.epochLengthBlocks;
    const back = Math.ceil(unjailAt / E) * E + 1;
    c.advanceTo(back + 1);
    const before = doubleVote(VALS[0]!, unjailAt - 1);
    const after = doubleVote(VALS[0]!, back);
    assert.match(checkEvidence(c.ws, before, c.ctx())!.message, new RegExp(`it unjailed at height ${unjailAt}`));
    assert.deepEqual(c.block([spec(A1, 'validator_slash', { evidence: after })]), [ok]);
    assert.deepEqual(c.validator(v(0)).slashes.map((x) => [x.height, x.infractionHeight]), [[4, 2], [back + 2, back]]);
    assert.equal(c.validator(v(0)).status, 'jailed');
    assert.deepEqual(c.ws.get(doubleSignKey(v(0))), { punishedAt: back + 2, infractionHeight: back, unjailedAt: null });
  });

  it('behavior: a proposer selects at most one evidence per validator; a block carrying two is invalid', () => {
    const c = chainAt(4);
    const e2 = doubleVote(VALS[1]!, 2);
    const e3 = doubleVote(VALS[1]!, 3);
    const other = doubleVote(VALS[2]!, 3);
    assert.deepEqual(selectValidEvidence(c.ws, [e2, e3, other], c.ctx()), [e2, other]);
    assert.match(blockError(() => c.block([], { evidence: [e2, e3] })), /INVALID_BLOCK: evidence 1 .*EVIDENCE_ALREADY_USED/);
  });

  it('behavior: the operator may unjail after the double-sign jail only', () => {
    const c = new Chain();
    c.advanceTo(3);
    c.block([spec(A1, 'validator_slash', { evidence: doubleVote(VALS[2]!, 2) })]); // 4
    assert.deepEqual(c.block([spec(OPS[2]!, 'validator_unjail', { validatorId: v(2) })]), [fail(ErrorCode.JAIL_NOT_EXPIRED)]);
    c.advanceTo(4 + c.params.jailDoubleSignBlocks - 1);
    assert.deepEqual(c.block([spec(OPS[2]!, 'validator_unjail', { validatorId: v(2) })]), [ok]);
    assert.equal(c.validator(v(2)).status, 'active');
    void GOV;
  });
});

describe('evidence codec', () => {
  const e = doubleVote(VALS[0]!, 2);
  const wire = () => structuredClone(encodeEvidence(e)) as Record<string, any>;
  const code = (mutate: (w: Record<string, any>) => void): string => {
    const w = wire();
    mutate(w);
    try {
      decodeEvidence(w);
      return 'OK';
    } catch (err) {
      assert.ok(err instanceof FastposError);
      return err.code;
    }
  };

  it('default: round-trips', () => {
    assert.deepEqual(decodeEvidence(wire()), e);
    assert.equal(evidenceId(decodeEvidence(wire())), evidenceId(e));
    assert.match(evidenceId(e), /^[0-9a-f]{64}$/);
  });

  const cases: [string, (w: Record<string, any>) => void][] = [
    ['unknown top field', (w) => (w.c = 1)],
    ['missing b', (w) => delete w.b],
    ['unknown message field', (w) => (w.a.extra = 1)],
    ['finalize type', (w) => ((w.a.type = 'finalize'), (w.b.type = 'finalize'))],
    ['height 0', (w) => ((w.a.height = 0), (w.b.height = 0))],
    ['fractional round', (w) => (w.a.round = 0.5)],
    ['bad validator id', (w) => ((w.a.validatorId = 'XY'), (w.b.validatorId = 'XY'))],
    ['short signature', (w) => (w.a.signature = 'ab')],
    ['vote payload with extra field', (w) => (w.a.payload.x = 1)],
    ['vote payload with bad hash', (w) => (w.a.payload.blockHash = 'zz')],
    ['payload not an object', (w) => (w.b.payload = [])],
    ['empty chain id', (w) => ((w.a.chainId = ''), (w.b.chainId = ''))],
  ];
  for (const [name, mutate] of cases) it(`error: ${name} -> INVALID_EVIDENCE`, () => assert.equal(code(mutate), ErrorCode.INVALID_EVIDENCE));
  it('error: non-objects', () => {
    for (const x of [null, 1, 'x', [], true]) assert.throws(() => decodeEvidence(x), (err: unknown) => err instanceof FastposError && err.code === ErrorCode.INVALID_EVIDENCE);
  });
  it('behavior: the chain id of the test chain is kept', () => assert.equal(decodeEvidence(wire()).a.chainId, CHAIN));
});
