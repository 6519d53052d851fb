import { ErrorCode, FastposError } from '../errors.js';
import type {
  Account,
  Delegation,
  DoubleSignPunishment,
  EpochRecord,
  EvidenceUsed,
  SlashRecord,
  UnbondingBucket,
  UnbondingEntry,
  Validator,
  ValidatorEntry,
  ValidatorIndex,
  AttestationExpiryBucket,
  OracleEntry,
  OracleReport,
  OracleSet,
  PendingAttestation,
  ProductParams,
  ProductProof,
  EpochProofIndex,
  EpochRewards,
  RewardPayout,
  ChallengeExpiryBucket,
  ChallengeVote,
  ProductChallenge,
  Settlement,
  OpenChallenges,
  UpgradeIndex,
  UpgradeRecord,
} from '../types/index.js';
import { sha256Hex } from '../crypto/hash.js';
import { canonicalJson } from './canonical.js';
import { UPGRADE_NAME_RE } from './tx.js';

/**
 * The state is a map from string keys to typed values. Each key's prefix names
 * its type; the canonical JSON of a value is what storage writes and what the
 * state commitment hashes. Amounts are decimal strings (protocol §1).
 *
 * | key | value |
 * |---|---|
 * | `acct/<address>` | Account |
 * | `val/<validatorId>` | Validator |
 * | `del/<delegator>` | Delegation: shares per validator |
 * | `unb/<completionHeight>` | UnbondingBucket: unbondings released at the end of that height |
 * | `epoch/<n>` | EpochRecord: the validator set of epoch n |
 * | `evused/<validatorId>/<height>` | EvidenceUsed: that double sign was punished |
 * | `dsp/<validatorId>` | DoubleSignPunishment: the validator's latest double-sign punishment |
 * | `index/validators` | ValidatorIndex: every validator id, sorted |
 * | `upgrade/<name>` | UpgradeRecord: the height a named rule change takes effect at (0: not scheduled) |
 * | `index/upgrades` | UpgradeIndex: the name of every `upgrade/` record, sorted |
 * | `product/oracles` | OracleSet: the product layer's oracles and their stake |
 * | `product/params` | ProductParams: the product layer's rules (absent: the defaults) |
 * | `pattest/<validatorId>/<epoch>` | PendingAttestation: reports short of the quorum |
 * | `pexp/<height>` | AttestationExpiryBucket: pending attestations dropped at the end of that height |
 * | `pproof/<proofId>` | ProductProof: a finalized attestation |
 * | `pepoch/<epoch>` | EpochProofIndex: the validators with a finalized proof of that epoch |
 * | `preward/<epoch>` | EpochRewards: what the treasury paid for that epoch's proofs |
 * | `pchal/<challengeId>` | ProductChallenge: a challenge of a proof and its votes |
 * | `pchexp/<height>` | ChallengeExpiryBucket: challenges that expire at the end of that height |
 * | `psettle/<payer>/<sha256(reference)>` | Settlement: the receipt of (payer, reference), kept for the chain's life |
 * | `pvopen/<validatorId>` | OpenChallenges: the validator's open challenges (its unbondings are held until they close) |
 */
