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
  'product_set_oracles',
  'upgrade_schedule',
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

/** Bonds self stake: creates the validator of `pubKey` (operator = sender) or tops up its stake. */
export interface BondPayload {
  /** Consensus public key (64 hex); the validator id is its address. */
  readonly pubKey: Hex;
  readonly amount: bigint;
}

/** Operator's self-unbond, or a delegation/undelegation: a validator and an amount of tokens. */
export interface ValidatorAmountPayload {
  readonly validatorId: Address;
  readonly amount: bigint;
}

/** Governance slash of a fraction of a validator's tokens (no jail). */
export interface GovernanceSlashPayload {
  readonly validatorId: Address;
  /** 1..10000 basis points. */
  readonly fractionBps: number;
}

/** Double-sign slash by evidence (anyone may send it). */
export interface EvidenceSlashPayload {
  readonly evidence: Evidence;
}

export type SlashPayload = GovernanceSlashPayload | EvidenceSlashPayload;

export interface JailPayload {
  readonly validatorId: Address;
  /** At least 1. */
  readonly jailBlocks: number;
}

export interface UnjailPayload {
  readonly validatorId: Address;
}

/** Message types that can form equivocation evidence. */
export const EVIDENCE_MESSAGE_TYPES = ['proposal', 'prevote', 'precommit'] as const;
export type EvidenceMessageType = (typeof EVIDENCE_MESSAGE_TYPES)[number];

/** A signed validator-network envelope (protocol §6), as kept in evidence. */
export interface SignedMessage {
  readonly type: EvidenceMessageType;
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly validatorId: Address;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly signature: Hex;
}

/** Equivocation evidence: two different messages one validator signed for one (type, height, round). */
export interface Evidence {
  readonly a: SignedMessage;
  readonly b: SignedMessage;
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

export interface BondTx extends TxBase {
  readonly kind: 'validator_bond';
  readonly payload: BondPayload;
}

export interface UnbondTx extends TxBase {
  readonly kind: 'validator_unbond';
  readonly payload: ValidatorAmountPayload;
}

export interface DelegateTx extends TxBase {
  readonly kind: 'delegation_delegate';
  readonly payload: ValidatorAmountPayload;
}

export interface UndelegateTx extends TxBase {
  readonly kind: 'delegation_undelegate';
  readonly payload: ValidatorAmountPayload;
}

export interface SlashTx extends TxBase {
  readonly kind: 'validator_slash';
  readonly payload: SlashPayload;
}

export interface JailTx extends TxBase {
  readonly kind: 'validator_jail';
  readonly payload: JailPayload;
}

export interface UnjailTx extends TxBase {
  readonly kind: 'validator_unjail';
  readonly payload: UnjailPayload;
}

/** A signed transaction in domain form (protocol §3), one variant per kind this version executes. */
/** An oracle's attestation of a validator's work score for a completed epoch (product layer). */
export interface ProductAttestPayload {
  readonly validatorId: Address;
  readonly epoch: number;
  /** Work score in basis points of neutral work (10,000 = neutral), 0..1,000,000: the scale of workWeight. */
  readonly score: number;
  /** Where the proof of the work is: a hash or a URI (1..256 printable ASCII characters). */
  readonly proofRef: string;
}

export interface ProductAttestTx extends TxBase {
  readonly kind: 'product_attest';
  readonly payload: ProductAttestPayload;
}

/** Anyone challenges a finalized proof, with a bond. */
export interface ProductChallengePayload {
  readonly proofId: Hex;
}

export interface ProductChallengeTx extends TxBase {
  readonly kind: 'product_challenge';
  readonly payload: ProductChallengePayload;
}

/** An oracle's vote on an open challenge: upheld (the proof was fraudulent) or not. */
export interface ProductResolvePayload {
  readonly challengeId: Hex;
  readonly upheld: boolean;
}

/** A product user's payment to a validator, keyed by (payer, reference): once per pair, for the chain's life. */
export interface ProductSettlePayload {
  readonly validatorId: Address;
  readonly amount: bigint;
  /** The payer's reference (an invoice or order id): 1..128 printable ASCII characters. */
  readonly reference: string;
}

export interface ProductSettleTx extends TxBase {
  readonly kind: 'product_settle';
  readonly payload: ProductSettlePayload;
}

/** Governance replaces the oracle set (its version goes up: reports and votes of the old set stop counting). */
export interface ProductSetOraclesPayload {
  readonly oracles: readonly { readonly address: Address; readonly stake: bigint }[];
}

export interface ProductSetOraclesTx extends TxBase {
  readonly kind: 'product_set_oracles';
  readonly payload: ProductSetOraclesPayload;
}

/**
 * Governance schedules a named rule change (`upgrade/<name>`) to take effect
 * at `height`, or cancels a scheduled one that is not in effect yet (height 0).
 */
export interface UpgradeSchedulePayload {
  readonly name: string;
  readonly height: number;
}

export interface UpgradeScheduleTx extends TxBase {
  readonly kind: 'upgrade_schedule';
  readonly payload: UpgradeSchedulePayload;
}

export interface ProductResolveTx extends TxBase {
  readonly kind: 'product_resolve_challenge';
  readonly payload: ProductResolvePayload;
}

export type Tx = TransferTx | SetWorkWeightTx | BondTx | UnbondTx | DelegateTx | UndelegateTx | SlashTx | JailTx | UnjailTx | ProductAttestTx | ProductChallengeTx | ProductResolveTx | ProductSettleTx | ProductSetOraclesTx | UpgradeScheduleTx;

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
  /** Canonical wire JSON of the tx (with its signature), written once at decoding. */
  readonly json: string;
}

