import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VALIDATOR_INDEX_KEY, accountKey, delegationKey, validatorKey } from '../../../src/codec/state.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { ErrorCode } from '../../../src/errors.js';
import type { Validator, ValidatorIndex } from '../../../src/types/index.js';
import { Chain, FEE, FEE_TO, GOV, OPS, START_BALANCE, VALS, doubleVote, signTx, spec, testGenesis } from './stakingHarness.js';

const A1 = devAccount(1);
const A2 = devAccount(2);
const v = (i: number) => VALS[i]!.address;
const ok = { success: true };
const fail = (error: string) => ({ success: false, error });

describe('validator_bond', () => {
  it('default: creates an active validator operated by the sender, self stake taken from its balance', () => {
    const c = new Chain();
    assert.deepEqual(c.block([spec(A1, 'validator_bond', { pubKey: VALS[4]!.publicKey, amount: 500n })]), [ok]);
    assert.deepEqual(c.validator(v(4)), {
      id: v(4),
      pubKey: VALS[4]!.publicKey,
      rewardAddress: A1.address,
      stake: 500n,
      delegated: 0n,
      delegatorShares: 0n,
      workWeight: 10_000,
      status: 'active',
      jailedUntil: 0,
      missed: [],
      slashes: [],
    });
    assert.equal(c.balance(A1.address), START_BALANCE - FEE - 500n);
    assert.ok((c.ws.get(VALIDATOR_INDEX_KEY) as ValidatorIndex).ids.includes(v(4)));
  });

  it('error: a first bond below minSelfBond is a failed tx STAKE_TOO_LOW: fee charged, no validator', () => {
    const c = new Chain();
    const before = (c.ws.get(VALIDATOR_INDEX_KEY) as ValidatorIndex).ids;
    assert.deepEqual(c.block([spec(A1, 'validator_bond', { pubKey: VALS[4]!.publicKey, amount: 99n })]), [fail(ErrorCode.STAKE_TOO_LOW)]);
    assert.equal(c.maybeValidator(v(4)), undefined);
    assert.equal(c.balance(A1.address), START_BALANCE - FEE);
    assert.deepEqual((c.ws.get(VALIDATOR_INDEX_KEY) as ValidatorIndex).ids, before);
  });

  it('error: a bond above the balance left after the fee is INSUFFICIENT_FUNDS', () => {
    const c = new Chain();
    assert.deepEqual(c.block([spec(A1, 'validator_bond', { pubKey: VALS[4]!.publicKey, amount: START_BALANCE })]), [fail(ErrorCode.INSUFFICIENT_FUNDS)]);
    assert.equal(c.maybeValidator(v(4)), undefined);
  });

  it('behavior: the operator tops up; anyone else is FORBIDDEN', () => {
    const c = new Chain();
    const r = c.block([
      spec(OPS[0]!, 'validator_bond', { pubKey: VALS[0]!.publicKey, amount: 100n }),
      spec(A1, 'validator_bond', { pubKey: VALS[0]!.publicKey, amount: 100n }),
    ]);
    assert.deepEqual(r, [ok, fail(ErrorCode.FORBIDDEN)]);
    assert.equal(c.validator(v(0)).stake, 4100n);
    assert.equal(c.validator(v(0)).rewardAddress, OPS[0]!.address);
    assert.equal(c.balance(A1.address), START_BALANCE - FEE);
  });

  it('behavior: a genesis validator without rewardAddress is operated by its own address (the consensus key signs)', () => {
    const g = testGenesis();
    const c = new Chain({ ...g, accounts: [...g.accounts, { address: v(5), balance: 1000n }], validators: [...g.validators, { pubKey: VALS[5]!.publicKey, stake: 500n, workWeight: 10_000 }] });
    assert.equal(c.validator(v(5)).rewardAddress, v(5));
    assert.deepEqual(c.block([spec(VALS[5]!, 'validator_bond', { pubKey: VALS[5]!.publicKey, amount: 50n })]), [ok]);
    assert.equal(c.validator(v(5)).stake, 550n);
  });
});

