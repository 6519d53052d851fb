import { accountKey, epochKey, validatorKey, VALIDATOR_INDEX_KEY } from '../codec/state.js';
import { assert, ErrorCode, FastposError } from '../errors.js';
import type { Account, Address, ChainParams, Commit, DecodedTx, Evidence, TxResult, Validator, ValidatorIndex } from '../types/index.js';
import { epochOf, epochRecordForHeight, isEpochBoundary, readEpoch, selectEpochValidators } from './epochs.js';
import { applyEvidence, checkEvidence } from './evidence.js';
import { Overlay } from './overlay.js';
import * as product from './product.js';
import * as staking from './staking.js';
import { scheduleUpgrade } from './upgrades.js';
import type { StateChanges, StateReader } from './worldState.js';

export const ZERO_ACCOUNT: Account = { balance: 0n, nonce: 0 };

export function getAccount(state: StateReader, address: Address): Account {
  return (state.get(accountKey(address)) as Account | undefined) ?? ZERO_ACCOUNT;
}

/** What tx admission needs to know: the chain and its parameters. */
export interface TxContext {
  readonly chainId: string;
  readonly params: ChainParams;
  /** Account credited with fees (the proposer's reward address, or the treasury). */
  readonly feeRecipient: Address;
}

/** What execution needs to know about the block being built or checked. */
export interface BlockContext extends TxContext {
  /** Height of the block executed. */
  readonly height: number;
  /** The treasury (pays product rewards at epoch transitions); none: no rewards are paid. */
  readonly treasury?: Address;
}

/** The parts of a block that execution consumes, besides its header. */
export interface BlockInput {
  readonly txs: readonly DecodedTx[];
  /** Certificate of height - 1 carried by the block (null at height 1). Its signatures must have been verified. */
  readonly lastCommit: Commit | null;
  /** Equivocation evidence carried by the block, applied before its txs. */
  readonly evidence: readonly Evidence[];
}

/**
 * Stateless and account-level validity of a tx, shared by mempool admission and
 * block execution (one rule used twice). Signature validity is checked before
 * this (codec decodes, the node verifies signatures in parallel); everything
 * here is cheap. `minNonce` is the account's next nonce; admission allows any
 * nonce at or above it within its window, execution requires equality.
 */
export function validateTxBasics(d: DecodedTx, ctx: Pick<TxContext, 'chainId' | 'params'>): void {
  const { tx } = d;
  if (tx.chainId !== ctx.chainId) throw new FastposError(ErrorCode.WRONG_CHAIN_ID, `chainId must be ${ctx.chainId}, got ${tx.chainId}`);
  if (tx.fee < ctx.params.minFee) throw new FastposError(ErrorCode.FEE_TOO_LOW, `fee must be at least ${ctx.params.minFee}, got ${tx.fee}`);
  if (d.size > ctx.params.maxTxBytes) throw new FastposError(ErrorCode.TX_TOO_LARGE, `tx is ${d.size} bytes, the limit is ${ctx.params.maxTxBytes}`);
}

/** Total the sender must hold for the tx to be admitted: fee plus what the tx spends from its balance. */
export function txSpend(d: DecodedTx): bigint {
  const { tx } = d;
  switch (tx.kind) {
    case 'transfer':
    case 'validator_bond':
    case 'delegation_delegate':
    case 'product_settle':
      return tx.fee + tx.payload.amount;
    default:
      return tx.fee;
  }
}

type Phase = 'fresh' | 'begun' | 'txs' | 'ended';

/**
 * Executes one block on an overlay of a base state, in three steps:
 *
 * 1. `beginBlock({lastCommit, evidence})`: applies each evidence item, then
 *    records the previous height's missed signatures (downtime).
 * 2. `apply(tx)` for each tx in order: either includes the tx (returning its
 *    result, success or failed) or throws when the tx may not be in a block at
 *    all (wrong chain or nonce, fee unpaid): the overlay is then unchanged, so
 *    a proposer can skip the tx and go on. A failed tx pays its fee and
 *    advances its nonce; its rule's writes are rolled back.
 * 3. `endBlock()`: releases the unbondings that complete at this height and,
 *    at an epoch boundary, writes the next epoch's validator set.
 *
 * `beginBlock` and `endBlock` may be left out (txs only), but not reordered.
 */
export class BlockExecution {
  private readonly overlay: Overlay;
  readonly results: TxResult[] = [];
  private phase: Phase = 'fresh';

  constructor(
    base: StateReader,
    private readonly ctx: BlockContext,
  ) {
    this.overlay = new Overlay(base);
  }

  /** The state as this execution has left it so far. */
  get state(): StateReader {
    return this.overlay;
  }

  private account(address: Address): Account {
    return getAccount(this.overlay, address);
  }