export interface Account {
  readonly balance: bigint;
  readonly nonce: number;
}

export type ValidatorStatus = 'active' | 'jailed' | 'unbonding';

export type SlashReason = 'double_sign' | 'downtime' | 'governance' | 'product_challenge';

/** One slash applied to a validator, as recorded in its state entry. */
export interface SlashRecord {
  /** Height of the block that applied the slash. */
  readonly height: number;
  /** Height of the fault; unbonding entries created at or after it were cut too. */
  readonly infractionHeight: number;
  readonly reason: SlashReason;
  readonly fractionBps: number;
  /** Tokens removed from the supply: self stake + delegation pool + unbonding entries. */
  readonly burned: bigint;
}

export interface Validator {
  /** Address of the consensus public key (protocol §4). */
  readonly id: Address;
  readonly pubKey: Hex;
  /**
   * The operator account: it bonded the validator, owns the self stake, may
   * top it up, unbond and unjail, and receives this validator's fees.
   */
  readonly rewardAddress: Address;
  /** Self-bonded tokens, owned by the operator. */
  readonly stake: bigint;
  /** Tokens of the delegation pool. */
  readonly delegated: bigint;
  /** Total shares of the delegation pool (a delegator owns shares/delegatorShares of `delegated`). */
  readonly delegatorShares: bigint;
  /** Work weight in basis points: 10000 = neutral (1.0). Scales proposer selection. */
  readonly workWeight: number;
  /**
   * active: eligible for the next epoch's set; jailed: punished, until the
   * operator unjails it at or after `jailedUntil`; unbonding: self stake below
   * minSelfBond (a top-up makes it active again).
   */
  readonly status: ValidatorStatus;
  /** First height at which an unjail is allowed (0 when never jailed). */
  readonly jailedUntil: number;
  /** Heights missed within the downtime window, ascending. */
  readonly missed: readonly number[];
  readonly slashes: readonly SlashRecord[];
}

/** `del/<delegator>`: the delegator's shares in each validator's pool. */
export interface Delegation {
  readonly shares: Readonly<Record<Address, bigint>>;
}

/** One pending unbonding: `amount` is paid to `delegator` at the bucket's completion height. */
export interface UnbondingEntry {
  readonly validatorId: Address;
  /** Account credited on release (the operator for a self-unbond). */
  readonly delegator: Address;
  readonly amount: bigint;
  readonly creationHeight: number;
}

/** `unb/<completionHeight>`: the unbondings that complete at that height, in creation order. */
export interface UnbondingBucket {
  readonly entries: readonly UnbondingEntry[];
}

/** `epoch/<n>`: the validator set that signs every height of epoch n. */
export interface EpochRecord {
  readonly epoch: number;
  readonly startHeight: number;
  /** Sorted by id. */
  readonly validators: readonly ValidatorEntry[];
}

/** `evused/<validatorId>/<height>`: a double sign at that height was punished. */
export interface EvidenceUsed {
  /** Id of the evidence that was applied. */
  readonly evidenceId: Hex;
  /** Height of the block that applied it. */
  readonly usedAt: number;
}

/**
 * `dsp/<validatorId>`: the validator's latest punishment for double signing.
 * Double signs committed before `unjailedAt` (all of them while it is null)
 * are covered by that punishment: a validator is punished at most once for
 * the double signs of one spell, however many heights they span.
 */
export interface DoubleSignPunishment {
  /** Height of the block that slashed and jailed the validator. */
  readonly punishedAt: number;
  /** Height of the double sign that was punished. */
  readonly infractionHeight: number;
  /** Height of the block in which the validator unjailed afterwards, or null while it has not. */
  readonly unjailedAt: number | null;
}

/**
 * `upgrade/<name>`: when a named rule change takes effect. Blocks at heights
 * ≥ `height` follow the new rule; `height` 0 means not scheduled (left out of
 * a genesis schedule, or cancelled before it took effect).
 */
