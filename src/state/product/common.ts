/**
 * What the product layer's rules share: its parameters and their defaults,
 * the oracle set, proof ids and lookups, and the quorum test.
 * @module
 */
import { accountKey, ORACLE_SET_KEY, PRODUCT_PARAMS_KEY, pendingAttestationKey, productProofKey } from '../../codec/state.js';
import { sha256Hex } from '../../crypto/hash.js';
import { ErrorCode } from '../../errors.js';
import type { Account, Address, ChainParams, OracleSet, PendingAttestation, ProductParams, ProductProof } from '../../types/index.js';
import type { Overlay } from '../overlay.js';
import type { StateReader } from '../worldState.js';

export const DEFAULT_PRODUCT_PARAMS: ProductParams = {
  quorumBps: 6667,
  attestationTtlBlocks: 1_000,
  workWeightSmoothingBps: 5_000,
  rewardPerEpoch: 0n,
  commissionBps: 1_000,
  challengeBond: 1_000n,
  challengeBondRewardBps: 1_000,
  challengeWindowBlocks: 300,
  challengeResolveDelayBlocks: 50,
  challengeResolveDeadlineBlocks: 500,
  challengeSlashBps: 500,
  challengeJailBlocks: 1_000,
  challengerRewardBps: 5_000,
  settlementFeeBps: 100,
};

export const EMPTY_ORACLE_SET: OracleSet = { version: 0, oracles: [] };

export interface ProductContext {
  readonly height: number;
  readonly params: Pick<ChainParams, 'epochLengthBlocks'>;
}

/** A rule's outcome: null on success, else the failed tx's code. */
export type RuleResult = ErrorCode | null;

/** What a product tx rule knows of the block it runs in. */
export interface ProductTxContext {
  readonly height: number;
  readonly params: ChainParams;
  /** The treasury: takes protocol fees, forfeited bonds and clawed-back rewards; none: they stay with the payer, challenger or validator. */
  readonly treasury?: Address;
}


export function productParams(state: StateReader): ProductParams {
  return (state.get(PRODUCT_PARAMS_KEY) as ProductParams | undefined) ?? DEFAULT_PRODUCT_PARAMS;
}

export function oracleSet(state: StateReader): OracleSet {
  return (state.get(ORACLE_SET_KEY) as OracleSet | undefined) ?? EMPTY_ORACLE_SET;
}

/** Id of the proof of (validator, epoch): hex(sha256("fastpos/product/proof/v1\n" + validatorId + "/" + epoch)). */
export function proofId(validatorId: Address, epoch: number): string {
  return sha256Hex(`fastpos/product/proof/v1\n${validatorId}/${epoch}`);
}

export function getProof(state: StateReader, id: string): ProductProof | undefined {
  return state.get(productProofKey(id)) as ProductProof | undefined;
}

export function getPendingAttestation(state: StateReader, validatorId: Address, epoch: number): PendingAttestation | undefined {
  return state.get(pendingAttestationKey(validatorId, epoch)) as PendingAttestation | undefined;
}

/** Whether reports holding `reported` of the set's `total` stake pass the quorum: reported / total > quorumBps / 10,000. */
export function passesQuorum(reported: bigint, total: bigint, quorumBps: number): boolean {
  return total > 0n && reported * 10_000n > total * BigInt(quorumBps);
}


/** Adds to an account's balance. */
export function credit(o: Overlay, address: Address, amount: bigint): void {
  if (amount === 0n) return;
  const a = (o.get(accountKey(address)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
  o.set(accountKey(address), { balance: a.balance + amount, nonce: a.nonce });
}