export const KEY_PREFIX = {
  account: 'acct/',
  validator: 'val/',
  delegation: 'del/',
  unbonding: 'unb/',
  epoch: 'epoch/',
  evidenceUsed: 'evused/',
  doubleSign: 'dsp/',
  pendingAttestation: 'pattest/',
  attestationExpiry: 'pexp/',
  productProof: 'pproof/',
  epochProofs: 'pepoch/',
  epochRewards: 'preward/',
  challenge: 'pchal/',
  challengeExpiry: 'pchexp/',
  settlement: 'psettle/',
  openChallenges: 'pvopen/',
  upgrade: 'upgrade/',
} as const;
/** The product layer's parameters, in their state encoding's order; the amounts among them. */
export const PRODUCT_PARAM_FIELDS = [
  'quorumBps',
  'attestationTtlBlocks',
  'workWeightSmoothingBps',
  'rewardPerEpoch',
  'commissionBps',
  'challengeBond',
  'challengeBondRewardBps',
  'challengeWindowBlocks',
  'challengeResolveDelayBlocks',
  'challengeResolveDeadlineBlocks',
  'challengeSlashBps',
  'challengeJailBlocks',
  'challengerRewardBps',
  'settlementFeeBps',
] as const satisfies readonly (keyof ProductParams)[];
export const PRODUCT_AMOUNT_PARAMS: readonly string[] = ['rewardPerEpoch', 'challengeBond'];
export const ORACLE_SET_KEY = 'product/oracles';
export const PRODUCT_PARAMS_KEY = 'product/params';
export const VALIDATOR_INDEX_KEY = 'index/validators';
export const UPGRADE_INDEX_KEY = 'index/upgrades';

export type StateValue =
  | Account
  | Validator
  | Delegation
  | UnbondingBucket
  | EpochRecord
  | EvidenceUsed
  | DoubleSignPunishment
  | ValidatorIndex
  | OracleSet
  | ProductParams
  | PendingAttestation
  | AttestationExpiryBucket
  | ProductProof
  | EpochProofIndex
  | EpochRewards
  | ProductChallenge
  | ChallengeExpiryBucket
  | Settlement
  | OpenChallenges
  | UpgradeRecord
  | UpgradeIndex;

export const accountKey = (address: string): string => KEY_PREFIX.account + address;
export const validatorKey = (id: string): string => KEY_PREFIX.validator + id;
export const delegationKey = (delegator: string): string => KEY_PREFIX.delegation + delegator;
export const unbondingKey = (completionHeight: number): string => KEY_PREFIX.unbonding + completionHeight;
export const epochKey = (epoch: number): string => KEY_PREFIX.epoch + epoch;
export const evidenceUsedKey = (validatorId: string, height: number): string => `${KEY_PREFIX.evidenceUsed}${validatorId}/${height}`;
export const doubleSignKey = (validatorId: string): string => KEY_PREFIX.doubleSign + validatorId;
export const pendingAttestationKey = (validatorId: string, epoch: number): string => `${KEY_PREFIX.pendingAttestation}${validatorId}/${epoch}`;
export const attestationExpiryKey = (height: number): string => KEY_PREFIX.attestationExpiry + height;
export const productProofKey = (proofId: string): string => KEY_PREFIX.productProof + proofId;
export const epochProofsKey = (epoch: number): string => KEY_PREFIX.epochProofs + epoch;
export const epochRewardsKey = (epoch: number): string => KEY_PREFIX.epochRewards + epoch;
export const challengeKey = (id: string): string => KEY_PREFIX.challenge + id;
export const challengeExpiryKey = (height: number): string => KEY_PREFIX.challengeExpiry + height;
export const openChallengesKey = (validatorId: string): string => KEY_PREFIX.openChallenges + validatorId;
export const upgradeKey = (name: string): string => KEY_PREFIX.upgrade + name;
export const settlementKey = (payer: string, reference: string): string => `${KEY_PREFIX.settlement}${payer}/${sha256Hex(reference)}`;

const entryJson = (e: ValidatorEntry) => ({ id: e.id, pubKey: e.pubKey, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() });
const slashJson = (s: SlashRecord) => ({ height: s.height, infractionHeight: s.infractionHeight, reason: s.reason, fractionBps: s.fractionBps, burned: s.burned.toString() });
const unbondingJson = (e: UnbondingEntry) => ({ validatorId: e.validatorId, delegator: e.delegator, amount: e.amount.toString(), creationHeight: e.creationHeight });