export interface UpgradeRecord {
  readonly height: number;
  /** Height of the block whose governance tx set it (0: the genesis). */
  readonly scheduledAt: number;
}

/** `index/upgrades`: the name of every `upgrade/<name>` record, sorted. */
export interface UpgradeIndex {
  readonly names: readonly string[];
}

/** `index/validators`: the ids of every validator ever created, sorted. */
export interface ValidatorIndex {
  readonly ids: readonly Address[];
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
  /** Hash of the equivocation evidence this block carries (protocol addition, see docs/api.md). */
  readonly evidenceHash: Hex;
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
  /** Equivocation evidence included by the proposer, applied before the txs. */
  readonly evidence: readonly Evidence[];
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
  /** Heights per epoch: the validator set changes only at epoch boundaries. */
  readonly epochLengthBlocks: number;
  /** Largest size of an epoch's validator set (top voting power, ties by lower id). */
  readonly maxValidators: number;
  /** Blocks between an unbond/undelegate and the release of its tokens. */
  readonly unbondingPeriodBlocks: number;
  /** Self stake an active validator must keep. */
  readonly minSelfBond: bigint;
  /** Slash fractions in basis points (0..10000). */
  readonly slashDoubleSignBps: number;
  readonly slashDowntimeBps: number;
  /** Jail lengths in blocks. */
  readonly jailDoubleSignBlocks: number;
  readonly jailDowntimeBlocks: number;
  /** Downtime: jailed when more than downtimeMaxMissed of the last downtimeWindowBlocks heights were missed. */
  readonly downtimeWindowBlocks: number;
  readonly downtimeMaxMissed: number;
  /** Evidence older than this many blocks is refused. */
  readonly evidenceMaxAgeBlocks: number;
}

/**
 * The genesis accounts in their order: an array (every in-memory genesis), or
 * a source that yields them again on each iteration without holding them all.
 */
export interface GenesisAccounts extends Iterable<GenesisAccount> {
  readonly length: number;
}

export interface Genesis {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly treasury: Address;
  readonly params: ChainParams;
  /** An array, or a source that reads them again when iterated (a large genesis file). */
  readonly accounts: GenesisAccounts;
  readonly validators: readonly GenesisValidator[];
  /** The product layer's oracle set and rules; absent: no oracles, default rules. */
  readonly product?: ProductGenesis;
  /**
   * Named rule changes and the height each takes effect at, sorted by height
   * then name. Absent: every rule change of `DEFAULT_UPGRADES` is in effect
   * from height 1; present: exactly the listed ones, at their heights.
   */
  readonly upgrades?: readonly GenesisUpgrade[];
}

/** One entry of the genesis `upgrades` section. */
export interface GenesisUpgrade {
  readonly name: string;
  /** First height whose blocks follow the new rule (≥ 1). */
  readonly height: number;
}

// ---------------------------------------------------------------- product layer

/** An oracle of the product layer and its voting stake. */
export interface OracleEntry {
  readonly address: Address;
  readonly stake: bigint;
}

/** The oracle set; `version` changes with every change of the set (attestations name the set they count in). */
export interface OracleSet {
  readonly version: number;
  /** Sorted by address. */
  readonly oracles: readonly OracleEntry[];
}

export interface ProductParams {
  /** An attestation finalizes once its oracles hold more than quorumBps / 10,000 of the set's stake. */
  readonly quorumBps: number;
  /** Blocks a pending attestation waits for its quorum before it is dropped. */
  readonly attestationTtlBlocks: number;
  /** Weight of a new score in a validator's workWeight: w' = round((α·score + (10,000 − α)·w) / 10,000). */
  readonly workWeightSmoothingBps: number;
  /** Paid by the treasury at each epoch transition (at most its balance) for the proofs of the epoch before; 0 = none. */
  readonly rewardPerEpoch: bigint;
  /** A validator's commission on its reward before the rest is shared with its delegators. */
  readonly commissionBps: number;
  /** Bond a challenger locks: this fixed part plus challengeBondRewardBps of the reward paid for the proof. */
  readonly challengeBond: bigint;
  readonly challengeBondRewardBps: number;
  /** Blocks after a proof's finalization during which it may be challenged. */
  readonly challengeWindowBlocks: number;
  /** Blocks after a challenge opens before oracles may resolve it. */
  readonly challengeResolveDelayBlocks: number;
  /** Blocks after it becomes resolvable until an unresolved challenge expires (bond returned). */
  readonly challengeResolveDeadlineBlocks: number;
  /** Slash of an upheld challenge's validator, and its jail length. */
  readonly challengeSlashBps: number;
  readonly challengeJailBlocks: number;
  /** The challenger's share of what the slash took (the rest is burned). */
  readonly challengerRewardBps: number;
  /** Protocol fee of a settlement, to the treasury: ceil(amount × settlementFeeBps / 10,000). */
  readonly settlementFeeBps: number;
}

