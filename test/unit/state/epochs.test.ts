import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildValidatorSet, epochOf, validatorSetForHeight } from '../../../src/consensus/validatorSet.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { selectEpochValidators } from '../../../src/state/epochs.js';
import { executeBlockTxs } from '../../../src/state/execute.js';
import type { Validator } from '../../../src/types/index.js';
import { Chain, GOV, OPS, VALS, spec, testGenesis } from './stakingHarness.js';

const A1 = devAccount(1);
const v = (i: number) => VALS[i]!.address;
const ids = (c: Chain, h: number) => validatorSetForHeight(c.ws, h, c.params).validators.map((e) => e.id);
const sorted = (xs: string[]) => [...xs].sort();

describe('epochs', () => {
  it('default: epochOf counts heights 1..E as epoch 0', () => {
    const p = { epochLengthBlocks: 5 };
    assert.deepEqual([0, 1, 5, 6, 10, 11].map((h) => epochOf(h, p)), [0, 0, 0, 1, 1, 2]);
    assert.deepEqual([1, 2, 3].map((h) => epochOf(h, { epochLengthBlocks: 1 })), [0, 1, 2]);
  });

  it('default: genesis writes epoch 0: the top maxValidators by power, sorted by id, hashed like buildValidatorSet', () => {
    const c = new Chain();
    const e0 = c.epoch(0)!;
    assert.equal(e0.startHeight, 1);
    assert.deepEqual(e0.validators.map((e) => e.id), sorted([v(0), v(1), v(2)]), 'validator 3 (least power) is cut');
    const set = validatorSetForHeight(c.ws, 1, c.params);
    const expected = buildValidatorSet([v(0), v(1), v(2)].map((id) => c.validator(id)));
    assert.deepEqual(set, expected);
    assert.equal(set.totalPower, 9000n);
  });

  it('behavior: stake changes take effect at the next boundary only; the next set is written at the end of height n*E', () => {
    const c = new Chain();
    c.block([spec(OPS[3]!, 'validator_bond', { pubKey: VALS[3]!.publicKey, amount: 1500n })]); // v3: 2500 > v2: 2000
    c.advanceTo(4);
    assert.deepEqual(ids(c, 5), sorted([v(0), v(1), v(2)]));
    assert.throws(() => validatorSetForHeight(c.ws, 6, c.params), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.NOT_FOUND);
    c.block(); // 5: boundary
    assert.deepEqual(ids(c, 5), sorted([v(0), v(1), v(2)]), 'heights of epoch 0 keep their set');
    assert.deepEqual(ids(c, 6), sorted([v(0), v(1), v(3)]));
    assert.deepEqual(c.epoch(1)!.startHeight, 6);
    assert.equal(c.epoch(2), undefined);
    c.advanceTo(10);
    assert.deepEqual(c.epoch(2)!.validators, c.epoch(1)!.validators);
  });

  it('behavior: ties in voting power go to the lower id', () => {
    // v2 and v3 both 2000; one seat left after v0 and v1.
    const c = new Chain(testGenesis({ stakes: [4000n, 3000n, 2000n, 2000n] }));
    const lower = v(2) < v(3) ? v(2) : v(3);
    assert.deepEqual(ids(c, 1), sorted([v(0), v(1), lower]));
    const vals = [0, 1, 2, 3].map((i) => c.validator(v(i)));
    assert.deepEqual(selectEpochValidators([...vals].reverse(), 3), selectEpochValidators(vals, 3), 'input order does not matter');
  });

  it('behavior: jailed and unbonding validators leave at the boundary; work weight changes apply there too', () => {
    const c = new Chain(testGenesis({ params: { maxValidators: 10 } }));
    c.block([
      spec(GOV, 'validator_jail', { validatorId: v(0), jailBlocks: 100 }),
      spec(OPS[1]!, 'validator_unbond', { validatorId: v(1), amount: 2950n }),
      spec(GOV, 'validator_set_work_weight', { validatorId: v(2), workWeight: 20_000 }),
    ]);
    assert.deepEqual(ids(c, 2), sorted([v(0), v(1), v(2), v(3)]), 'unchanged within the epoch');
    c.advanceTo(5);
    assert.deepEqual(ids(c, 6), sorted([v(2), v(3)]));
    const e2 = validatorSetForHeight(c.ws, 6, c.params).validators.find((e) => e.id === v(2))!;
    assert.equal(e2.proposerWeight, 4000n);
  });

  it('behavior: a new bonded validator and delegations join at the next boundary', () => {
    const c = new Chain(testGenesis({ params: { maxValidators: 10 } }));
    c.block([spec(A1, 'validator_bond', { pubKey: VALS[4]!.publicKey, amount: 100n })]);
    c.block([spec(devAccount(2), 'delegation_delegate', { validatorId: v(4), amount: 900n })]);
    c.advanceTo(5);
    const e4 = validatorSetForHeight(c.ws, 6, c.params).validators.find((e) => e.id === v(4));
    assert.equal(e4?.votingPower, 1000n);
  });

  it('behavior: when no validator is eligible the current set is kept (an empty set could never sign again)', () => {
    const c = new Chain(testGenesis({ stakes: [4000n] }));
    c.block([spec(GOV, 'validator_jail', { validatorId: v(0), jailBlocks: 3 })]);
    c.advanceTo(5);
    assert.deepEqual(c.epoch(1)!.validators, c.epoch(0)!.validators);
  });
});

