/**
 * Property test of the validator-economics state machine: random lifecycle
 * txs, block evidence and missed signatures over a few blocks on a small
 * genesis. Tokens are conserved except for exactly the burned amounts that
 * slashes record; nothing goes negative; the books agree (pool shares = sum
 * of delegations); the incremental state root equals one computed from
 * scratch; and replaying the same blocks from genesis gives the same root.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KEY_PREFIX, VALIDATOR_INDEX_KEY } from '../../../src/codec/state.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { selectValidEvidence } from '../../../src/state/evidence.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { Account, Delegation, UnbondingBucket, Validator, ValidatorIndex } from '../../../src/types/index.js';
import { Chain, GOV, OPS, VALS, doubleVote, spec, supply, testGenesis, type BlockOpts, type TxSpec } from './stakingHarness.js';

const ACTORS = [devAccount(1), devAccount(2), OPS[0]!, OPS[1]!, OPS[2]!, OPS[3]!];
const GENESIS = testGenesis({
  params: {
    epochLengthBlocks: 3,
    unbondingPeriodBlocks: 4,
    maxValidators: 3,
    downtimeWindowBlocks: 4,
    downtimeMaxMissed: 1,
    evidenceMaxAgeBlocks: 6,
    jailDoubleSignBlocks: 3,
    jailDowntimeBlocks: 2,
    minSelfBond: 100n,
  },
});

const who = fc.integer({ min: 0, max: ACTORS.length - 1 });
const val = fc.integer({ min: 0, max: 5 });
/** Delegators and validators of delegation ops: a small space, so undelegations meet earlier delegations. */
const delegator = fc.integer({ min: 0, max: 1 });
const dval = fc.integer({ min: 0, max: 2 });
const amount = fc.oneof(fc.bigInt({ min: 1n, max: 200n }), fc.bigInt({ min: 1n, max: 3000n }));

/** `who: -1` = the validator's current operator (when it exists). */
type Op =
  | { t: 'bond' | 'unbond'; who: number; val: number; amount: bigint }
  | { t: 'delegate' | 'undelegate'; who: number; val: number; amount: bigint }
  | { t: 'slash'; gov: boolean; val: number; bps: number }
  | { t: 'jail'; val: number; blocks: number }
  | { t: 'unjail'; who: number; val: number }
  | { t: 'transfer'; who: number; to: number; amount: bigint }
  | { t: 'evidence'; who: number; val: number; back: number };

const sender = fc.oneof({ arbitrary: fc.constant(-1), weight: 3 }, { arbitrary: who, weight: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constantFrom('bond' as const, 'unbond' as const), who: sender, val, amount }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constantFrom('delegate' as const, 'undelegate' as const), who: delegator, val: dval, amount }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('slash' as const), gov: fc.boolean(), val, bps: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constant(10_000), fc.integer({ min: 1, max: 3 })) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('jail' as const), val, blocks: fc.integer({ min: 1, max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('unjail' as const), who: sender, val }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('transfer' as const), who, to: who, amount }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('evidence' as const), who, val, back: fc.integer({ min: 0, max: 8 }) }), weight: 1 },
);

interface BlockPlan {
  readonly ops: Op[];
  readonly absent: number[];
  readonly evidence: { val: number; back: number }[];
}

const blockPlan: fc.Arbitrary<BlockPlan> = fc.record({
  ops: fc.array(op, { maxLength: 6 }),
  absent: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
  evidence: fc.array(fc.record({ val, back: fc.integer({ min: 1, max: 7 }) }), { maxLength: 2 }),
});

function toSpec(c: Chain, o: Op, height: number): TxSpec {
  const v = VALS['val' in o ? o.val : 0]!;
  const from = (i: number) => (i === -1 ? (ACTORS.find((a) => a.address === c.maybeValidator(v.address)?.rewardAddress) ?? ACTORS[0]!) : ACTORS[i]!);
  switch (o.t) {
    case 'bond':
      return spec(from(o.who), 'validator_bond', { pubKey: v.publicKey, amount: o.amount });
    case 'unbond':
      return spec(from(o.who), 'validator_unbond', { validatorId: v.address, amount: o.amount });
    case 'delegate':
      return spec(ACTORS[o.who]!, 'delegation_delegate', { validatorId: v.address, amount: o.amount });
    case 'undelegate':
      return spec(ACTORS[o.who]!, 'delegation_undelegate', { validatorId: v.address, amount: o.amount });
    case 'slash':
      return spec(o.gov ? GOV : ACTORS[0]!, 'validator_slash', { validatorId: v.address, fractionBps: o.bps });
    case 'jail':
      return spec(GOV, 'validator_jail', { validatorId: v.address, jailBlocks: o.blocks });
    case 'unjail':
      return spec(from(o.who), 'validator_unjail', { validatorId: v.address });
    case 'transfer':
      return spec(ACTORS[o.who]!, 'transfer', { to: ACTORS[o.to]!.address, amount: o.amount });
    case 'evidence':
      return spec(ACTORS[o.who]!, 'validator_slash', { evidence: doubleVote(v, Math.max(1, height - o.back)) });
  }
}