describe('validator_unbond and the release of unbondings', () => {
  it('default: moves self stake into an entry released at the end of height + unbondingPeriodBlocks, then deletes the bucket', () => {
    const c = new Chain();
    assert.deepEqual(c.block([spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 500n })]), [ok]);
    const done = 1 + c.params.unbondingPeriodBlocks;
    assert.equal(c.validator(v(0)).stake, 3500n);
    assert.deepEqual(c.bucket(done), { entries: [{ validatorId: v(0), delegator: OPS[0]!.address, amount: 500n, creationHeight: 1 }] });
    const after = START_BALANCE - FEE;
    c.advanceTo(done - 1);
    assert.equal(c.balance(OPS[0]!.address), after, 'not paid before the completion height');
    c.advanceTo(done);
    assert.equal(c.balance(OPS[0]!.address), after + 500n);
    assert.equal(c.bucket(done), undefined);
    assert.equal([...c.ws.allEntries()].some(([k]) => k.startsWith('unb/')), false);
  });

  it('behavior: entries of one completion height keep creation order', () => {
    const c = new Chain();
    c.block([spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 5n }), spec(OPS[1]!, 'validator_unbond', { validatorId: v(1), amount: 7n })]);
    assert.deepEqual(c.bucket(11)!.entries.map((e) => e.amount), [5n, 7n]);
  });

  it('error: more than the bonded stake is INSUFFICIENT_STAKE; another sender FORBIDDEN; an unknown validator NOT_FOUND', () => {
    const c = new Chain();
    const r = c.block([
      spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 4001n }),
      spec(A1, 'validator_unbond', { validatorId: v(0), amount: 1n }),
      spec(OPS[0]!, 'validator_unbond', { validatorId: v(6), amount: 1n }),
    ]);
    assert.deepEqual(r, [fail(ErrorCode.INSUFFICIENT_STAKE), fail(ErrorCode.FORBIDDEN), fail(ErrorCode.NOT_FOUND)]);
    assert.equal(c.validator(v(0)).stake, 4000n);
    assert.equal(c.bucket(11), undefined);
  });

  it('behavior: the whole stake may be unbonded; below minSelfBond the validator is unbonding; a top-up makes it active again', () => {
    const c = new Chain();
    c.block([spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 3950n })]);
    assert.equal(c.validator(v(0)).status, 'unbonding');
    assert.deepEqual(c.block([spec(A1, 'delegation_delegate', { validatorId: v(0), amount: 10n })]), [fail(ErrorCode.VALIDATOR_NOT_ACTIVE)]);
    c.block([spec(OPS[0]!, 'validator_bond', { pubKey: VALS[0]!.publicKey, amount: 49n })]);
    assert.equal(c.validator(v(0)).status, 'unbonding', '99 < minSelfBond 100');
    c.block([spec(OPS[0]!, 'validator_bond', { pubKey: VALS[0]!.publicKey, amount: 1n })]);
    assert.equal(c.validator(v(0)).status, 'active');
    c.block([spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 100n })]);
    assert.equal(c.validator(v(0)).stake, 0n);
    assert.equal(c.validator(v(0)).status, 'unbonding');
  });

  it('behavior: a failed rule leaves only the fee and nonce changed', () => {
    const c = new Chain();
    const ex = c.execution();
    assert.deepEqual(ex.apply(signTx(spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 9999n }), 0)), fail(ErrorCode.INSUFFICIENT_STAKE));
    assert.deepEqual([...ex.changes.keys()].sort(), [accountKey(OPS[0]!.address), accountKey(FEE_TO)].sort());
  });
});