describe('downtime', () => {
  it('default: a member missing from the certificate gets the previous height recorded', () => {
    const c = new Chain();
    c.block(); // 1
    c.block([], { absent: [v(1)] }); // 2: certificate of 1 lacks v1
    assert.deepEqual(c.validator(v(1)).missed, [1]);
    assert.deepEqual(c.validator(v(0)).missed, []);
  });

  it('behavior: more than downtimeMaxMissed misses in the window slash 1% for the last missed height and jail', () => {
    const c = new Chain();
    c.block(); // 1
    for (let h = 2; h <= 4; h++) c.block([], { absent: [v(1)] }); // misses 1, 2, 3
    assert.deepEqual(c.validator(v(1)).missed, [1, 2, 3]);
    assert.equal(c.validator(v(1)).status, 'active', 'exactly downtimeMaxMissed (3) is tolerated');
    c.block([], { absent: [v(1)] }); // 5: miss 4 -> 4 > 3
    const val = c.validator(v(1));
    assert.equal(val.status, 'jailed');
    assert.equal(val.jailedUntil, 5 + c.params.jailDowntimeBlocks);
    assert.deepEqual(val.missed, []);
    assert.deepEqual(val.slashes, [{ height: 5, infractionHeight: 4, reason: 'downtime', fractionBps: 100, burned: 30n }]);
    assert.equal(val.stake, 2970n);
  });

  it('behavior: misses older than the window are dropped', () => {
    const c = new Chain();
    c.block(); // 1
    // Window 6: misses at 1, 2, 3 then 8 -> the window of 8 is 3..8: [3, 8] = 2 misses.
    for (let h = 2; h <= 9; h++) c.block([], h <= 4 || h === 9 ? { absent: [v(1)] } : {});
    assert.deepEqual(c.validator(v(1)).missed, [3, 8]);
    assert.equal(c.validator(v(1)).status, 'active');
  });

  it('behavior: only members of that height\'s set count, and a jailed member is not counted', () => {
    const c = new Chain();
    c.block([spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 100 })]); // 1
    const lc = c.lastCommit()!;
    const r = executeBlockTxs(c.ws, { txs: [], evidence: [], lastCommit: { ...lc, signatures: [] } }, c.ctx());
    const changed = [...r.changes.keys()].filter((k) => k.startsWith('val/')).sort();
    assert.deepEqual(changed, sorted([`val/${v(0)}`, `val/${v(1)}`]), 'v3 is outside the set, v2 is jailed');
  });

  it('error: a certificate for another height makes the block invalid', () => {
    const c = new Chain();
    c.advanceTo(2);
    const lc = c.lastCommit()!;
    assert.throws(
      () => executeBlockTxs(c.ws, { txs: [], evidence: [], lastCommit: { ...lc, height: 1 } }, c.ctx()),
      (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INVALID_BLOCK,
    );
  });

  it('behavior: a validator with no state entry never breaks the set builder', () => {
    const vals: Validator[] = [];
    assert.deepEqual(selectEpochValidators(vals, 3), []);
  });
});