/** A settlement's receipt (`psettle/<payer>/<referenceHash>`). */
export interface Settlement {
  /** The id of the tx that made it. */
  readonly id: Hex;
  readonly payer: Address;
  readonly reference: string;
  readonly validatorId: Address;
  /** To the validator's operator: amount − protocolFee. */
  readonly net: bigint;
  readonly amount: bigint;
  readonly protocolFee: bigint;
  /** The rate the protocol fee was computed with. */
  readonly feeBps: number;
  readonly height: number;
  readonly epoch: number;
}

export type ChallengeStatus = 'open' | 'upheld' | 'rejected' | 'expired';

export interface ChallengeVote {
  readonly oracle: Address;
  readonly upheld: boolean;
  readonly height: number;
}

/** A challenge of a proof (`pchal/<id>`; its id is the id of the tx that opened it). */
export interface ProductChallenge {
  readonly id: Hex;
  readonly proofId: Hex;
  readonly validatorId: Address;
  readonly epoch: number;
  readonly challenger: Address;
  /** Locked in the challenge while it is open. */
  readonly bond: bigint;
  readonly openedAt: number;
  readonly resolvableAt: number;
  /** Height at whose end an unresolved challenge expires. */
  readonly expiresAt: number;
  readonly oracleSetVersion: number;
  /** Sorted by oracle address. */
  readonly votes: readonly ChallengeVote[];
  readonly status: ChallengeStatus;
  readonly closedAt: number | null;
  /** Upheld: what the slash took, the challenger's share of it, and the reward taken back from the operator. */
  readonly slashed: bigint;
  readonly challengerReward: bigint;
  readonly clawedBack: bigint;
}

/** A validator's open challenges (`pvopen/<validatorId>`): how many, and the latest of their deadlines. */
export interface OpenChallenges {
  readonly count: number;
  readonly until: number;
}

/** Challenges that expire at the end of a height (`pchexp/<height>`). */
export interface ChallengeExpiryBucket {
  readonly ids: readonly Hex[];
}

/** The validators with a finalized proof of an epoch (`pepoch/<epoch>`), sorted. */
export interface EpochProofIndex {
  readonly validatorIds: readonly Address[];
}

/** What one validator received for an epoch's proof. */
export interface RewardPayout {
  readonly validatorId: Address;
  readonly score: number;
  /** Its share of the epoch's pool: floor(pool × score / total score). */
  readonly amount: bigint;
  /** floor(amount × commissionBps / 10,000), to the operator. */
  readonly commission: bigint;
  /** The self-stake part of the rest, to the operator. */
  readonly toOperator: bigint;
  /** The delegation pool's part of the rest, added to the pool (its shares are worth more). */
  readonly toDelegators: bigint;
}

/** The rewards paid for an epoch (`preward/<epoch>`). */
export interface EpochRewards {
  readonly epoch: number;
  readonly paidAt: number;
  /** min(rewardPerEpoch, treasury balance) at the transition. */
  readonly pool: bigint;
  readonly paid: bigint;
  /** pool − paid: the rounding remainder, left in the treasury. */
  readonly remainder: bigint;
  readonly payouts: readonly RewardPayout[];
}

export interface ProductGenesis {
  readonly oracles: readonly OracleEntry[];
  readonly params: ProductParams;
}

/** One oracle's report in a pending attestation. */
export interface OracleReport {
  readonly oracle: Address;
  readonly score: number;
  readonly proofRef: string;
  readonly height: number;
}

/** Reports for (validator, epoch) that have not reached the quorum yet. */
export interface PendingAttestation {
  readonly validatorId: Address;
  readonly epoch: number;
  readonly oracleSetVersion: number;
  readonly createdHeight: number;
  readonly expiresAt: number;
  /** Sorted by oracle address. */
  readonly reports: readonly OracleReport[];
}

/** Pending attestations dropped at the end of a height (`pexp/<height>`). */
export interface AttestationExpiryBucket {
  readonly attestations: readonly { readonly validatorId: Address; readonly epoch: number }[];
}

export type ProductProofStatus = 'finalized' | 'invalidated';

/** A finalized attestation: the validator's work score for an epoch. */
export interface ProductProof {
  readonly id: Hex;
  readonly validatorId: Address;
  readonly epoch: number;
  readonly score: number;
  readonly proofRef: string;
  /** The oracles whose reports finalized it, sorted. */
  readonly oracles: readonly Address[];
  readonly status: ProductProofStatus;
  readonly finalizedHeight: number;
  readonly workWeightBefore: number;
  readonly workWeightAfter: number;
  /** Ids of its challenges, oldest first. */
  readonly challenges: readonly Hex[];
}