describe('delegation_delegate and delegation_undelegate', () => {
  it('default: shares 1:1 in an empty pool, then pro rata; one del/ entry per delegator', () => {
    const c = new Chain();
    assert.deepEqual(c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 1000n }), spec(A2, 'delegation_delegate', { validatorId: v(1), amount: 500n })]), [ok, ok]);
    const val = c.validator(v(1));
    assert.equal(val.delegated, 1500n);
    assert.equal(val.delegatorShares, 1500n);
    assert.deepEqual(c.delegation(A1.address), { shares: { [v(1)]: 1000n } });
    assert.equal(c.balance(A1.address), START_BALANCE - FEE - 1000n);
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(2), amount: 10n })]);
    assert.deepEqual(c.delegation(A1.address), { shares: { [v(1)]: 1000n, [v(2)]: 10n } });
  });

  it('behavior: after a slash, delegations get more shares per token and every delegator lost pro rata', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 1000n })]);
    c.block([spec(GOV, 'validator_slash', { validatorId: v(1), fractionBps: 2000 })]);
    assert.equal(c.validator(v(1)).delegated, 800n);
    c.block([spec(A2, 'delegation_delegate', { validatorId: v(1), amount: 400n })]);
    assert.equal(c.delegation(A2.address)!.shares[v(1)], 500n, '400 * 1000 / 800');
    // A1 owns 1000 of 1500 shares of 1200 tokens = 800 tokens: 801 is too much.
    assert.deepEqual(c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 801n })]), [fail(ErrorCode.INSUFFICIENT_SHARES)]);
    assert.deepEqual(c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 800n })]), [ok]);
    assert.equal(c.delegation(A1.address), undefined, 'the entry is deleted once empty');
    assert.equal(c.validator(v(1)).delegated, 400n);
    assert.equal(c.validator(v(1)).delegatorShares, 500n);
  });

  it('behavior: undelegate takes ceil(amount * shares / tokens) shares and creates an unbonding entry of the delegator', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 1000n })]);
    c.block([spec(GOV, 'validator_slash', { validatorId: v(1), fractionBps: 500 })]); // 950 tokens, 1000 shares
    assert.deepEqual(c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 1n })]), [ok]);
    assert.equal(c.delegation(A1.address)!.shares[v(1)], 998n, 'ceil(1000/950) = 2 shares');
    assert.equal(c.validator(v(1)).delegated, 949n);
    assert.deepEqual(c.bucket(3 + 10), { entries: [{ validatorId: v(1), delegator: A1.address, amount: 1n, creationHeight: 3 }] });
  });

  it('error: delegating to a jailed validator is VALIDATOR_JAILED; undelegating from it is allowed', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(2), amount: 100n })]);
    c.block([spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 10 })]);
    assert.deepEqual(
      c.block([spec(A2, 'delegation_delegate', { validatorId: v(2), amount: 100n }), spec(A1, 'delegation_undelegate', { validatorId: v(2), amount: 100n })]),
      [fail(ErrorCode.VALIDATOR_JAILED), ok],
    );
    assert.equal(c.balance(A2.address), START_BALANCE - FEE);
  });

  it('error: undelegating without shares, or more than owned, is INSUFFICIENT_SHARES; an unknown validator NOT_FOUND', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 100n })]);
    const r = c.block([
      spec(A2, 'delegation_undelegate', { validatorId: v(1), amount: 1n }),
      spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 101n }),
      spec(A1, 'delegation_undelegate', { validatorId: v(6), amount: 1n }),
      spec(A1, 'delegation_delegate', { validatorId: v(6), amount: 1n }),
    ]);
    assert.deepEqual(r, [fail(ErrorCode.INSUFFICIENT_SHARES), fail(ErrorCode.INSUFFICIENT_SHARES), fail(ErrorCode.NOT_FOUND), fail(ErrorCode.NOT_FOUND)]);
  });

  it('error: more than the balance is INSUFFICIENT_FUNDS', () => {
    const c = new Chain();
    assert.deepEqual(c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: START_BALANCE })]), [fail(ErrorCode.INSUFFICIENT_FUNDS)]);
  });

  it('error: a pool slashed to zero with shares left is POOL_WIPED_OUT; its shares are worthless', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 100n })]);
    c.block([spec(GOV, 'validator_slash', { validatorId: v(1), fractionBps: 10_000 })]);
    const val = c.validator(v(1));
    assert.equal(val.delegated, 0n);
    assert.equal(val.delegatorShares, 100n);
    assert.equal(val.stake, 0n);
    assert.equal(val.status, 'unbonding', 'no self stake left');
    c.block([spec(OPS[1]!, 'validator_bond', { pubKey: VALS[1]!.publicKey, amount: 100n })]);
    assert.equal(c.validator(v(1)).status, 'active');
    assert.deepEqual(
      c.block([spec(A2, 'delegation_delegate', { validatorId: v(1), amount: 100n }), spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 1n })]),
      [fail(ErrorCode.POOL_WIPED_OUT), fail(ErrorCode.INSUFFICIENT_SHARES)],
    );
  });

  it('error: an amount worth less than one share is DELEGATION_TOO_SMALL', () => {
    const c = new Chain();
    const key = validatorKey(v(1));
    const val = c.validator(v(1));
    // A pool where one share is worth more than one token (10 tokens, 3 shares).
    c.ws.apply(c.ws.diff(new Map([[key, { ...val, delegated: 10n, delegatorShares: 3n } as Validator]])));
    assert.deepEqual(c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 3n }), spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 4n })]), [
      fail(ErrorCode.DELEGATION_TOO_SMALL),
      ok,
    ]);
    assert.equal(c.delegation(A1.address)!.shares[v(1)], 1n);
  });
});

