/**
 * A chain for the product index tests: empty blocks whose state changes
 * carry a product history written out by hand (pending attestations that
 * grow, finalize, expire or start over; proofs finalized at once; challenges
 * opened, upheld (invalidating their proof), rejected or expired;
 * settlements; epoch rewards), encoded with the real codec, plus the state
 * at each height and a reference model of every product list and statistic
 * computed naively from that state.
 * @module
 */
import { BLOCK_VERSION, blockHash, commitHash, evidenceListHash } from '../../../src/codec/block.js';
import { txRoot } from '../../../src/codec/merkle.js';
import {
  accountKey,
  challengeKey,
  decodeStateValue,
  encodeStateValue,
  epochRewardsKey,
  KEY_PREFIX,
  pendingAttestationKey,
  productProofKey,
  settlementKey,
  type StateValue,
} from '../../../src/codec/state.js';
import { addressFromPubKey, createSigner, devValidatorPrivateKey, sha256Hex } from '../../../src/crypto/index.js';
import { proofId } from '../../../src/state/product.js';
import type {
  AttestationQuery,
  AttestationStatus,
  ChallengeQuery,
  ProductStatsQuery,
  ProofQuery,
  RewardQuery,
  SettlementQuery,
} from '../../../src/storage/index.js';
import type { BlockCommit } from '../../../src/storage/types.js';
import type { ChallengeStatus, Commit, EpochRewards, FinalizedBlock, PendingAttestation, ProductChallenge, ProductProof, Settlement } from '../../../src/types/index.js';
import { blockTime, fakeAccumulator } from './fixtures.js';

export const PRODUCT_CHAIN_ID = 'fastpos-product-index-test';

/** Deterministic numbers (a 32-bit LCG): the same history on every run. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x % n;
  };
}

const hex40 = (label: string): string => sha256Hex(label).slice(0, 40);
export const VALIDATORS = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => hex40(`product-validator-${i}`));
export const ORACLES = [0, 1, 2].map((i) => hex40(`product-oracle-${i}`));
export const PAYERS = [0, 1, 2, 3].map((i) => hex40(`product-payer-${i}`));
export const CHALLENGERS = [0, 1, 2].map((i) => hex40(`product-challenger-${i}`));
export const REFS = ['sha256:aa', 'sha256:bb', 'ipfs://cc'];
/** Epoch of a height in this chain. */
export const epochAt = (h: number): number => Math.floor(h / 5);

export interface ProductFixture {
  readonly genesisHash: string;
  readonly genesisEntries: Map<string, string>;
  readonly genesisAccumulator: Buffer;
  readonly commits: BlockCommit[];
  /** Product state (key → canonical JSON) at each height, index = height. */
  readonly stateAt: Map<string, string>[];
}

const validatorSigner = createSigner(devValidatorPrivateKey(0));
const proposer = addressFromPubKey(validatorSigner.publicKey);

