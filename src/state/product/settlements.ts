/**
 * Settlements of product users' payments, once per (payer, reference).
 * @module
 */
import { settlementKey, accountKey, validatorKey } from '../../codec/state.js';
import { ErrorCode } from '../../errors.js';
import type { Account, Address, ProductSettlePayload, Settlement, Validator } from '../../types/index.js';
import { epochOf } from '../epochs.js';
import type { Overlay } from '../overlay.js';
import type { StateReader } from '../worldState.js';
import { credit, productParams, type ProductTxContext, type RuleResult } from './common.js';


/** What a settlement of `amount` costs: the protocol fee ceil(amount × settlementFeeBps / 10,000) (dust cannot avoid it) and the net. */
export function settlementQuote(amount: bigint, feeBps: number): { protocolFee: bigint; net: bigint } {
  const fee = (amount * BigInt(feeBps) + 9_999n) / 10_000n;
  const protocolFee = fee > amount ? amount : fee;
  return { protocolFee, net: amount - protocolFee };
}

export function getSettlement(state: StateReader, payer: Address, reference: string): Settlement | undefined {
  return state.get(settlementKey(payer, reference)) as Settlement | undefined;
}

/**
 * product_settle: the payer pays `amount` for (payer, reference) — once: a
 * second settlement of the pair fails SETTLEMENT_EXISTS whatever it says —
 * the protocol fee to the treasury and the rest to the validator's operator.
 * A settlement that fails does not use up its reference.
 */
export function settle(o: Overlay, ctx: ProductTxContext, from: Address, p: ProductSettlePayload, txId: string): RuleResult {
  if (getSettlement(o, from, p.reference) !== undefined) return ErrorCode.SETTLEMENT_EXISTS;
  const v = o.get(validatorKey(p.validatorId)) as Validator | undefined;
  if (v === undefined) return ErrorCode.NOT_FOUND;
  const payer = (o.get(accountKey(from)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
  if (payer.balance < p.amount) return ErrorCode.INSUFFICIENT_FUNDS;
  const feeBps = productParams(o).settlementFeeBps;
  const { protocolFee, net } = settlementQuote(p.amount, feeBps);
  o.set(accountKey(from), { balance: payer.balance - p.amount, nonce: payer.nonce });
  // Without a treasury (a context that names none) the protocol fee stays with the validator.
  if (ctx.treasury === undefined) credit(o, v.rewardAddress, p.amount);
  else {
    credit(o, ctx.treasury, protocolFee);
    credit(o, v.rewardAddress, net);
  }
  const receipt: Settlement = {
    id: txId,
    payer: from,
    reference: p.reference,
    validatorId: p.validatorId,
    net,
    amount: p.amount,
    protocolFee,
    feeBps,
    height: ctx.height,
    epoch: epochOf(ctx.height, ctx.params),
  };
  o.set(settlementKey(from, p.reference), receipt);
  return null;
}

