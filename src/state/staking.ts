import { VALIDATOR_INDEX_KEY, accountKey, delegationKey, doubleSignKey, unbondingKey, validatorKey } from '../codec/state.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode } from '../errors.js';
import type {
  Account,
  Address,
  BondPayload,
  ChainParams,
  Delegation,
  DoubleSignPunishment,
  JailPayload,
  SlashReason,
  UnbondingBucket,
  UnbondingEntry,
  UnjailPayload,
  Validator,
  ValidatorAmountPayload,
  ValidatorIndex,
} from '../types/index.js';
import type { Overlay } from './overlay.js';
import type { StateReader } from './worldState.js';

/**
 * Validator economics, after Cosmos SDK x/staking and x/slashing, kept small:
 *
 * - A validator's tokens are its operator's self stake (`stake`) and a
 *   delegation pool (`delegated` tokens owned through `delegatorShares`
 *   shares). Voting power = stake + delegated.
 * - Unbonding (self or delegated) moves tokens into an entry of bucket
 *   `unb/<height + unbondingPeriodBlocks>`, paid out at the end of that height
 *   and slashable until then for faults committed before it was created.
 * - A slash of f basis points burns floor(x * f / 10000) of the self stake, of
 *   the pool (every delegator loses pro rata: shares are unchanged) and of each
 *   slashable unbonding entry. Burned tokens leave the supply: they are
 *   credited to nobody, and the validator's `slashes` records the amount.
 *
 * Every rule function checks everything before it writes, and returns the
 * error code of a failed tx (or null); BlockExecution also rolls back a
 * failed rule's writes.
 */

export type RuleResult = ErrorCode | null;

/** What the staking rules need to know about the block. */
export interface StakingContext {
  readonly params: ChainParams;
  /** Height of the block being executed. */
  readonly height: number;
}

const BPS = 10_000n;

// ---------------------------------------------------------------- reads and writes

/** A new, active validator record with self stake only (genesis, first bond). Its id is the address of its consensus key. */
export function newValidator(p: { readonly pubKey: string; readonly stake: bigint; readonly rewardAddress?: Address; readonly workWeight?: number }): Validator {
  const id = addressFromPubKey(p.pubKey);
  return {
    id,
    pubKey: p.pubKey,
    rewardAddress: p.rewardAddress ?? id,
    stake: p.stake,
    delegated: 0n,
    delegatorShares: 0n,
    workWeight: p.workWeight ?? 10_000,
    status: 'active',
    jailedUntil: 0,
    missed: [],
    slashes: [],
  };
}

export function getValidator(state: StateReader, id: Address): Validator | undefined {
  return state.get(validatorKey(id)) as Validator | undefined;
}

export function getDelegation(state: StateReader, delegator: Address): Delegation {
  return (state.get(delegationKey(delegator)) as Delegation | undefined) ?? { shares: {} };
}

/** The validator's latest double-sign punishment (`dsp/<id>`), if it was ever punished for one. */
export function getDoubleSignPunishment(state: StateReader, id: Address): DoubleSignPunishment | undefined {
  return state.get(doubleSignKey(id)) as DoubleSignPunishment | undefined;
}

export function getUnbondingBucket(state: StateReader, completionHeight: number): UnbondingBucket | undefined {
  return state.get(unbondingKey(completionHeight)) as UnbondingBucket | undefined;
}