export function encodeStateValue(key: string, value: StateValue): string {
  if (key.startsWith(KEY_PREFIX.account)) {
    const a = value as Account;
    // The hot path (every transfer changes two accounts): written out in canonical
    // key order; a test holds it equal to canonicalJson of the same object.
    return Number.isSafeInteger(a.nonce) ? `{"balance":"${a.balance}","nonce":${a.nonce}}` : canonicalJson({ balance: a.balance.toString(), nonce: a.nonce });
  }
  if (key.startsWith(KEY_PREFIX.validator)) {
    const v = value as Validator;
    return canonicalJson({
      id: v.id,
      pubKey: v.pubKey,
      rewardAddress: v.rewardAddress,
      stake: v.stake.toString(),
      delegated: v.delegated.toString(),
      delegatorShares: v.delegatorShares.toString(),
      workWeight: v.workWeight,
      status: v.status,
      jailedUntil: v.jailedUntil,
      missed: [...v.missed],
      slashes: v.slashes.map(slashJson),
    });
  }
  if (key.startsWith(KEY_PREFIX.delegation)) {
    const d = value as Delegation;
    const shares: Record<string, string> = {};
    for (const [id, s] of Object.entries(d.shares)) shares[id] = s.toString();
    return canonicalJson({ shares });
  }
  if (key.startsWith(KEY_PREFIX.unbonding)) {
    return canonicalJson({ entries: (value as UnbondingBucket).entries.map(unbondingJson) });
  }
  if (key.startsWith(KEY_PREFIX.epoch)) {
    const e = value as EpochRecord;
    return canonicalJson({ epoch: e.epoch, startHeight: e.startHeight, validators: e.validators.map(entryJson) });
  }
  if (key.startsWith(KEY_PREFIX.evidenceUsed)) {
    const u = value as EvidenceUsed;
    return canonicalJson({ evidenceId: u.evidenceId, usedAt: u.usedAt });
  }
  if (key.startsWith(KEY_PREFIX.doubleSign)) {
    const d = value as DoubleSignPunishment;
    return canonicalJson({ punishedAt: d.punishedAt, infractionHeight: d.infractionHeight, unjailedAt: d.unjailedAt });
  }
  if (key === VALIDATOR_INDEX_KEY) return canonicalJson({ ids: [...(value as ValidatorIndex).ids] });
  if (key === UPGRADE_INDEX_KEY) return canonicalJson({ names: [...(value as UpgradeIndex).names] });
  if (key.startsWith(KEY_PREFIX.upgrade)) {
    const u = value as UpgradeRecord;
    return canonicalJson({ height: u.height, scheduledAt: u.scheduledAt });
  }
  if (key === ORACLE_SET_KEY) {
    const o = value as OracleSet;
    return canonicalJson({ version: o.version, oracles: o.oracles.map((x) => ({ address: x.address, stake: x.stake.toString() })) });
  }
  if (key === PRODUCT_PARAMS_KEY) {
    const p = value as ProductParams;
    const out: Record<string, unknown> = {};
    for (const k of PRODUCT_PARAM_FIELDS) out[k] = typeof p[k] === 'bigint' ? p[k].toString() : p[k];
    return canonicalJson(out);
  }
  if (key.startsWith(KEY_PREFIX.pendingAttestation)) {
    const a = value as PendingAttestation;
    return canonicalJson({
      validatorId: a.validatorId,
      epoch: a.epoch,
      oracleSetVersion: a.oracleSetVersion,
      createdHeight: a.createdHeight,
      expiresAt: a.expiresAt,
      reports: a.reports.map((r) => ({ oracle: r.oracle, score: r.score, proofRef: r.proofRef, height: r.height })),
    });
  }
  if (key.startsWith(KEY_PREFIX.attestationExpiry)) {
    return canonicalJson({ attestations: (value as AttestationExpiryBucket).attestations.map((a) => ({ validatorId: a.validatorId, epoch: a.epoch })) });
  }
  if (key.startsWith(KEY_PREFIX.productProof)) {
    const p = value as ProductProof;
    return canonicalJson({
      id: p.id,
      validatorId: p.validatorId,
      epoch: p.epoch,
      score: p.score,
      proofRef: p.proofRef,
      oracles: [...p.oracles],
      status: p.status,
      finalizedHeight: p.finalizedHeight,
      workWeightBefore: p.workWeightBefore,
      workWeightAfter: p.workWeightAfter,
      challenges: [...p.challenges],
    });
  }
  if (key.startsWith(KEY_PREFIX.openChallenges)) {
    const r = value as OpenChallenges;
    return canonicalJson({ count: r.count, until: r.until });
  }
  if (key.startsWith(KEY_PREFIX.settlement)) {
    const x = value as Settlement;
    return canonicalJson({
      id: x.id,
      payer: x.payer,
      reference: x.reference,
      validatorId: x.validatorId,
      net: x.net.toString(),
      amount: x.amount.toString(),
      protocolFee: x.protocolFee.toString(),
      feeBps: x.feeBps,
      height: x.height,
      epoch: x.epoch,
    });
  }
  if (key.startsWith(KEY_PREFIX.challengeExpiry)) return canonicalJson({ ids: [...(value as ChallengeExpiryBucket).ids] });
  if (key.startsWith(KEY_PREFIX.challenge)) {
    const c = value as ProductChallenge;
    return canonicalJson({
      id: c.id,
      proofId: c.proofId,
      validatorId: c.validatorId,
      epoch: c.epoch,
      challenger: c.challenger,
      bond: c.bond.toString(),
      openedAt: c.openedAt,
      resolvableAt: c.resolvableAt,
      expiresAt: c.expiresAt,
      oracleSetVersion: c.oracleSetVersion,
      votes: c.votes.map((v) => ({ oracle: v.oracle, upheld: v.upheld, height: v.height })),
      status: c.status,
      closedAt: c.closedAt,
      slashed: c.slashed.toString(),
      challengerReward: c.challengerReward.toString(),
      clawedBack: c.clawedBack.toString(),
    });
  }
  if (key.startsWith(KEY_PREFIX.epochProofs)) return canonicalJson({ validatorIds: [...(value as EpochProofIndex).validatorIds] });
  if (key.startsWith(KEY_PREFIX.epochRewards)) {
    const r = value as EpochRewards;
    return canonicalJson({
      epoch: r.epoch,
      paidAt: r.paidAt,
      pool: r.pool.toString(),
      paid: r.paid.toString(),
      remainder: r.remainder.toString(),
      payouts: r.payouts.map((x) => ({
        validatorId: x.validatorId,
        score: x.score,
        amount: x.amount.toString(),
        commission: x.commission.toString(),
        toOperator: x.toOperator.toString(),
        toDelegators: x.toDelegators.toString(),
      })),
    });
  }
  throw new TypeError(`unknown state key ${key}`);
}

