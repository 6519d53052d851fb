/**
 * Domain types of fastpos. Amounts are `bigint` in code and decimal strings on
 * the wire (protocol §1). Nothing in this folder does any work: it only names
 * the shapes that every other part shares.
 * @module
 */

/** 40 lowercase hex chars: first 20 bytes of sha256(pubKey) (protocol §2). */
export type Address = string;
/** Lowercase hex without 0x. */
export type Hex = string;

export const TX_KINDS = [
  'transfer',
  'validator_set_work_weight',
  'validator_bond',
  'validator_unbond',
  'validator_slash',
  'validator_jail',
  'validator_unjail',
  'delegation_delegate',
  'delegation_undelegate',
  'product_attest',
  'product_challenge',
  'product_resolve_challenge',
  'product_settle',
] as const;
export type TxKind = (typeof TX_KINDS)[number];

export interface TransferPayload {
  readonly to: Address;
  readonly amount: bigint;
}

/** Sets a validator's work weight (basis points); only a governance account may send it. */
export interface SetWorkWeightPayload {
  readonly validatorId: Address;
  readonly workWeight: number;
}

interface TxBase {
  readonly chainId: string;
  readonly from: Address;
  readonly pubKey: Hex;
  readonly nonce: number;
  readonly fee: bigint;
  readonly signature: Hex;
}

export interface TransferTx extends TxBase {
  readonly kind: 'transfer';
  readonly payload: TransferPayload;
}

export interface SetWorkWeightTx extends TxBase {
  readonly kind: 'validator_set_work_weight';
  readonly payload: SetWorkWeightPayload;
}

/** A signed transaction in domain form (protocol §3), one variant per kind this version executes. */
export type Tx = TransferTx | SetWorkWeightTx;

/** A tx before it is signed. */
export type UnsignedTx = Tx extends infer T ? (T extends Tx ? Omit<T, 'signature'> : never) : never;

/** A tx together with what codec derived from it once: its id and sizes. */
export interface DecodedTx {
  readonly tx: Tx;
  /** hex(sha256(signing bytes)) */
  readonly id: Hex;
  /** UTF-8 signing bytes ("fastpos/tx/v1\n" + canonical JSON without signature). */
  readonly signBytes: Uint8Array;
  /** Size of the canonical wire JSON, used for block and mempool byte limits. */
  readonly size: number;
}

export interface Account {
  readonly balance: bigint;
  readonly nonce: number;
}

export interface Validator {
  /** Address of the consensus public key (protocol §4). */
  readonly id: Address;
  readonly pubKey: Hex;
  /** Account that receives this validator's fees. */
  readonly rewardAddress: Address;
  readonly stake: bigint;
  readonly delegated: bigint;
  /** Work weight in basis points: 10000 = neutral (1.0). Scales proposer selection. */
  readonly workWeight: number;
  readonly status: 'active' | 'jailed' | 'unbonding';
}

/** The validator set that signs one height: sorted by id. */
export interface ValidatorSet {
  readonly validators: readonly ValidatorEntry[];
  readonly totalPower: bigint;
  readonly hash: Hex;
}

export interface ValidatorEntry {
  readonly id: Address;
  readonly pubKey: Hex;
  readonly votingPower: bigint;
  /** votingPower scaled by workWeight: the proposer-selection weight. */
  readonly proposerWeight: bigint;
}

export interface BlockHeader {
  readonly version: number;
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly timestamp: number;
  readonly prevHash: Hex;
  readonly proposer: Address;
  readonly txRoot: Hex;
  readonly txCount: number;
  readonly stateRoot: Hex;
  readonly validatorSetHash: Hex;
  /** Hash of the commit certificate of the previous block carried in this block (zero hash at height 1). */
  readonly lastCommitHash: Hex;
}

export interface CommitSignature {
  readonly validatorId: Address;
  readonly signature: Hex;
}

/** Commit certificate: precommits of ≥ 2/3 of voting power for one block (protocol §4). */
export interface Commit {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Hex;
  readonly signatures: readonly CommitSignature[];
}

export interface TxResult {
  readonly success: boolean;
  /** Error code of a failed tx (fee charged, nonce advanced, nothing else changed). */
  readonly error?: string;
}

/** A block as proposed: header, txs and the previous block's certificate. */
export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly DecodedTx[];
  /** Certificate of height-1 agreed by this block (null at height 1). */
  readonly lastCommit: Commit | null;
}

/** A finalized block with its hash, results and its own certificate. */
export interface FinalizedBlock {
  readonly block: Block;
  readonly hash: Hex;
  readonly results: readonly TxResult[];
  readonly commit: Commit;
}

export interface GenesisAccount {
  readonly address: Address;
  readonly balance: bigint;
}

export interface GenesisValidator {
  readonly pubKey: Hex;
  readonly stake: bigint;
  readonly workWeight: number;
  readonly rewardAddress?: Address;
}

export interface ChainParams {
  /** Smallest fee a tx may carry. */
  readonly minFee: bigint;
  /** Where fees go: the proposer's reward address, or the treasury. */
  readonly feeRecipient: 'proposer' | 'treasury';
  readonly maxBlockTxs: number;
  readonly maxBlockBytes: number;
  readonly maxTxBytes: number;
  /** Accounts allowed to send governance txs (e.g. validator_set_work_weight). */
  readonly governance: readonly Address[];
}

export interface Genesis {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly treasury: Address;
  readonly params: ChainParams;
  readonly accounts: readonly GenesisAccount[];
  readonly validators: readonly GenesisValidator[];
}