  private setAccount(address: Address, a: Account): void {
    this.overlay.set(accountKey(address), a);
  }

  /**
   * Applies the block's evidence and downtime records. Throws INVALID_BLOCK
   * when an evidence item is invalid or repeated (from the height of
   * `evidence-once-per-spell` on, a second item of one validator is: the first
   * covers it) or lastCommit is not for the previous height (the overlay is
   * then unusable: drop the execution).
   * lastCommit's signatures must have been verified by the caller.
   */
  beginBlock(p: { lastCommit: Commit | null; evidence: readonly Evidence[] }): void {
    assert(this.phase === 'fresh', `beginBlock called in phase ${this.phase}`);
    this.phase = 'begun';
    const h = this.ctx.height;
    p.evidence.forEach((e, i) => {
      const bad = checkEvidence(this.overlay, e, this.ctx);
      if (bad !== null) throw new FastposError(ErrorCode.INVALID_BLOCK, `evidence ${i} may not be in block ${h}: ${bad.code}: ${bad.message}`);
      applyEvidence(this.overlay, this.ctx, e);
    });
    if (p.lastCommit === null || h <= 1) return;
    const prev = h - 1;
    if (p.lastCommit.height !== prev) throw new FastposError(ErrorCode.INVALID_BLOCK, `lastCommit is for height ${p.lastCommit.height}, not ${prev}`);
    const signed = new Set(p.lastCommit.signatures.map((s) => s.validatorId));
    for (const member of epochRecordForHeight(this.overlay, prev, this.ctx.params).validators) {
      if (!signed.has(member.id)) staking.recordMiss(this.overlay, this.ctx, member.id, prev);
    }
  }

  apply(d: DecodedTx): TxResult {
    assert(this.phase !== 'ended', 'apply called after endBlock');
    this.phase = 'txs';
    validateTxBasics(d, this.ctx);
    const { tx } = d;
    const sender = this.account(tx.from);
    if (tx.nonce !== sender.nonce) {
      throw new FastposError(tx.nonce < sender.nonce ? ErrorCode.NONCE_TOO_LOW : ErrorCode.NONCE_TOO_HIGH, `expected nonce ${sender.nonce}, got ${tx.nonce}`);
    }
    if (sender.balance < tx.fee) {
      throw new FastposError(ErrorCode.INSUFFICIENT_FUNDS, `balance ${sender.balance} cannot pay fee ${tx.fee}`);
    }
    // Fee and nonce: charged whatever the kind's own rule says. A failed rule's
    // writes are rolled back (and the fee charged again on the clean overlay);
    // an exception rolls back everything, so the overlay is as before the tx.
    let error: ErrorCode | null;
    if (tx.kind === 'transfer') {
      // A transfer's rule writes nothing when it fails and throws nothing: no journal needed.
      this.chargeFee(d);
      error = this.applyKind(d);
    } else {
      this.overlay.mark();
      try {
        this.chargeFee(d);
        error = this.applyKind(d);
        if (error === null) {
          this.overlay.release();
        } else {
          this.overlay.rollback();
          this.chargeFee(d);
        }
      } catch (e) {
        this.overlay.rollback();
        throw e;
      }
    }
    const result: TxResult = error === null ? { success: true } : { success: false, error };
    this.results.push(result);
    return result;
  }

  private chargeFee(d: DecodedTx): void {
    const { tx } = d;
    const sender = this.account(tx.from);
    this.setAccount(tx.from, { balance: sender.balance - tx.fee, nonce: sender.nonce + 1 });
    const recipient = this.account(this.ctx.feeRecipient);
    this.setAccount(this.ctx.feeRecipient, { balance: recipient.balance + tx.fee, nonce: recipient.nonce });
  }