/** Builds `blocks` blocks of product history. */
export function buildProductChain(blocks: number): ProductFixture {
  const r = rng(13);
  const state = new Map<string, StateValue>();
  const genesisEntries = new Map([[accountKey(PAYERS[0]!), encodeStateValue(accountKey(PAYERS[0]!), { balance: 1n, nonce: 0 })]]);
  const genesisHash = sha256Hex('genesis-' + PRODUCT_CHAIN_ID);
  const encodeAll = (): Map<string, string> => new Map([...state].map(([k, v]) => [k, encodeStateValue(k, v)]));
  const stateAt = [encodeAll()];
  const commits: BlockCommit[] = [];
  let prevHash = genesisHash;
  let prevCommit: Commit | null = null;
  let txN = 0;
  const txId = (): string => sha256Hex(`product-tx-${txN++}`);
  for (let h = 1; h <= blocks; h++) {
    const changes = new Map<string, string | null>();
    const set = (key: string, v: StateValue): void => {
      state.set(key, v);
      changes.set(key, encodeStateValue(key, v));
    };
    const del = (key: string): void => {
      state.delete(key);
      changes.set(key, null);
    };
    const values = <T>(prefix: string): [string, T][] => [...state].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)) as [string, T][];
    const epoch = epochAt(h);
    const hasProof = (v: string, e: number): boolean => state.has(productProofKey(proofId(v, e)));
    const finalize = (v: string, e: number, oracles: string[]): void => {
      const id = proofId(v, e);
      const proof: ProductProof = {
        id,
        validatorId: v,
        epoch: e,
        score: 5_000 + r(30) * 1_000,
        proofRef: REFS[r(REFS.length)]!,
        oracles: [...oracles].sort(),
        status: 'finalized',
        finalizedHeight: h,
        workWeightBefore: 10_000,
        workWeightAfter: 10_000 + r(5) * 100,
        challenges: [],
      };
      set(productProofKey(id), proof);
    };

    // Pending attestations: another report (and then, by turns, the quorum), expiry, or a restart.
    for (const [key, p] of values<PendingAttestation>(KEY_PREFIX.pendingAttestation)) {
      const roll = r(6);
      if (p.expiresAt === h) del(key);
      else if (roll === 0) set(key, { ...p, createdHeight: h, expiresAt: h + 6, oracleSetVersion: p.oracleSetVersion + 1, reports: [{ oracle: ORACLES[2]!, score: 9_000, proofRef: REFS[0]!, height: h }] });
      else if (roll <= 2 && p.reports.length < ORACLES.length) {
        const oracle = ORACLES.find((o) => !p.reports.some((x) => x.oracle === o))!;
        set(key, { ...p, reports: [...p.reports, { oracle, score: 7_000 + r(10) * 500, proofRef: REFS[r(REFS.length)]!, height: h }].sort((a, b) => (a.oracle < b.oracle ? -1 : 1)) });
      } else if (roll === 3) {
        del(key);
        finalize(p.validatorId, p.epoch, [...p.reports.map((x) => x.oracle), ORACLES.find((o) => !p.reports.some((x) => x.oracle === o)) ?? ORACLES[0]!]);
      }
    }
    // New attestations of earlier epochs: pending, or finalized at once.
    for (let k = 0; k < 3; k++) {
      const v = VALIDATORS[r(VALIDATORS.length)]!;
      const e = r(Math.max(1, epoch + 3));
      const key = pendingAttestationKey(v, e);
      if (hasProof(v, e) || state.has(key) || changes.has(key)) continue;
      if (r(3) === 0) finalize(v, e, [...ORACLES]);
      else set(key, { validatorId: v, epoch: e, oracleSetVersion: 1, createdHeight: h, expiresAt: h + 5 + r(6), reports: [{ oracle: ORACLES[r(2)]!, score: 6_000 + r(20) * 250, proofRef: REFS[r(REFS.length)]!, height: h }] });
    }
    // Challenges: close some open ones, open new ones on finalized proofs.
    for (const [key, c] of values<ProductChallenge>(KEY_PREFIX.challenge)) {
      if (c.status !== 'open' || changes.has(key)) continue;
      const roll = r(5);
      if (roll === 0 && r(2) === 0) {
        const proof = state.get(productProofKey(c.proofId)) as ProductProof;
        set(productProofKey(proof.id), { ...proof, status: 'invalidated' });
        set(key, { ...c, status: 'upheld', closedAt: h, slashed: 1_000n + BigInt(r(100)), challengerReward: 500n, clawedBack: BigInt(r(3)) * 10n, votes: [{ oracle: ORACLES[0]!, upheld: true, height: h }] });
      } else if (roll === 1) set(key, { ...c, status: 'rejected', closedAt: h, votes: [{ oracle: ORACLES[1]!, upheld: false, height: h }] });
      else if (roll === 2 || c.expiresAt <= h) set(key, { ...c, status: 'expired', closedAt: h });
    }
    for (const [key, proof] of values<ProductProof>(KEY_PREFIX.productProof)) {
      if (proof.status !== 'finalized' || r(4) !== 0 || changes.has(key)) continue;
      const last = proof.challenges[proof.challenges.length - 1];
      if (last !== undefined && (state.get(challengeKey(last)) as ProductChallenge).status === 'open') continue;
      const id = txId();
      const c: ProductChallenge = {
        id,
        proofId: proof.id,
        validatorId: proof.validatorId,
        epoch: proof.epoch,
        challenger: CHALLENGERS[r(CHALLENGERS.length)]!,
        bond: [1_000n, 25n, 100_000n, 9n][r(4)]!,
        openedAt: h,
        resolvableAt: h + 1,
        expiresAt: h + 8,
        oracleSetVersion: 1,
        votes: [],
        status: 'open',
        closedAt: null,
        slashed: 0n,
        challengerReward: 0n,
        clawedBack: 0n,
      };
      set(challengeKey(id), c);
      set(key, { ...proof, challenges: [...proof.challenges, id] });
    }
    // Settlements: amounts of one to six digits, so that text order would differ from numeric order.
    for (let k = 0; k < 3; k++) {
      const payer = PAYERS[r(PAYERS.length)]!;
      const reference = `invoice-${r(300)}`;
      if (state.has(settlementKey(payer, reference))) continue;
      const amount = [7n, 100n, 25n, 10_001n, 999_999n, 3n][r(6)]!;
      const protocolFee = (amount + 99n) / 100n;
      const s: Settlement = { id: txId(), payer, reference, validatorId: VALIDATORS[r(VALIDATORS.length)]!, net: amount - protocolFee, amount, protocolFee, feeBps: 100, height: h, epoch };
      set(settlementKey(payer, reference), s);
    }
    // Rewards for the epoch before, at the last block of an epoch.
    if (h % 5 === 4 && epoch > 0) {
      const paid = VALIDATORS.filter(() => r(2) === 0);
      const rewards: EpochRewards = {
        epoch: epoch - 1,
        paidAt: h,
        pool: 1_000n,
        paid: BigInt(paid.length) * 100n,
        remainder: 1_000n - BigInt(paid.length) * 100n,
        payouts: paid.map((v) => ({ validatorId: v, score: 10_000, amount: 100n, commission: 10n, toOperator: 45n, toDelegators: 45n })),
      };
      set(epochRewardsKey(epoch - 1), rewards);
    }
    // Keys the index does not read.
    set(accountKey(PAYERS[h % PAYERS.length]!), { balance: BigInt(h), nonce: h });
    set(`pexp/${h + 100}`, { attestations: [] });

    const header = {
      version: BLOCK_VERSION,
      chainId: PRODUCT_CHAIN_ID,
      height: h,
      round: 0,
      timestamp: blockTime(h),
      prevHash,
      proposer,
      txRoot: txRoot([]),
      txCount: 0,
      stateRoot: sha256Hex(`product-state-root-${h}`),
      validatorSetHash: sha256Hex('validator-set'),
      lastCommitHash: commitHash(prevCommit),
      evidenceHash: evidenceListHash([]),
    };
    const hash = blockHash(header);
    const commit: Commit = { height: h, round: 0, blockHash: hash, signatures: [{ validatorId: proposer, signature: validatorSigner.sign(Buffer.from(hash, 'hex')) }] };
    const block: FinalizedBlock = { block: { header, txs: [], lastCommit: prevCommit, evidence: [] }, hash, results: [], commit };
    commits.push({ block, changes, accumulator: fakeAccumulator(h) });
    stateAt.push(encodeAll());
    prevHash = hash;
    prevCommit = commit;
  }
  return { genesisHash, genesisEntries, genesisAccumulator: fakeAccumulator(0), commits, stateAt };
}