describe('slashing', () => {
  it('behavior: fractional slashes round down on stake, pool and each entry; the record holds the total burned', () => {
    const c = new Chain({ ...testGenesis({ stakes: [4000n, 999n, 2000n, 1000n] }) });
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 333n })]);
    c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 33n })]);
    // stake 999, pool 300, entry 33 created at 2; slash 3.33% at height 3 (infraction 3: the entry is older, not cut).
    c.block([spec(GOV, 'validator_slash', { validatorId: v(1), fractionBps: 333 })]);
    const val = c.validator(v(1));
    assert.equal(val.stake, 999n - 33n, 'floor(999 * 333 / 10000) = 33');
    assert.equal(val.delegated, 300n - 9n, 'floor(300 * 333 / 10000) = 9');
    assert.deepEqual(val.slashes, [{ height: 3, infractionHeight: 3, reason: 'governance', fractionBps: 333, burned: 42n }]);
    assert.equal(c.bucket(12)!.entries[0]!.amount, 33n);
    assert.equal(val.status, 'active', 'governance slash does not jail');
  });

  it('behavior: a slash cuts unbonding entries created at or after the infraction height, not older ones', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 1000n })]); // 1
    c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 100n })]); // 2
    c.block(); // 3
    c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 200n }), spec(OPS[1]!, 'validator_unbond', { validatorId: v(1), amount: 21n })]); // 4
    c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 300n }), spec(OPS[0]!, 'validator_unbond', { validatorId: v(0), amount: 40n })]); // 5
    const stake = c.validator(v(1)).stake;
    const pool = c.validator(v(1)).delegated;
    c.block([], { evidence: [doubleVote(VALS[1]!, 4)] }); // 6: double sign at height 4, 5%
    assert.deepEqual(c.bucket(12)!.entries.map((e) => e.amount), [100n], 'created at 2 < 4: untouched');
    assert.deepEqual(c.bucket(14)!.entries.map((e) => e.amount), [190n, 20n], 'created at 4: cut by 5% (floor)');
    assert.deepEqual(c.bucket(15)!.entries.map((e) => e.amount), [285n, 40n], "created at 5: cut; another validator's entry is not");
    const val = c.validator(v(1));
    assert.equal(val.stake, stake - (stake * 500n) / 10_000n);
    assert.equal(val.delegated, pool - (pool * 500n) / 10_000n);
    const burned = (stake * 500n) / 10_000n + (pool * 500n) / 10_000n + 10n + 1n + 15n;
    assert.deepEqual(val.slashes, [{ height: 6, infractionHeight: 4, reason: 'double_sign', fractionBps: 500, burned }]);
    c.advanceTo(14);
    assert.equal(c.balance(A1.address), START_BALANCE - 4n * FEE - 1000n + 100n + 190n);
  });

  it('behavior: an entry that completes at the slash height is still cut (release comes after the block\'s evidence)', () => {
    const c = new Chain(testGenesis({ params: { unbondingPeriodBlocks: 3, evidenceMaxAgeBlocks: 20 } }));
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 1000n })]); // 1
    c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 100n })]); // 2 -> completes at 5
    c.block([spec(A1, 'delegation_undelegate', { validatorId: v(1), amount: 100n })]); // 3 -> completes at 6
    c.block(); // 4
    c.block([], { evidence: [doubleVote(VALS[1]!, 1)] }); // 5: infraction at 1
    assert.equal(c.bucket(5), undefined, 'released at the end of height 5');
    assert.equal(c.bucket(6)!.entries[0]!.amount, 95n, 'not yet complete: cut');
    // The entry due at 5 was still bonded when the slash of height 5 applied: paid out cut by 5%.
    assert.equal(c.balance(A1.address), START_BALANCE - 3n * FEE - 1000n + 95n);
  });

  it('error: validator_slash by a non-governance account is FORBIDDEN; an unknown validator NOT_FOUND', () => {
    const c = new Chain();
    assert.deepEqual(
      c.block([spec(A1, 'validator_slash', { validatorId: v(0), fractionBps: 100 }), spec(GOV, 'validator_slash', { validatorId: v(6), fractionBps: 100 })]),
      [fail(ErrorCode.FORBIDDEN), fail(ErrorCode.NOT_FOUND)],
    );
    assert.equal(c.validator(v(0)).stake, 4000n);
    assert.deepEqual(c.validator(v(0)).slashes, []);
  });
});

