import { accountKey, validatorKey, type StateValue } from '../codec/state.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { Account, Address, ChainParams, DecodedTx, TxResult, Validator } from '../types/index.js';
import type { StateChanges, StateReader } from './worldState.js';

export const ZERO_ACCOUNT: Account = { balance: 0n, nonce: 0 };

export function getAccount(state: StateReader, address: Address): Account {
  return (state.get(accountKey(address)) as Account | undefined) ?? ZERO_ACCOUNT;
}

/** What execution needs to know about the block being built or checked. */
export interface BlockContext {
  readonly chainId: string;
  readonly params: ChainParams;
  /** Account credited with fees (the proposer's reward address, or the treasury). */
  readonly feeRecipient: Address;
}

/**
 * Stateless and account-level validity of a tx, shared by mempool admission and
 * block execution (one rule used twice). Signature validity is checked before
 * this (codec decodes, the node verifies signatures in parallel); everything
 * here is cheap. `minNonce` is the account's next nonce; admission allows any
 * nonce at or above it within its window, execution requires equality.
 */
export function validateTxBasics(d: DecodedTx, ctx: BlockContext): void {
  const { tx } = d;
  if (tx.chainId !== ctx.chainId) throw new FastposError(ErrorCode.WRONG_CHAIN_ID, `chainId must be ${ctx.chainId}, got ${tx.chainId}`);
  if (tx.fee < ctx.params.minFee) throw new FastposError(ErrorCode.FEE_TOO_LOW, `fee must be at least ${ctx.params.minFee}, got ${tx.fee}`);
  if (d.size > ctx.params.maxTxBytes) throw new FastposError(ErrorCode.TX_TOO_LARGE, `tx is ${d.size} bytes, the limit is ${ctx.params.maxTxBytes}`);
}

/** Total the sender must hold for the tx to be admitted: fee plus what the tx spends. */
export function txSpend(d: DecodedTx): bigint {
  return d.tx.kind === 'transfer' ? d.tx.fee + d.tx.payload.amount : d.tx.fee;
}

/**
 * Applies txs one by one on an overlay of a base state. `apply` either includes
 * the tx (returning its result, success or failed) or throws when the tx may not
 * be in a block at all (wrong chain or nonce, fee unpaid): the overlay is then
 * unchanged, so a proposer can skip the tx and go on.
 */
export class BlockExecution {
  private readonly writes = new Map<string, StateValue>();
  readonly results: TxResult[] = [];

  constructor(
    private readonly base: StateReader,
    private readonly ctx: BlockContext,
  ) {}

  private account(address: Address): Account {
    return (this.writes.get(accountKey(address)) as Account | undefined) ?? getAccount(this.base, address);
  }

  private setAccount(address: Address, a: Account): void {
    this.writes.set(accountKey(address), a);
  }

  apply(d: DecodedTx): TxResult {
    validateTxBasics(d, this.ctx);
    const { tx } = d;
    const sender = this.account(tx.from);
    if (tx.nonce !== sender.nonce) {
      throw new FastposError(tx.nonce < sender.nonce ? ErrorCode.NONCE_TOO_LOW : ErrorCode.NONCE_TOO_HIGH, `expected nonce ${sender.nonce}, got ${tx.nonce}`);
    }
    if (sender.balance < tx.fee) {
      throw new FastposError(ErrorCode.INSUFFICIENT_FUNDS, `balance ${sender.balance} cannot pay fee ${tx.fee}`);
    }
    // Fee and nonce: charged whatever the kind's own rule says.
    const afterFee: Account = { balance: sender.balance - tx.fee, nonce: sender.nonce + 1 };
    this.setAccount(tx.from, afterFee);
    const recipient = this.account(this.ctx.feeRecipient);
    this.setAccount(this.ctx.feeRecipient, { balance: recipient.balance + tx.fee, nonce: recipient.nonce });

    const result = this.applyKind(d);
    this.results.push(result);
    return result;
  }

  private applyKind(d: DecodedTx): TxResult {
    const { tx } = d;
    switch (tx.kind) {
      case 'transfer': {
        const { to, amount } = tx.payload;
        const from = this.account(tx.from);
        if (from.balance < amount) return { success: false, error: ErrorCode.INSUFFICIENT_FUNDS };
        this.setAccount(tx.from, { balance: from.balance - amount, nonce: from.nonce });
        const dest = this.account(to);
        this.setAccount(to, { balance: dest.balance + amount, nonce: dest.nonce });
        return { success: true };
      }
      case 'validator_set_work_weight': {
        if (!this.ctx.params.governance.includes(tx.from)) return { success: false, error: ErrorCode.FORBIDDEN };
        const key = validatorKey(tx.payload.validatorId);
        const v = (this.writes.get(key) ?? this.base.get(key)) as Validator | undefined;
        if (v === undefined) return { success: false, error: ErrorCode.NOT_FOUND };
        this.writes.set(key, { ...v, workWeight: tx.payload.workWeight });
        return { success: true };
      }
    }
  }

  get changes(): StateChanges {
    return this.writes;
  }
}

/**
 * Executes all txs of a block received from elsewhere. Any tx that may not be
 * in a block makes the whole block invalid.
 */
export function executeBlockTxs(base: StateReader, txs: readonly DecodedTx[], ctx: BlockContext): { changes: StateChanges; results: TxResult[] } {
  const ex = new BlockExecution(base, ctx);
  txs.forEach((d, i) => {
    try {
      ex.apply(d);
    } catch (e) {
      if (e instanceof FastposError) throw new FastposError(ErrorCode.INVALID_BLOCK, `tx ${i} (${d.id}) may not be in a block: ${e.code}: ${e.message}`);
      throw e;
    }
  });
  return { changes: ex.changes, results: ex.results };
}