// ---------------------------------------------------------------- the model

interface Model {
  proofs: ProductProof[];
  pending: PendingAttestation[];
  challenges: ProductChallenge[];
  settlements: Settlement[];
  rewards: EpochRewards[];
}

export function modelOf(entries: Map<string, string>): Model {
  const m: Model = { proofs: [], pending: [], challenges: [], settlements: [], rewards: [] };
  for (const [k, json] of entries) {
    const v = decodeStateValue(k, json);
    if (k.startsWith(KEY_PREFIX.productProof)) m.proofs.push(v as ProductProof);
    else if (k.startsWith(KEY_PREFIX.pendingAttestation)) m.pending.push(v as PendingAttestation);
    else if (k.startsWith(KEY_PREFIX.challenge)) m.challenges.push(v as ProductChallenge);
    else if (k.startsWith(KEY_PREFIX.settlement)) m.settlements.push(v as Settlement);
    else if (k.startsWith(KEY_PREFIX.epochRewards)) m.rewards.push(v as EpochRewards);
  }
  return m;
}

interface Window {
  fromHeight?: number;
  toHeight?: number;
  fromTime?: number;
  toTime?: number;
}
interface Page {
  offset: number;
  limit: number;
  order: 'asc' | 'desc';
}

const inWindow = (h: number, w: Window): boolean =>
  (w.fromHeight === undefined || h >= w.fromHeight) &&
  (w.toHeight === undefined || h <= w.toHeight) &&
  (w.fromTime === undefined || blockTime(h) >= w.fromTime) &&
  (w.toTime === undefined || blockTime(h) <= w.toTime);