describe('validator_jail and validator_unjail', () => {
  it('default: governance jails; the operator unjails at jailedUntil, not before', () => {
    const c = new Chain();
    assert.deepEqual(c.block([spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 3 })]), [ok]);
    assert.equal(c.validator(v(2)).status, 'jailed');
    assert.equal(c.validator(v(2)).jailedUntil, 4);
    assert.deepEqual(c.block([spec(OPS[2]!, 'validator_unjail', { validatorId: v(2) })]), [fail(ErrorCode.JAIL_NOT_EXPIRED)]); // 2
    c.block(); // 3
    assert.deepEqual(c.block([spec(OPS[2]!, 'validator_unjail', { validatorId: v(2) })]), [ok]); // 4
    assert.equal(c.validator(v(2)).status, 'active');
  });

  it('error: jail by a non-governance account is FORBIDDEN; unjail by another account FORBIDDEN; unjail of a free validator NOT_JAILED', () => {
    const c = new Chain();
    assert.deepEqual(
      c.block([
        spec(A1, 'validator_jail', { validatorId: v(2), jailBlocks: 3 }),
        spec(OPS[2]!, 'validator_unjail', { validatorId: v(2) }),
        spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 1 }),
        spec(A1, 'validator_unjail', { validatorId: v(2) }),
        spec(GOV, 'validator_jail', { validatorId: v(6), jailBlocks: 1 }),
        spec(OPS[2]!, 'validator_unjail', { validatorId: v(6) }),
      ]),
      [fail(ErrorCode.FORBIDDEN), fail(ErrorCode.NOT_JAILED), ok, fail(ErrorCode.FORBIDDEN), fail(ErrorCode.NOT_FOUND), fail(ErrorCode.NOT_FOUND)],
    );
  });

  it('behavior: a shorter jail never shortens a longer one', () => {
    const c = new Chain();
    c.block([spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 30 }), spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 1 })]);
    assert.equal(c.validator(v(2)).jailedUntil, 31);
  });

  it('behavior: unjail with self stake below minSelfBond leaves the validator unbonding', () => {
    const c = new Chain();
    c.block([spec(GOV, 'validator_jail', { validatorId: v(2), jailBlocks: 1 }), spec(OPS[2]!, 'validator_unbond', { validatorId: v(2), amount: 1950n })]);
    assert.equal(c.validator(v(2)).status, 'jailed', 'unbonding does not end a jail');
    assert.deepEqual(c.block([spec(OPS[2]!, 'validator_unjail', { validatorId: v(2) })]), [ok]);
    assert.equal(c.validator(v(2)).status, 'unbonding');
  });
});

describe('fees', () => {
  it('behavior: every staking tx pays its fee to the fee recipient, success or not', () => {
    const c = new Chain();
    c.block([spec(A1, 'delegation_delegate', { validatorId: v(1), amount: 1n }), spec(A1, 'validator_unjail', { validatorId: v(1) })]);
    assert.equal(c.balance(FEE_TO), 2n * FEE);
    assert.equal(c.ws.get(delegationKey(A1.address)) !== undefined, true);
  });
});