  /** The kind's own rule: null on success, else the error code of a failed tx. */
  private applyKind(d: DecodedTx): ErrorCode | null {
    const { tx } = d;
    const o = this.overlay;
    switch (tx.kind) {
      case 'transfer': {
        const { to, amount } = tx.payload;
        const from = this.account(tx.from);
        if (from.balance < amount) return ErrorCode.INSUFFICIENT_FUNDS;
        this.setAccount(tx.from, { balance: from.balance - amount, nonce: from.nonce });
        const dest = this.account(to);
        this.setAccount(to, { balance: dest.balance + amount, nonce: dest.nonce });
        return null;
      }
      case 'validator_set_work_weight': {
        if (!this.ctx.params.governance.includes(tx.from)) return ErrorCode.FORBIDDEN;
        const key = validatorKey(tx.payload.validatorId);
        const v = o.get(key) as Validator | undefined;
        if (v === undefined) return ErrorCode.NOT_FOUND;
        o.set(key, { ...v, workWeight: tx.payload.workWeight });
        return null;
      }
      case 'validator_bond':
        return staking.bond(o, this.ctx, tx.from, tx.payload);
      case 'validator_unbond':
        return staking.unbond(o, this.ctx, tx.from, tx.payload);
      case 'delegation_delegate':
        return staking.delegate(o, this.ctx, tx.from, tx.payload);
      case 'delegation_undelegate':
        return staking.undelegate(o, this.ctx, tx.from, tx.payload);
      case 'validator_jail':
        return staking.governanceJail(o, this.ctx, tx.from, tx.payload);
      case 'validator_unjail':
        return staking.unjail(o, this.ctx, tx.from, tx.payload);
      case 'validator_slash': {
        const p = tx.payload;
        if (!('evidence' in p)) return staking.governanceSlash(o, this.ctx, tx.from, p);
        const bad = checkEvidence(o, p.evidence, this.ctx);
        if (bad !== null) return bad.code;
        applyEvidence(o, this.ctx, p.evidence);
        return null;
      }
      case 'product_attest':
        return product.attest(o, this.ctx, tx.from, tx.payload);
      case 'product_challenge':
        return product.challenge(o, this.ctx, tx.from, tx.payload, d.id);
      case 'product_resolve_challenge':
        return product.resolveChallenge(o, this.ctx, tx.from, tx.payload);
      case 'product_settle':
        return product.settle(o, this.ctx, tx.from, tx.payload, d.id);
      case 'product_set_oracles':
        return product.setOracles(o, this.ctx, tx.from, tx.payload);
      case 'upgrade_schedule':
        return scheduleUpgrade(o, this.ctx, tx.from, tx.payload);
    }
  }

  /** Releases this height's unbondings and, at an epoch boundary, writes the next epoch's set. */
  endBlock(): void {
    assert(this.phase !== 'ended', 'endBlock called twice');
    this.phase = 'ended';
    const h = this.ctx.height;
    // Expiries first: a challenge that closes at this height no longer holds unbondings due now.
    product.expireChallenges(this.overlay, h);
    staking.releaseUnbonding(this.overlay, h, (id) => product.unbondingHeldUntil(this.overlay, id));
    product.expireAttestations(this.overlay, h);
    if (isEpochBoundary(h, this.ctx.params)) {
      // Rewards first: a delegation pool they grow counts in the next epoch's set.
      if (this.ctx.treasury !== undefined) product.payEpochRewards(this.overlay, { height: h, params: this.ctx.params, treasury: this.ctx.treasury });
      this.writeNextEpoch(h);
    }
  }

  /**
   * Writes `epoch/<n>` for the epoch starting at h + 1 from the validators'
   * state now. If no validator is eligible, the current set is kept: an empty
   * set could never sign again, so the chain would halt for good.
   */
  private writeNextEpoch(h: number): void {
    const o = this.overlay;
    const next = epochOf(h + 1, this.ctx.params);
    const ids = (o.get(VALIDATOR_INDEX_KEY) as ValidatorIndex | undefined)?.ids ?? [];
    const validators: Validator[] = [];
    for (const id of ids) {
      const v = staking.getValidator(o, id);
      if (v !== undefined) validators.push(v);
    }
    let selected = selectEpochValidators(validators, this.ctx.params.maxValidators);
    if (selected.length === 0) selected = [...(readEpoch(o, next - 1)?.validators ?? [])];
    o.set(epochKey(next), { epoch: next, startHeight: h + 1, validators: selected });
  }

  get changes(): StateChanges {
    return this.overlay.changes;
  }
}

/**
 * Executes a block received from elsewhere: beginBlock, every tx, endBlock.
 * Invalid evidence, or any tx that may not be in a block, makes the whole
 * block invalid (INVALID_BLOCK).
 */
export function executeBlockTxs(
  base: StateReader,
  input: BlockInput | readonly DecodedTx[],
  ctx: BlockContext,
): { changes: StateChanges; results: TxResult[] } {
  // @deprecated form: a bare tx list is a block without evidence or lastCommit (no downtime records).
  const block: BlockInput = isTxList(input) ? { txs: input, lastCommit: null, evidence: [] } : input;
  const ex = new BlockExecution(base, ctx);
  ex.beginBlock({ lastCommit: block.lastCommit, evidence: block.evidence });
  block.txs.forEach((d, i) => {
    try {
      ex.apply(d);
    } catch (e) {
      if (e instanceof FastposError) throw new FastposError(ErrorCode.INVALID_BLOCK, `tx ${i} (${d.id}) may not be in a block: ${e.code}: ${e.message}`);
      throw e;
    }
  });
  ex.endBlock();
  return { changes: ex.changes, results: ex.results };
}

function isTxList(input: BlockInput | readonly DecodedTx[]): input is readonly DecodedTx[] {
  return Array.isArray(input);
}