const eq = <T>(want: T | undefined, got: T): boolean => want === undefined || want === got;
const inRange = (x: bigint | number, min: bigint | number | undefined, max: bigint | number | undefined): boolean => (min === undefined || x >= min) && (max === undefined || x <= max);

/** Items in (height, key) order (reversed for desc), then the page: total and keys. */
function paged<T>(items: T[], height: (x: T) => number, key: (x: T) => string, p: Page): { total: number; keys: string[] } {
  const sorted = items.sort((a, b) => height(a) - height(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  if (p.order === 'desc') sorted.reverse();
  return { total: sorted.length, keys: sorted.slice(p.offset, p.offset + p.limit).map(key) };
}

export function expectedProofs(m: Model, q: ProofQuery): { total: number; keys: string[] } {
  const items = m.proofs.filter(
    (p) =>
      eq(q.id, p.id) && eq(q.validatorId, p.validatorId) && eq(q.epoch, p.epoch) && eq(q.proofRef, p.proofRef) && eq(q.status, p.status) &&
      inRange(p.score, q.minScore, q.maxScore) && inWindow(p.finalizedHeight, q),
  );
  return paged(items, (p) => p.finalizedHeight, (p) => p.id, q);
}

interface ModelAttestation {
  proofId: string;
  validatorId: string;
  epoch: number;
  status: AttestationStatus;
  height: number;
  proof: ProductProof | null;
}

export function expectedAttestations(m: Model, q: AttestationQuery): { total: number; keys: string[] } {
  const all: ModelAttestation[] = [
    ...m.pending.map((p) => ({ proofId: proofId(p.validatorId, p.epoch), validatorId: p.validatorId, epoch: p.epoch, status: 'pending' as const, height: p.createdHeight, proof: null })),
    ...m.proofs.map((p) => ({ proofId: p.id, validatorId: p.validatorId, epoch: p.epoch, status: p.status, height: p.finalizedHeight, proof: p })),
  ];
  const items = all.filter(
    (a) =>
      eq(q.proofId, a.proofId) && eq(q.validatorId, a.validatorId) && eq(q.epoch, a.epoch) && eq(q.status, a.status) &&
      (q.proofRef === undefined || a.proof?.proofRef === q.proofRef) &&
      (q.minScore === undefined && q.maxScore === undefined ? true : a.proof !== null && inRange(a.proof.score, q.minScore, q.maxScore)) &&
      inWindow(a.height, q),
  );
  return paged(items, (a) => a.height, (a) => a.proofId, q);
}

export function expectedChallenges(m: Model, q: ChallengeQuery): { total: number; keys: string[] } {
  const items = m.challenges.filter(
    (c) =>
      eq(q.id, c.id) && eq(q.proofId, c.proofId) && eq(q.validatorId, c.validatorId) && eq(q.epoch, c.epoch) && eq(q.challenger, c.challenger) &&
      eq(q.status, c.status) && (q.openOnly !== true || c.status === 'open') && inRange(c.bond, q.minBond, q.maxBond) && inWindow(c.openedAt, q),
  );
  return paged(items, (c) => c.openedAt, (c) => c.id, q);
}

export function expectedSettlements(m: Model, q: SettlementQuery): { total: number; keys: string[] } {
  const items = m.settlements.filter(
    (s) =>
      eq(q.id, s.id) && eq(q.payer, s.payer) && eq(q.reference, s.reference) && eq(q.validatorId, s.validatorId) && eq(q.epoch, s.epoch) &&
      inRange(s.amount, q.minAmount, q.maxAmount) && inWindow(s.height, q),
  );
  return paged(items, (s) => s.height, (s) => s.id, q);
}

export function expectedRewards(m: Model, q: RewardQuery): { total: number; keys: string[] } {
  const items = m.rewards.filter((r) => eq(q.epoch, r.epoch) && (q.validatorId === undefined || r.payouts.some((p) => p.validatorId === q.validatorId)) && inWindow(r.paidAt, q));
  return paged(items, (r) => r.paidAt, (r) => String(r.epoch), q);
}

const inEpochs = (e: number, q: ProductStatsQuery): boolean => eq(q.epoch, e) && (q.fromEpoch === undefined || e >= q.fromEpoch) && (q.toEpoch === undefined || e <= q.toEpoch);

export function expectedAttestationStats(m: Model, q: ProductStatsQuery): unknown {
  const all: { epoch: number; status: AttestationStatus }[] = [...m.pending.map((p) => ({ epoch: p.epoch, status: 'pending' as const })), ...m.proofs.map((p) => ({ epoch: p.epoch, status: p.status }))];
  const count = (xs: typeof all, s: AttestationStatus): number => xs.filter((x) => x.status === s).length;
  const epochs = [...new Set(all.map((x) => x.epoch))].filter((e) => inEpochs(e, q)).sort((a, b) => b - a);
  const byEpoch = epochs.slice(0, q.limit).map((epoch) => {
    const xs = all.filter((x) => x.epoch === epoch);
    return { epoch, total: xs.length, pending: count(xs, 'pending'), finalized: count(xs, 'finalized'), invalidated: count(xs, 'invalidated') };
  });
  return {
    total: all.length,
    byStatus: { pending: count(all, 'pending'), finalized: count(all, 'finalized'), invalidated: count(all, 'invalidated') },
    byEpoch,
    hasMoreEpochs: epochs.length > q.limit,
  };
}

export function expectedChallengeStats(m: Model): unknown {
  const statuses: ChallengeStatus[] = ['open', 'upheld', 'rejected', 'expired'];
  const of = (s: ChallengeStatus) => m.challenges.filter((c) => c.status === s);
  const sum = (f: (c: ProductChallenge) => bigint) => m.challenges.reduce((n, c) => n + f(c), 0n);
  return {
    total: m.challenges.length,
    byStatus: Object.fromEntries(statuses.map((s) => [s, of(s).length])),
    bonds: Object.fromEntries(statuses.map((s) => [s, of(s).reduce((n, c) => n + c.bond, 0n)])),
    slashed: sum((c) => c.slashed),
    challengerRewards: sum((c) => c.challengerReward),
    clawedBack: sum((c) => c.clawedBack),
  };
}

export function expectedSettlementStats(m: Model, q: ProductStatsQuery): unknown {
  const totals = (xs: Settlement[]) => ({
    count: xs.length,
    amount: xs.reduce((n, s) => n + s.amount, 0n),
    protocolFee: xs.reduce((n, s) => n + s.protocolFee, 0n),
    net: xs.reduce((n, s) => n + s.net, 0n),
  });
  const validators = [...new Set(m.settlements.map((s) => s.validatorId))].filter((v) => eq(q.validatorId, v)).sort();
  const epochs = [...new Set(m.settlements.map((s) => s.epoch))].filter((e) => inEpochs(e, q)).sort((a, b) => b - a);
  return {
    totals: totals(m.settlements),
    byValidator: validators.slice(0, q.limit).map((validatorId) => ({ validatorId, ...totals(m.settlements.filter((s) => s.validatorId === validatorId)) })),
    hasMoreValidators: validators.length > q.limit,
    byEpoch: epochs.slice(0, q.limit).map((epoch) => ({ epoch, ...totals(m.settlements.filter((s) => s.epoch === epoch)) })),
    hasMoreEpochs: epochs.length > q.limit,
  };
}