/** Runs the plan from genesis, checking the invariants after every block; returns the final state. */
function run(plan: readonly BlockPlan[], check: boolean): WorldState {
  const c = new Chain(GENESIS);
  const initial = supply(c.ws.allEntries()).supply;
  for (const b of plan) {
    const h = c.height + 1;
    const candidates = b.evidence.filter((e) => h - e.back >= 1).map((e) => doubleVote(VALS[e.val]!, h - e.back));
    const opts: BlockOpts = { absent: b.absent.map((i) => VALS[i]!.address), evidence: selectValidEvidence(c.ws, candidates, c.ctx()) };
    c.block(b.ops.map((o) => toSpec(c, o, h)), opts);
    if (check) checkInvariants(c, initial);
  }
  return c.ws;
}

function checkInvariants(c: Chain, initial: bigint): void {
  const { supply: now, burned } = supply(c.ws.allEntries());
  assert.equal(now, initial - burned, `height ${c.height}: supply ${now} + burned ${burned} != ${initial}`);
  const sharesByValidator = new Map<string, bigint>();
  const validatorIds: string[] = [];
  for (const [k, v] of c.ws.allEntries()) {
    if (k.startsWith(KEY_PREFIX.account)) assert.ok((v as Account).balance >= 0n, k);
    else if (k.startsWith(KEY_PREFIX.validator)) {
      const x = v as Validator;
      validatorIds.push(x.id);
      assert.ok(x.stake >= 0n && x.delegated >= 0n && x.delegatorShares >= 0n, k);
      if (x.status === 'active') assert.ok(x.stake >= c.params.minSelfBond, `${k} is active below minSelfBond`);
      for (const s of x.slashes) assert.ok(s.burned >= 0n);
      assert.ok(x.missed.length <= c.params.downtimeMaxMissed, `${k} missed ${x.missed.length} without being jailed`);
    } else if (k.startsWith(KEY_PREFIX.delegation)) {
      const shares = Object.entries((v as Delegation).shares);
      assert.ok(shares.length > 0, `${k} is empty but stored`);
      for (const [id, s] of shares) {
        assert.ok(s > 0n, `${k} holds ${s} shares of ${id}`);
        sharesByValidator.set(id, (sharesByValidator.get(id) ?? 0n) + s);
      }
    } else if (k.startsWith(KEY_PREFIX.unbonding)) {
      const entries = (v as UnbondingBucket).entries;
      assert.ok(entries.length > 0);
      assert.ok(Number(k.slice(KEY_PREFIX.unbonding.length)) > c.height, `${k} should have been released`);
      for (const e of entries) assert.ok(e.amount >= 0n);
    }
  }
  for (const id of validatorIds) assert.equal(c.validator(id).delegatorShares, sharesByValidator.get(id) ?? 0n, `pool shares of ${id}`);
  assert.deepEqual([...(c.ws.get(VALIDATOR_INDEX_KEY) as ValidatorIndex).ids], [...validatorIds].sort());
}

describe('validator economics (property)', () => {
  it('behavior: supply is conserved up to recorded burns, nothing goes negative, and execution is deterministic', () => {
    fc.assert(
      fc.property(fc.array(blockPlan, { minLength: 1, maxLength: 10 }), (plan) => {
        const ws = run(plan, true);
        assert.equal(WorldState.fromEntries(ws.allEntries()).stateRoot, ws.stateRoot, 'incremental root = root from scratch');
        assert.equal(run(plan, false).stateRoot, ws.stateRoot, 'same blocks, same root');
      }),
      { numRuns: 200, seed: 20_260_101 },
    );
  });
});