function account(o: Overlay, address: Address): Account {
  return (o.get(accountKey(address)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
}

function addBalance(o: Overlay, address: Address, delta: bigint): void {
  const a = account(o, address);
  o.set(accountKey(address), { balance: a.balance + delta, nonce: a.nonce });
}

function putValidator(o: Overlay, v: Validator): void {
  o.set(validatorKey(v.id), v);
}

function putDelegation(o: Overlay, delegator: Address, shares: Record<Address, bigint>): void {
  if (Object.keys(shares).length === 0) o.delete(delegationKey(delegator));
  else o.set(delegationKey(delegator), { shares });
}

function addUnbonding(o: Overlay, ctx: StakingContext, entry: Omit<UnbondingEntry, 'creationHeight'>): void {
  const completion = ctx.height + ctx.params.unbondingPeriodBlocks;
  const bucket = getUnbondingBucket(o, completion);
  o.set(unbondingKey(completion), { entries: [...(bucket?.entries ?? []), { ...entry, creationHeight: ctx.height }] });
}

function addToIndex(o: Overlay, id: Address): void {
  const ids = [...((o.get(VALIDATOR_INDEX_KEY) as ValidatorIndex | undefined)?.ids ?? [])];
  if (ids.includes(id)) return;
  ids.push(id);
  ids.sort();
  o.set(VALIDATOR_INDEX_KEY, { ids });
}

/** An 'active' validator whose self stake fell below minSelfBond becomes 'unbonding'. */
function withBondStatus(v: Validator, params: ChainParams): Validator {
  return v.status === 'active' && v.stake < params.minSelfBond ? { ...v, status: 'unbonding' } : v;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

// ---------------------------------------------------------------- tx rules

/**
 * validator_bond: creates the validator of `pubKey` with the sender as its
 * operator, or tops up the operator's self stake.
 */
export function bond(o: Overlay, ctx: StakingContext, from: Address, p: BondPayload): RuleResult {
  const id = addressFromPubKey(p.pubKey);
  const v = getValidator(o, id);
  if (v === undefined) {
    if (p.amount < ctx.params.minSelfBond) return ErrorCode.STAKE_TOO_LOW;
    if (account(o, from).balance < p.amount) return ErrorCode.INSUFFICIENT_FUNDS;
    addBalance(o, from, -p.amount);
    putValidator(o, newValidator({ pubKey: p.pubKey, stake: p.amount, rewardAddress: from }));
    addToIndex(o, id);
    return null;
  }
  if (v.rewardAddress !== from || v.pubKey !== p.pubKey) return ErrorCode.FORBIDDEN;
  if (account(o, from).balance < p.amount) return ErrorCode.INSUFFICIENT_FUNDS;
  addBalance(o, from, -p.amount);
  const stake = v.stake + p.amount;
  const status = v.status === 'unbonding' && stake >= ctx.params.minSelfBond ? 'active' : v.status;
  putValidator(o, { ...v, stake, status });
  return null;
}

/** validator_unbond: the operator moves self stake into an unbonding entry. */
export function unbond(o: Overlay, ctx: StakingContext, from: Address, p: ValidatorAmountPayload): RuleResult {
  const v = getValidator(o, p.validatorId);
  if (v === undefined) return ErrorCode.NOT_FOUND;
  if (v.rewardAddress !== from) return ErrorCode.FORBIDDEN;
  if (p.amount > v.stake) return ErrorCode.INSUFFICIENT_STAKE;
  putValidator(o, withBondStatus({ ...v, stake: v.stake - p.amount }, ctx.params));
  addUnbonding(o, ctx, { validatorId: v.id, delegator: from, amount: p.amount });
  return null;
}

/**
 * delegation_delegate: tokens into an active validator's pool for shares:
 * A when the pool has no shares, else floor(A * shares / tokens). Refused for a
 * jailed (VALIDATOR_JAILED) or unbonding (VALIDATOR_NOT_ACTIVE) validator, a
 * pool whose tokens were all slashed away while shares remain
 * (POOL_WIPED_OUT), and an amount worth less than one share (DELEGATION_TOO_SMALL).
 */
export function delegate(o: Overlay, _ctx: StakingContext, from: Address, p: ValidatorAmountPayload): RuleResult {
  const v = getValidator(o, p.validatorId);
  if (v === undefined) return ErrorCode.NOT_FOUND;
  if (v.status === 'jailed') return ErrorCode.VALIDATOR_JAILED;
  if (v.status !== 'active') return ErrorCode.VALIDATOR_NOT_ACTIVE;
  if (account(o, from).balance < p.amount) return ErrorCode.INSUFFICIENT_FUNDS;
  let shares: bigint;
  if (v.delegatorShares === 0n) shares = p.amount;
  else if (v.delegated === 0n) return ErrorCode.POOL_WIPED_OUT;
  else shares = (p.amount * v.delegatorShares) / v.delegated;
  if (shares === 0n) return ErrorCode.DELEGATION_TOO_SMALL;
  addBalance(o, from, -p.amount);
  putValidator(o, { ...v, delegated: v.delegated + p.amount, delegatorShares: v.delegatorShares + shares });
  const d = getDelegation(o, from);
  putDelegation(o, from, { ...d.shares, [v.id]: (d.shares[v.id] ?? 0n) + shares });
  return null;
}

/**
 * delegation_undelegate: `amount` tokens out of the pool for
 * ceil(amount * shares / tokens) of the delegator's shares (rounding favours
 * the pool), into an unbonding entry of the delegator.
 */
export function undelegate(o: Overlay, ctx: StakingContext, from: Address, p: ValidatorAmountPayload): RuleResult {
  const v = getValidator(o, p.validatorId);
  if (v === undefined) return ErrorCode.NOT_FOUND;
  const d = getDelegation(o, from);
  const owned = d.shares[v.id] ?? 0n;
  if (owned === 0n || p.amount > v.delegated) return ErrorCode.INSUFFICIENT_SHARES;
  const needed = ceilDiv(p.amount * v.delegatorShares, v.delegated);
  if (needed > owned) return ErrorCode.INSUFFICIENT_SHARES;
  putValidator(o, { ...v, delegated: v.delegated - p.amount, delegatorShares: v.delegatorShares - needed });
  const rest = { ...d.shares };
  if (owned === needed) delete rest[v.id];
  else rest[v.id] = owned - needed;
  putDelegation(o, from, rest);
  addUnbonding(o, ctx, { validatorId: v.id, delegator: from, amount: p.amount });
  return null;
}

/** validator_jail (governance only): jails for at least `jailBlocks` from this height. */
export function governanceJail(o: Overlay, ctx: StakingContext, from: Address, p: JailPayload): RuleResult {
  if (!ctx.params.governance.includes(from)) return ErrorCode.FORBIDDEN;
  if (getValidator(o, p.validatorId) === undefined) return ErrorCode.NOT_FOUND;
  jail(o, ctx, p.validatorId, p.jailBlocks);
  return null;
}

/** validator_unjail (operator only): once the jail has expired; active again if the self stake suffices. */
export function unjail(o: Overlay, ctx: StakingContext, from: Address, p: UnjailPayload): RuleResult {
  const v = getValidator(o, p.validatorId);
  if (v === undefined) return ErrorCode.NOT_FOUND;
  if (v.rewardAddress !== from) return ErrorCode.FORBIDDEN;
  if (v.status !== 'jailed') return ErrorCode.NOT_JAILED;
  if (ctx.height < v.jailedUntil) return ErrorCode.JAIL_NOT_EXPIRED;
  putValidator(o, { ...v, status: v.stake >= ctx.params.minSelfBond ? 'active' : 'unbonding' });
  // Double signs from now on are a new spell: punishable again.
  const punished = getDoubleSignPunishment(o, v.id);
  if (punished !== undefined && punished.unjailedAt === null) o.set(doubleSignKey(v.id), { ...punished, unjailedAt: ctx.height });
  return null;
}

/** validator_slash by a governance account: infraction at this height, no jail. */
export function governanceSlash(o: Overlay, ctx: StakingContext, from: Address, p: { validatorId: Address; fractionBps: number }): RuleResult {
  if (!ctx.params.governance.includes(from)) return ErrorCode.FORBIDDEN;
  if (getValidator(o, p.validatorId) === undefined) return ErrorCode.NOT_FOUND;
  slash(o, ctx, p.validatorId, p.fractionBps, ctx.height, 'governance');
  return null;
}

// ---------------------------------------------------------------- punishments

/**
 * Jails a validator until at least `ctx.height + jailBlocks` (an existing
 * longer jail is kept: no jail ever shortens another) and clears its missed
 * list. The validator leaves the set at the next epoch boundary.
 */
export function jail(o: Overlay, ctx: StakingContext, id: Address, jailBlocks: number): void {
  const v = getValidator(o, id);
  if (v === undefined) return;
  putValidator(o, { ...v, status: 'jailed', jailedUntil: Math.max(v.jailedUntil, ctx.height + jailBlocks), missed: [] });
}

/**
 * Slashes `fractionBps` of a validator's tokens for a fault at
 * `infractionHeight`: the self stake, the delegation pool, and every unbonding
 * entry of this validator created at or after the infraction and not yet
 * released. Those entries complete in [max(height, infractionHeight + P),
 * height + P]; an entry due at this height is still held (releases happen at
 * the end of the block, after its evidence and txs), so evidence as old as
 * the unbonding period still reaches it. The buckets are
 * looked up by height, so the cost is bounded by the unbonding period, never
 * by the size of the state. Returns the burned amount (also recorded).
 */
export function slash(o: Overlay, ctx: StakingContext, id: Address, fractionBps: number, infractionHeight: number, reason: SlashReason): bigint {
  const v = getValidator(o, id);
  if (v === undefined) return 0n;
  const f = BigInt(fractionBps);
  const fromStake = (v.stake * f) / BPS;
  const fromPool = (v.delegated * f) / BPS;
  let burned = fromStake + fromPool;
  const P = ctx.params.unbondingPeriodBlocks;
  for (let c = Math.max(ctx.height, infractionHeight + P); c <= ctx.height + P; c++) {
    const bucket = getUnbondingBucket(o, c);
    if (bucket === undefined) continue;
    let changed = false;
    const entries = bucket.entries.map((e) => {
      if (e.validatorId !== id || e.creationHeight < infractionHeight) return e;
      const cut = (e.amount * f) / BPS;
      if (cut === 0n) return e;
      changed = true;
      burned += cut;
      return { ...e, amount: e.amount - cut };
    });
    if (changed) o.set(unbondingKey(c), { entries });
  }
  const after: Validator = {
    ...v,
    stake: v.stake - fromStake,
    delegated: v.delegated - fromPool,
    slashes: [...v.slashes, { height: ctx.height, infractionHeight, reason, fractionBps, burned }],
  };
  putValidator(o, withBondStatus(after, ctx.params));
  return burned;
}

/**
 * Downtime bookkeeping for one validator of the previous height's set that
 * did not sign its certificate: records the miss (dropping heights out of the
 * window) and, past `downtimeMaxMissed`, slashes `slashDowntimeBps` and jails
 * for `jailDowntimeBlocks`. A jailed validator is not counted.
 */
export function recordMiss(o: Overlay, ctx: StakingContext, id: Address, missedHeight: number): void {
  const v = getValidator(o, id);
  if (v === undefined || v.status === 'jailed') return;
  const from = missedHeight - ctx.params.downtimeWindowBlocks + 1;
  const missed = [...v.missed.filter((m) => m >= from && m < missedHeight), missedHeight];
  if (missed.length > ctx.params.downtimeMaxMissed) {
    putValidator(o, { ...v, missed: [] });
    slash(o, ctx, id, ctx.params.slashDowntimeBps, missedHeight, 'downtime');
    jail(o, ctx, id, ctx.params.jailDowntimeBlocks);
  } else {
    putValidator(o, { ...v, missed });
  }
}

/**
 * Pays out the unbonding bucket of `height` (end of that block) and deletes
 * it. An entry of a validator that `heldUntil` names a later height for (an
 * open challenge) moves to that height's bucket instead, still slashable.
 */
export function releaseUnbonding(o: Overlay, height: number, heldUntil?: (validatorId: Address) => number | undefined): void {
  const bucket = getUnbondingBucket(o, height);
  if (bucket === undefined) return;
  const held = new Map<number, UnbondingEntry[]>();
  for (const e of bucket.entries) {
    const until = heldUntil?.(e.validatorId);
    if (until !== undefined && until > height) held.set(until, [...(held.get(until) ?? []), e]);
    else addBalance(o, e.delegator, e.amount);
  }
  o.delete(unbondingKey(height));
  for (const [h, entries] of held) o.set(unbondingKey(h), { entries: [...(getUnbondingBucket(o, h)?.entries ?? []), ...entries] });
}