// ---------------------------------------------------------------- strict decoding

class Shape {
  constructor(private readonly key: string) {}

  fail(what: string): never {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `state entry ${this.key}: ${what}`);
  }

  obj(v: unknown, where: string, fields: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${where} is not an object`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!fields.includes(k)) this.fail(`${where} has an unknown field "${k}"`);
    for (const k of fields) if (!(k in o)) this.fail(`${where} lacks "${k}"`);
    return o;
  }

  uint(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(`${where} is not a non-negative integer`);
    return v;
  }

  amount(v: unknown, where: string): bigint {
    if (typeof v !== 'string' || !/^(0|[1-9][0-9]*)$/.test(v)) this.fail(`${where} is not a decimal string`);
    return BigInt(v);
  }

  hex(v: unknown, where: string, chars: number): string {
    if (typeof v !== 'string' || v.length !== chars || !/^[0-9a-f]*$/.test(v)) this.fail(`${where} is not ${chars} lowercase hex characters`);
    return v;
  }

  oneOf<T extends string>(v: unknown, where: string, values: readonly T[]): T {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) this.fail(`${where} is not one of ${values.join(', ')}`);
    return v as T;
  }

  text(v: unknown, where: string): string {
    if (typeof v !== 'string') this.fail(`${where} is not a string`);
    return v;
  }

  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(`${where} is not an array`);
    return v;
  }
}

function decodeValidator(s: Shape, j: unknown): Validator {
  const o = s.obj(j, 'validator', ['id', 'pubKey', 'rewardAddress', 'stake', 'delegated', 'delegatorShares', 'workWeight', 'status', 'jailedUntil', 'missed', 'slashes']);
  return {
    id: s.hex(o.id, 'id', 40),
    pubKey: s.hex(o.pubKey, 'pubKey', 64),
    rewardAddress: s.hex(o.rewardAddress, 'rewardAddress', 40),
    stake: s.amount(o.stake, 'stake'),
    delegated: s.amount(o.delegated, 'delegated'),
    delegatorShares: s.amount(o.delegatorShares, 'delegatorShares'),
    workWeight: s.uint(o.workWeight, 'workWeight'),
    status: s.oneOf(o.status, 'status', ['active', 'jailed', 'unbonding'] as const),
    jailedUntil: s.uint(o.jailedUntil, 'jailedUntil'),
    missed: s.array(o.missed, 'missed').map((m, i) => s.uint(m, `missed[${i}]`)),
    slashes: s.array(o.slashes, 'slashes').map((x, i): SlashRecord => {
      const r = s.obj(x, `slashes[${i}]`, ['height', 'infractionHeight', 'reason', 'fractionBps', 'burned']);
      return {
        height: s.uint(r.height, `slashes[${i}].height`),
        infractionHeight: s.uint(r.infractionHeight, `slashes[${i}].infractionHeight`),
        reason: s.oneOf(r.reason, `slashes[${i}].reason`, ['double_sign', 'downtime', 'governance', 'product_challenge'] as const),
        fractionBps: s.uint(r.fractionBps, `slashes[${i}].fractionBps`),
        burned: s.amount(r.burned, `slashes[${i}].burned`),
      };
    }),
  };
}

export function decodeStateValue(key: string, json: string): StateValue {
  let j: unknown;
  try {
    j = JSON.parse(json);
  } catch {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `state entry ${key} is not JSON`);
  }
  const s = new Shape(key);
  if (key.startsWith(KEY_PREFIX.account)) {
    const o = s.obj(j, 'account', ['balance', 'nonce']);
    return { balance: s.amount(o.balance, 'balance'), nonce: s.uint(o.nonce, 'nonce') };
  }
  if (key.startsWith(KEY_PREFIX.validator)) return decodeValidator(s, j);
  if (key.startsWith(KEY_PREFIX.delegation)) {
    const o = s.obj(j, 'delegation', ['shares']);
    if (typeof o.shares !== 'object' || o.shares === null || Array.isArray(o.shares)) s.fail('shares is not an object');
    const raw = o.shares as Record<string, unknown>;
    const shares: Record<string, bigint> = {};
    for (const [id, v] of Object.entries(raw)) shares[s.hex(id, 'shares key', 40)] = s.amount(v, `shares.${id}`);
    return { shares };
  }
  if (key.startsWith(KEY_PREFIX.unbonding)) {
    const o = s.obj(j, 'unbonding bucket', ['entries']);
    return {
      entries: s.array(o.entries, 'entries').map((x, i): UnbondingEntry => {
        const e = s.obj(x, `entries[${i}]`, ['validatorId', 'delegator', 'amount', 'creationHeight']);
        return {
          validatorId: s.hex(e.validatorId, `entries[${i}].validatorId`, 40),
          delegator: s.hex(e.delegator, `entries[${i}].delegator`, 40),
          amount: s.amount(e.amount, `entries[${i}].amount`),
          creationHeight: s.uint(e.creationHeight, `entries[${i}].creationHeight`),
        };
      }),
    };
  }
  if (key.startsWith(KEY_PREFIX.epoch)) {
    const o = s.obj(j, 'epoch', ['epoch', 'startHeight', 'validators']);
    return {
      epoch: s.uint(o.epoch, 'epoch'),
      startHeight: s.uint(o.startHeight, 'startHeight'),
      validators: s.array(o.validators, 'validators').map((x, i): ValidatorEntry => {
        const e = s.obj(x, `validators[${i}]`, ['id', 'pubKey', 'votingPower', 'proposerWeight']);
        return {
          id: s.hex(e.id, `validators[${i}].id`, 40),
          pubKey: s.hex(e.pubKey, `validators[${i}].pubKey`, 64),
          votingPower: s.amount(e.votingPower, `validators[${i}].votingPower`),
          proposerWeight: s.amount(e.proposerWeight, `validators[${i}].proposerWeight`),
        };
      }),
    };
  }
  if (key.startsWith(KEY_PREFIX.evidenceUsed)) {
    const o = s.obj(j, 'evidence record', ['evidenceId', 'usedAt']);
    return { evidenceId: s.hex(o.evidenceId, 'evidenceId', 64), usedAt: s.uint(o.usedAt, 'usedAt') };
  }
  if (key.startsWith(KEY_PREFIX.doubleSign)) {
    const o = s.obj(j, 'double-sign punishment', ['punishedAt', 'infractionHeight', 'unjailedAt']);
    return {
      punishedAt: s.uint(o.punishedAt, 'punishedAt'),
      infractionHeight: s.uint(o.infractionHeight, 'infractionHeight'),
      unjailedAt: o.unjailedAt === null ? null : s.uint(o.unjailedAt, 'unjailedAt'),
    };
  }
  if (key === VALIDATOR_INDEX_KEY) {
    const o = s.obj(j, 'validator index', ['ids']);
    return { ids: s.array(o.ids, 'ids').map((id, i) => s.hex(id, `ids[${i}]`, 40)) };
  }
  if (key === UPGRADE_INDEX_KEY) {
    const o = s.obj(j, 'upgrade index', ['names']);
    return {
      names: s.array(o.names, 'names').map((n, i): string => {
        if (typeof n !== 'string' || !UPGRADE_NAME_RE.test(n)) return s.fail(`names[${i}] is not an upgrade name`);
        return n;
      }),
    };
  }
  if (key.startsWith(KEY_PREFIX.upgrade)) {
    if (!UPGRADE_NAME_RE.test(key.slice(KEY_PREFIX.upgrade.length))) s.fail('the key does not end in an upgrade name');
    const o = s.obj(j, 'upgrade record', ['height', 'scheduledAt']);
    return { height: s.uint(o.height, 'height'), scheduledAt: s.uint(o.scheduledAt, 'scheduledAt') };
  }
  if (key === ORACLE_SET_KEY) {
    const o = s.obj(j, 'oracle set', ['version', 'oracles']);
    return {
      version: s.uint(o.version, 'version'),
      oracles: s.array(o.oracles, 'oracles').map((x, i): OracleEntry => {
        const e = s.obj(x, `oracles[${i}]`, ['address', 'stake']);
        return { address: s.hex(e.address, `oracles[${i}].address`, 40), stake: s.amount(e.stake, `oracles[${i}].stake`) };
      }),
    };
  }
  if (key === PRODUCT_PARAMS_KEY) {
    const o = s.obj(j, 'product params', PRODUCT_PARAM_FIELDS);
    const out: Record<string, unknown> = {};
    for (const k of PRODUCT_PARAM_FIELDS) out[k] = PRODUCT_AMOUNT_PARAMS.includes(k) ? s.amount(o[k], k) : s.uint(o[k], k);
    return out as unknown as ProductParams;
  }
  if (key.startsWith(KEY_PREFIX.pendingAttestation)) {
    const o = s.obj(j, 'pending attestation', ['validatorId', 'epoch', 'oracleSetVersion', 'createdHeight', 'expiresAt', 'reports']);
    return {
      validatorId: s.hex(o.validatorId, 'validatorId', 40),
      epoch: s.uint(o.epoch, 'epoch'),
      oracleSetVersion: s.uint(o.oracleSetVersion, 'oracleSetVersion'),
      createdHeight: s.uint(o.createdHeight, 'createdHeight'),
      expiresAt: s.uint(o.expiresAt, 'expiresAt'),
      reports: s.array(o.reports, 'reports').map((x, i): OracleReport => {
        const r = s.obj(x, `reports[${i}]`, ['oracle', 'score', 'proofRef', 'height']);
        return { oracle: s.hex(r.oracle, `reports[${i}].oracle`, 40), score: s.uint(r.score, `reports[${i}].score`), proofRef: s.text(r.proofRef, `reports[${i}].proofRef`), height: s.uint(r.height, `reports[${i}].height`) };
      }),
    };
  }
  if (key.startsWith(KEY_PREFIX.attestationExpiry)) {
    const o = s.obj(j, 'attestation expiry bucket', ['attestations']);
    return {
      attestations: s.array(o.attestations, 'attestations').map((x, i) => {
        const a = s.obj(x, `attestations[${i}]`, ['validatorId', 'epoch']);
        return { validatorId: s.hex(a.validatorId, `attestations[${i}].validatorId`, 40), epoch: s.uint(a.epoch, `attestations[${i}].epoch`) };
      }),
    };
  }
  if (key.startsWith(KEY_PREFIX.productProof)) {
    const o = s.obj(j, 'product proof', ['id', 'validatorId', 'epoch', 'score', 'proofRef', 'oracles', 'status', 'finalizedHeight', 'workWeightBefore', 'workWeightAfter', 'challenges']);
    return {
      id: s.hex(o.id, 'id', 64),
      validatorId: s.hex(o.validatorId, 'validatorId', 40),
      epoch: s.uint(o.epoch, 'epoch'),
      score: s.uint(o.score, 'score'),
      proofRef: s.text(o.proofRef, 'proofRef'),
      oracles: s.array(o.oracles, 'oracles').map((x, i) => s.hex(x, `oracles[${i}]`, 40)),
      status: s.oneOf(o.status, 'status', ['finalized', 'invalidated'] as const),
      finalizedHeight: s.uint(o.finalizedHeight, 'finalizedHeight'),
      workWeightBefore: s.uint(o.workWeightBefore, 'workWeightBefore'),
      workWeightAfter: s.uint(o.workWeightAfter, 'workWeightAfter'),
      challenges: s.array(o.challenges, 'challenges').map((x, i) => s.hex(x, `challenges[${i}]`, 64)),
    };
  }
  if (key.startsWith(KEY_PREFIX.openChallenges)) {
    const o = s.obj(j, 'open challenges', ['count', 'until']);
    return { count: s.uint(o.count, 'count'), until: s.uint(o.until, 'until') };
  }
  if (key.startsWith(KEY_PREFIX.settlement)) {
    const o = s.obj(j, 'settlement', ['id', 'payer', 'reference', 'validatorId', 'net', 'amount', 'protocolFee', 'feeBps', 'height', 'epoch']);
    return {
      id: s.hex(o.id, 'id', 64),
      payer: s.hex(o.payer, 'payer', 40),
      reference: s.text(o.reference, 'reference'),
      validatorId: s.hex(o.validatorId, 'validatorId', 40),
      net: s.amount(o.net, 'net'),
      amount: s.amount(o.amount, 'amount'),
      protocolFee: s.amount(o.protocolFee, 'protocolFee'),
      feeBps: s.uint(o.feeBps, 'feeBps'),
      height: s.uint(o.height, 'height'),
      epoch: s.uint(o.epoch, 'epoch'),
    };
  }
  if (key.startsWith(KEY_PREFIX.challengeExpiry)) {
    const o = s.obj(j, 'challenge expiry bucket', ['ids']);
    return { ids: s.array(o.ids, 'ids').map((x, i) => s.hex(x, `ids[${i}]`, 64)) };
  }
  if (key.startsWith(KEY_PREFIX.challenge)) {
    const o = s.obj(j, 'challenge', ['id', 'proofId', 'validatorId', 'epoch', 'challenger', 'bond', 'openedAt', 'resolvableAt', 'expiresAt', 'oracleSetVersion', 'votes', 'status', 'closedAt', 'slashed', 'challengerReward', 'clawedBack']);
    return {
      id: s.hex(o.id, 'id', 64),
      proofId: s.hex(o.proofId, 'proofId', 64),
      validatorId: s.hex(o.validatorId, 'validatorId', 40),
      epoch: s.uint(o.epoch, 'epoch'),
      challenger: s.hex(o.challenger, 'challenger', 40),
      bond: s.amount(o.bond, 'bond'),
      openedAt: s.uint(o.openedAt, 'openedAt'),
      resolvableAt: s.uint(o.resolvableAt, 'resolvableAt'),
      expiresAt: s.uint(o.expiresAt, 'expiresAt'),
      oracleSetVersion: s.uint(o.oracleSetVersion, 'oracleSetVersion'),
      votes: s.array(o.votes, 'votes').map((x, i): ChallengeVote => {
        const v = s.obj(x, `votes[${i}]`, ['oracle', 'upheld', 'height']);
        if (typeof v.upheld !== 'boolean') s.fail(`votes[${i}].upheld is not a boolean`);
        return { oracle: s.hex(v.oracle, `votes[${i}].oracle`, 40), upheld: v.upheld as boolean, height: s.uint(v.height, `votes[${i}].height`) };
      }),
      status: s.oneOf(o.status, 'status', ['open', 'upheld', 'rejected', 'expired'] as const),
      closedAt: o.closedAt === null ? null : s.uint(o.closedAt, 'closedAt'),
      slashed: s.amount(o.slashed, 'slashed'),
      challengerReward: s.amount(o.challengerReward, 'challengerReward'),
      clawedBack: s.amount(o.clawedBack, 'clawedBack'),
    };
  }
  if (key.startsWith(KEY_PREFIX.epochProofs)) {
    const o = s.obj(j, 'epoch proof index', ['validatorIds']);
    return { validatorIds: s.array(o.validatorIds, 'validatorIds').map((x, i) => s.hex(x, `validatorIds[${i}]`, 40)) };
  }
  if (key.startsWith(KEY_PREFIX.epochRewards)) {
    const o = s.obj(j, 'epoch rewards', ['epoch', 'paidAt', 'pool', 'paid', 'remainder', 'payouts']);
    return {
      epoch: s.uint(o.epoch, 'epoch'),
      paidAt: s.uint(o.paidAt, 'paidAt'),
      pool: s.amount(o.pool, 'pool'),
      paid: s.amount(o.paid, 'paid'),
      remainder: s.amount(o.remainder, 'remainder'),
      payouts: s.array(o.payouts, 'payouts').map((x, i): RewardPayout => {
        const r = s.obj(x, `payouts[${i}]`, ['validatorId', 'score', 'amount', 'commission', 'toOperator', 'toDelegators']);
        return {
          validatorId: s.hex(r.validatorId, `payouts[${i}].validatorId`, 40),
          score: s.uint(r.score, `payouts[${i}].score`),
          amount: s.amount(r.amount, `payouts[${i}].amount`),
          commission: s.amount(r.commission, `payouts[${i}].commission`),
          toOperator: s.amount(r.toOperator, `payouts[${i}].toOperator`),
          toDelegators: s.amount(r.toDelegators, `payouts[${i}].toDelegators`),
        };
      }),
    };
  }
  throw new FastposError(ErrorCode.CORRUPT_DATA, `unknown state key ${key}`);
}
