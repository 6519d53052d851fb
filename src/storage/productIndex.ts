/**
 * The product index: what the product list routes read (proofs, attestations,
 * challenges, settlements, epoch rewards) and the running totals their
 * statistics read, kept by every store and fed by the state changes of each
 * committed block (`BlockCommit.changes`, keys `pattest/`, `pproof/`,
 * `pchal/`, `psettle/`, `preward/`).
 *
 * Every row and every total is a function of the current state's product
 * entries, so an index maintained block by block equals one built from the
 * state at that height: the SQLite migration and the snapshot store (at open)
 * build it from the state with the same code (`applyProductChanges`) that
 * feeds it at commit. What the state does not keep, the index does not list:
 * a pending attestation that expired has left the state (its
 * `product_attest` txs stay in the tx lists).
 *
 * - An attestation is one per (validator, epoch): `pending` while its
 *   reports are short of the quorum (`pattest/`), then `finalized` or
 *   `invalidated` with the status of its proof (`pproof/`). Its height is the
 *   pending attestation's `createdHeight`, then the proof's
 *   `finalizedHeight`.
 * - Lists are ordered by (height, key): proofs by finalizedHeight, challenges
 *   by openedAt, settlements by height, rewards by paidAt; key: the id (the
 *   proof id for attestations, the epoch for rewards).
 * - Totals are named counters `family|group|field` (bigint), a counter that
 *   falls to 0 is removed, so a group exists while one of its fields is not 0.
 *
 * This file holds the shared parts: the query and record types, how a query
 * becomes an `IndexQuery` (equality filters, ranges, a height/time window and
 * a page), how changes become row writes and counter deltas, the statistics
 * assembled from counters, and the in-memory index (`MemoryProductIndex`)
 * the snapshot and memory stores keep. The SQLite store answers the same
 * queries from its tables (sqlite/productSql.ts).
 *
 * Pure: no I/O, no clock (the memory store, which the simulation runs, uses it).
 * @module
 */
import { decodeStateValue, KEY_PREFIX } from '../codec/state.js';
import { proofId as proofIdOf } from '../state/product.js';
import type { ChallengeStatus, EpochRewards, PendingAttestation, ProductChallenge, ProductProof, ProductProofStatus, Settlement } from '../types/index.js';
import { heightBounds } from './txIndex.js';
import type { ProductReads } from './types.js';
import { ErrorCode, FastposError } from '../errors.js';

// ---------------------------------------------------------------- queries and records

export type AttestationStatus = 'pending' | ProductProofStatus;
export const ATTESTATION_STATUSES = ['pending', 'finalized', 'invalidated'] as const satisfies readonly AttestationStatus[];
export const PROOF_STATUSES = ['finalized', 'invalidated'] as const satisfies readonly ProductProofStatus[];
export const CHALLENGE_STATUSES = ['open', 'upheld', 'rejected', 'expired'] as const satisfies readonly ChallengeStatus[];

/** An attestation of (validator, epoch): its pending reports, or the proof they finalized into. */
export interface AttestationRecord {
  readonly proofId: string;
  readonly validatorId: string;
  readonly epoch: number;
  readonly status: AttestationStatus;
  /** createdHeight while pending, then the proof's finalizedHeight. */
  readonly height: number;
  readonly pending: PendingAttestation | null;
  readonly proof: ProductProof | null;
}

/** Paging and order of every product list: (height, key) ascending or descending. */
export interface ProductPage {
  readonly offset: number;
  readonly limit: number;
  readonly order: 'asc' | 'desc';
}

/** Inclusive bounds on a row's height, and on its block's timestamp (ms). */
export interface HeightWindow {
  readonly fromHeight?: number;
  readonly toHeight?: number;
  readonly fromTime?: number;
  readonly toTime?: number;
}

export interface ProofQuery extends ProductPage, HeightWindow {
  readonly id?: string;
  readonly validatorId?: string;
  readonly epoch?: number;
  readonly proofRef?: string;
  readonly status?: ProductProofStatus;
  readonly minScore?: number;
  readonly maxScore?: number;
}

/** `proofRef` and the score bounds match the proof of a finalized or invalidated attestation (a pending one has neither). */
export interface AttestationQuery extends ProductPage, HeightWindow {
  readonly proofId?: string;
  readonly validatorId?: string;
  readonly epoch?: number;
  readonly proofRef?: string;
  readonly status?: AttestationStatus;
  readonly minScore?: number;
  readonly maxScore?: number;
}

/** `openOnly: true` is `status: 'open'` (with another status: nothing matches). Heights are `openedAt`. */
export interface ChallengeQuery extends ProductPage, HeightWindow {
  readonly id?: string;
  readonly proofId?: string;
  readonly validatorId?: string;
  readonly epoch?: number;
  readonly challenger?: string;
  readonly status?: ChallengeStatus;
  readonly openOnly?: boolean;
  readonly minBond?: bigint;
  readonly maxBond?: bigint;
}

export interface SettlementQuery extends ProductPage, HeightWindow {
  readonly id?: string;
  readonly payer?: string;
  readonly reference?: string;
  readonly validatorId?: string;
  readonly epoch?: number;
  readonly minAmount?: bigint;
  readonly maxAmount?: bigint;
}

/** `validatorId`: the epochs whose rewards paid that validator. Heights are `paidAt`. */
export interface RewardQuery extends ProductPage, HeightWindow {
  readonly epoch?: number;
  readonly validatorId?: string;
}

export interface ProductList<T> {
  readonly total: number;
  readonly items: T[];
}

/** Which groups the statistics list: one validator, one epoch or a range of epochs, and at most `limit` groups of each kind. */
export interface ProductStatsQuery {
  readonly validatorId?: string;
  readonly epoch?: number;
  readonly fromEpoch?: number;
  readonly toEpoch?: number;
  readonly limit: number;
}

export interface AttestationEpochCounts {
  readonly epoch: number;
  readonly total: number;
  readonly pending: number;
  readonly finalized: number;
  readonly invalidated: number;
}

export interface AttestationStats {
  readonly total: number;
  readonly byStatus: Record<AttestationStatus, number>;
  /** Newest epoch first. */
  readonly byEpoch: AttestationEpochCounts[];
  readonly hasMoreEpochs: boolean;
}

export interface ChallengeStats {
  readonly total: number;
  readonly byStatus: Record<ChallengeStatus, number>;
  /** Bonds of the challenges of each status: locked (open), returned (upheld, expired), forfeited to the treasury (rejected). */
  readonly bonds: Record<ChallengeStatus, bigint>;
  /** Over upheld challenges: what their slashes took, the challengers' share of it, the rewards taken back. */
  readonly slashed: bigint;
  readonly challengerRewards: bigint;
  readonly clawedBack: bigint;
}

export interface SettlementTotals {
  readonly count: number;
  readonly amount: bigint;
  readonly protocolFee: bigint;
  readonly net: bigint;
}

export interface SettlementStats {
  readonly totals: SettlementTotals;
  /** Ascending validator id. */
  readonly byValidator: (SettlementTotals & { readonly validatorId: string })[];
  readonly hasMoreValidators: boolean;
  /** Newest epoch first. */
  readonly byEpoch: (SettlementTotals & { readonly epoch: number })[];
  readonly hasMoreEpochs: boolean;
}

// ---------------------------------------------------------------- index queries

/**
 * A product list query reduced to what an index reads: equality filters
 * (field, value as text), inclusive ranges (field, min, max), a height/time
 * window and the page. `none`: the filters contradict each other (nothing
 * matches).
 */
export interface IndexQuery {
  readonly eq: readonly (readonly [string, string])[];
  readonly ranges: readonly (readonly [string, bigint | undefined, bigint | undefined])[];
  readonly window: HeightWindow;
  readonly page: ProductPage;
  readonly none: boolean;
}

function indexQuery(q: ProductPage & HeightWindow, eq: Record<string, string | number | undefined>, ranges: Record<string, readonly [bigint | number | undefined, bigint | number | undefined]>, none = false): IndexQuery {
  const big = (v: bigint | number | undefined): bigint | undefined => (v === undefined ? undefined : BigInt(v));
  return {
    eq: Object.entries(eq).flatMap(([f, v]) => (v === undefined ? [] : [[f, String(v)] as const])),
    ranges: Object.entries(ranges).flatMap(([f, [a, b]]) => (a === undefined && b === undefined ? [] : [[f, big(a), big(b)] as const])),
    window: { ...opt('fromHeight', q.fromHeight), ...opt('toHeight', q.toHeight), ...opt('fromTime', q.fromTime), ...opt('toTime', q.toTime) },
    page: { offset: q.offset, limit: q.limit, order: q.order },
    none,
  };
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

export function proofIndexQuery(q: ProofQuery): IndexQuery {
  return indexQuery(q, { id: q.id, validatorId: q.validatorId, epoch: q.epoch, proofRef: q.proofRef, status: q.status }, { score: [q.minScore, q.maxScore] });
}

export function attestationIndexQuery(q: AttestationQuery): IndexQuery {
  return indexQuery(q, { proofId: q.proofId, validatorId: q.validatorId, epoch: q.epoch, proofRef: q.proofRef, status: q.status }, { score: [q.minScore, q.maxScore] });
}

export function challengeIndexQuery(q: ChallengeQuery): IndexQuery {
  const open = q.openOnly === true;
  const status = open ? 'open' : q.status;
  return indexQuery(
    q,
    { id: q.id, proofId: q.proofId, validatorId: q.validatorId, epoch: q.epoch, challenger: q.challenger, status },
    { bond: [q.minBond, q.maxBond] },
    open && q.status !== undefined && q.status !== 'open',
  );
}

export function settlementIndexQuery(q: SettlementQuery): IndexQuery {
  return indexQuery(q, { id: q.id, payer: q.payer, reference: q.reference, validatorId: q.validatorId, epoch: q.epoch }, { amount: [q.minAmount, q.maxAmount] });
}

export function rewardIndexQuery(q: RewardQuery): IndexQuery {
  return indexQuery(q, { epoch: q.epoch, validatorId: q.validatorId }, {});
}

// ---------------------------------------------------------------- tables

/** How a table's rows are keyed, ordered and filtered; the same for every backend. */
export type ProductTableName = 'proofs' | 'attestations' | 'challenges' | 'settlements' | 'rewards';

export interface ProductTableSpec<R> {
  readonly name: ProductTableName;
  key(r: R): string;
  height(r: R): number;
  /** The values of each equality field (several for a multi-valued one). */
  readonly eq: Readonly<Record<string, (r: R) => readonly string[]>>;
  /** The value of each range field (null: matches no range). */
  readonly ranges: Readonly<Record<string, (r: R) => bigint | null>>;
}

const one = (v: string | number): readonly string[] => [String(v)];
/** Width of an epoch or height in sortable text. */
const DIGITS = 16;
export const padNumber = (n: number): string => n.toString().padStart(DIGITS, '0');

export const PROOFS: ProductTableSpec<ProductProof> = {
  name: 'proofs',
  key: (p) => p.id,
  height: (p) => p.finalizedHeight,
  eq: { id: (p) => one(p.id), validatorId: (p) => one(p.validatorId), epoch: (p) => one(p.epoch), proofRef: (p) => one(p.proofRef), status: (p) => one(p.status) },
  ranges: { score: (p) => BigInt(p.score) },
};

export const ATTESTATIONS: ProductTableSpec<AttestationRecord> = {
  name: 'attestations',
  key: (a) => a.proofId,
  height: (a) => a.height,
  eq: {
    proofId: (a) => one(a.proofId),
    validatorId: (a) => one(a.validatorId),
    epoch: (a) => one(a.epoch),
    proofRef: (a) => (a.proof === null ? [] : one(a.proof.proofRef)),
    status: (a) => one(a.status),
  },
  ranges: { score: (a) => (a.proof === null ? null : BigInt(a.proof.score)) },
};

export const CHALLENGES: ProductTableSpec<ProductChallenge> = {
  name: 'challenges',
  key: (c) => c.id,
  height: (c) => c.openedAt,
  eq: {
    id: (c) => one(c.id),
    proofId: (c) => one(c.proofId),
    validatorId: (c) => one(c.validatorId),
    epoch: (c) => one(c.epoch),
    challenger: (c) => one(c.challenger),
    status: (c) => one(c.status),
  },
  ranges: { bond: (c) => c.bond },
};

export const SETTLEMENTS: ProductTableSpec<Settlement> = {
  name: 'settlements',
  key: (s) => s.id,
  height: (s) => s.height,
  eq: { id: (s) => one(s.id), payer: (s) => one(s.payer), reference: (s) => one(s.reference), validatorId: (s) => one(s.validatorId), epoch: (s) => one(s.epoch) },
  ranges: { amount: (s) => s.amount },
};

export const REWARDS: ProductTableSpec<EpochRewards> = {
  name: 'rewards',
  key: (r) => padNumber(r.epoch),
  height: (r) => r.paidAt,
  eq: { epoch: (r) => one(r.epoch), validatorId: (r) => r.payouts.map((p) => p.validatorId) },
  ranges: {},
};

/** Whether `r` passes every filter of `q` but the height window. */
export function matchesIndexQuery<R>(spec: ProductTableSpec<R>, r: R, q: IndexQuery, skipEq?: string): boolean {
  if (q.none) return false;
  for (const [f, v] of q.eq) if (f !== skipEq && !spec.eq[f]!(r).includes(v)) return false;
  for (const [f, min, max] of q.ranges) {
    const x = spec.ranges[f]!(r);
    if (x === null || (min !== undefined && x < min) || (max !== undefined && x > max)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- feeding the index

/** What a backend gives `applyProductChanges`: the current rows by key, writes, and counter deltas. */
export interface ProductIndexSink {
  getProof(id: string): ProductProof | undefined;
  getAttestation(proofId: string): AttestationRecord | undefined;
  getChallenge(id: string): ProductChallenge | undefined;
  getSettlement(id: string): Settlement | undefined;
  getRewards(epoch: number): EpochRewards | undefined;
  /** `json`: the canonical JSON of the state value the row comes from. */
  putProof(p: ProductProof, json: string): void;
  putAttestation(a: AttestationRecord, json: string): void;
  deleteAttestation(a: AttestationRecord): void;
  putChallenge(c: ProductChallenge, json: string): void;
  putSettlement(s: Settlement, json: string): void;
  putRewards(r: EpochRewards, json: string): void;
  /** Adds each delta to its counter (a counter that reaches 0 is removed). */
  addCounters(deltas: ReadonlyMap<string, bigint>): void;
}

/** Whether a state key is one the product index reads. */
export function isProductKey(key: string): boolean {
  return (
    key.charCodeAt(0) === 0x70 && // 'p'
    (key.startsWith(KEY_PREFIX.pendingAttestation) ||
      key.startsWith(KEY_PREFIX.productProof) ||
      key.startsWith(KEY_PREFIX.challenge) ||
      key.startsWith(KEY_PREFIX.settlement) ||
      key.startsWith(KEY_PREFIX.epochRewards))
  );
}

// Counter names: family|group|field. Groups: `all`, `e<epoch>`, `v<validatorId>`.
const ALL = 'all';
const epochGroup = (epoch: number): string => `e${padNumber(epoch)}`;
const validatorGroup = (id: string): string => `v${id}`;
export const counterName = (family: string, group: string, field: string): string => `${family}|${group}|${field}`;

class Deltas {
  readonly map = new Map<string, bigint>();
  add(name: string, d: bigint): void {
    if (d !== 0n) this.map.set(name, (this.map.get(name) ?? 0n) + d);
  }
}

function countAttestation(d: Deltas, a: AttestationRecord, sign: bigint): void {
  d.add(counterName('att', ALL, a.status), sign);
  d.add(counterName('att', epochGroup(a.epoch), a.status), sign);
}

function countProof(d: Deltas, p: ProductProof, sign: bigint): void {
  d.add(counterName('proof', ALL, p.status), sign);
}

function countChallenge(d: Deltas, c: ProductChallenge, sign: bigint): void {
  d.add(counterName('chal', ALL, `n.${c.status}`), sign);
  d.add(counterName('chal', ALL, `bond.${c.status}`), sign * c.bond);
  d.add(counterName('chal', ALL, 'slashed'), sign * c.slashed);
  d.add(counterName('chal', ALL, 'challengerReward'), sign * c.challengerReward);
  d.add(counterName('chal', ALL, 'clawedBack'), sign * c.clawedBack);
}

function countSettlement(d: Deltas, s: Settlement, sign: bigint): void {
  for (const g of [ALL, validatorGroup(s.validatorId), epochGroup(s.epoch)]) {
    d.add(counterName('settle', g, 'count'), sign);
    d.add(counterName('settle', g, 'amount'), sign * s.amount);
    d.add(counterName('settle', g, 'protocolFee'), sign * s.protocolFee);
    d.add(counterName('settle', g, 'net'), sign * s.net);
  }
}

function countRewards(d: Deltas, sign: bigint): void {
  d.add(counterName('reward', ALL, 'count'), sign);
}

function parseAttestationKey(key: string): { validatorId: string; epoch: number } {
  const rest = key.slice(KEY_PREFIX.pendingAttestation.length);
  const slash = rest.indexOf('/');
  return { validatorId: rest.slice(0, slash), epoch: Number(rest.slice(slash + 1)) };
}

export function pendingRecord(p: PendingAttestation): AttestationRecord {
  return { proofId: proofIdOf(p.validatorId, p.epoch), validatorId: p.validatorId, epoch: p.epoch, status: 'pending', height: p.createdHeight, pending: p, proof: null };
}

export function proofRecord(p: ProductProof): AttestationRecord {
  return { proofId: p.id, validatorId: p.validatorId, epoch: p.epoch, status: p.status, height: p.finalizedHeight, pending: null, proof: p };
}

/**
 * Feeds the product index with state changes (key → canonical JSON of the
 * new value, null: deleted): one block's changes at commit, or every product
 * entry of a state when an index is built from it. Other keys are ignored.
 * Pending attestations are applied before proofs, so that a proof replaces
 * the pending attestation it finalized.
 */
export function applyProductChanges(sink: ProductIndexSink, changes: Iterable<readonly [string, string | null]>): void {
  const pending: (readonly [string, string | null])[] = [];
  const rest: (readonly [string, string | null])[] = [];
  for (const c of changes) {
    if (!isProductKey(c[0])) continue;
    (c[0].startsWith(KEY_PREFIX.pendingAttestation) ? pending : rest).push(c);
  }
  if (pending.length === 0 && rest.length === 0) return;
  const d = new Deltas();
  for (const [key, json] of pending) {
    const { validatorId, epoch } = parseAttestationKey(key);
    const old = sink.getAttestation(proofIdOf(validatorId, epoch));
    if (json === null) {
      // Finalized (its proof follows in these changes) or expired.
      if (old?.status === 'pending') {
        sink.deleteAttestation(old);
        countAttestation(d, old, -1n);
      }
      continue;
    }
    const rec = pendingRecord(decodeStateValue(key, json) as PendingAttestation);
    if (old !== undefined) countAttestation(d, old, -1n);
    sink.putAttestation(rec, json);
    countAttestation(d, rec, 1n);
  }
  for (const [key, json] of rest) {
    // The chain never deletes proofs, challenges, settlements or rewards.
    if (json === null) continue;
    const value = decodeStateValue(key, json);
    if (key.startsWith(KEY_PREFIX.productProof)) {
      const p = value as ProductProof;
      const old = sink.getProof(p.id);
      if (old !== undefined) countProof(d, old, -1n);
      sink.putProof(p, json);
      countProof(d, p, 1n);
      const rec = proofRecord(p);
      const oldA = sink.getAttestation(p.id);
      if (oldA !== undefined) countAttestation(d, oldA, -1n);
      sink.putAttestation(rec, json);
      countAttestation(d, rec, 1n);
    } else if (key.startsWith(KEY_PREFIX.challenge)) {
      const c = value as ProductChallenge;
      const old = sink.getChallenge(c.id);
      if (old !== undefined) countChallenge(d, old, -1n);
      sink.putChallenge(c, json);
      countChallenge(d, c, 1n);
    } else if (key.startsWith(KEY_PREFIX.settlement)) {
      const s = value as Settlement;
      const old = sink.getSettlement(s.id);
      if (old !== undefined) countSettlement(d, old, -1n);
      sink.putSettlement(s, json);
      countSettlement(d, s, 1n);
    } else {
      const r = value as EpochRewards;
      if (sink.getRewards(r.epoch) !== undefined) countRewards(d, -1n);
      sink.putRewards(r, json);
      countRewards(d, 1n);
    }
  }
  sink.addCounters(d.map);
}

// ---------------------------------------------------------------- statistics from counters

/** What the statistics read: counters by name, and the counters of a name range in order. */
export interface CounterView {
  get(name: string): bigint;
  /** Counters with lo <= name <= hi, ascending (descending with `desc`). */
  range(lo: string, hi: string, desc: boolean): Iterable<readonly [string, bigint]>;
}

/** Counters of the list totals a query without filters (or with the filters below only) can take from the counters. */
export function totalFromCounters(table: ProductTableName, q: IndexQuery, view: CounterView): number | undefined {
  const w = q.window;
  if (q.none || q.ranges.length > 0 || w.fromHeight !== undefined || w.toHeight !== undefined || w.fromTime !== undefined || w.toTime !== undefined) return undefined;
  const eq = new Map(q.eq);
  if (eq.size > 1) return undefined;
  const sum = (names: string[]): number => Number(names.reduce((n, x) => n + view.get(x), 0n));
  const status = eq.get('status');
  switch (table) {
    case 'proofs':
      if (eq.size === 0) return sum(PROOF_STATUSES.map((s) => counterName('proof', ALL, s)));
      return status === undefined ? undefined : sum([counterName('proof', ALL, status)]);
    case 'attestations':
      if (eq.size === 0) return sum(ATTESTATION_STATUSES.map((s) => counterName('att', ALL, s)));
      return status === undefined ? undefined : sum([counterName('att', ALL, status)]);
    case 'challenges':
      if (eq.size === 0) return sum(CHALLENGE_STATUSES.map((s) => counterName('chal', ALL, `n.${s}`)));
      return status === undefined ? undefined : sum([counterName('chal', ALL, `n.${status}`)]);
    case 'settlements': {
      if (eq.size === 0) return sum([counterName('settle', ALL, 'count')]);
      const v = eq.get('validatorId');
      if (v !== undefined) return sum([counterName('settle', validatorGroup(v), 'count')]);
      const e = eq.get('epoch');
      return e === undefined ? undefined : sum([counterName('settle', epochGroup(Number(e)), 'count')]);
    }
    case 'rewards':
      return eq.size === 0 ? sum([counterName('reward', ALL, 'count')]) : undefined;
  }
}

/**
 * Groups of `family` whose group names start with `letter`, between `lo` and
 * `hi` (group keys), in order, at most `limit` of them: group key → field →
 * value. `hasMore`: another group follows.
 */
function readGroups(view: CounterView, family: string, letter: string, lo: string, hi: string, desc: boolean, limit: number): { groups: [string, Map<string, bigint>][]; hasMore: boolean } {
  const groups: [string, Map<string, bigint>][] = [];
  let hasMore = false;
  for (const [name, value] of view.range(`${family}|${letter}${lo}`, `${family}|${letter}${hi}|~`, desc)) {
    const [, group, field] = name.split('|') as [string, string, string];
    const key = group.slice(1);
    const last = groups[groups.length - 1];
    if (last !== undefined && last[0] === key) {
      last[1].set(field, value);
      continue;
    }
    if (groups.length === limit) {
      hasMore = true;
      break;
    }
    groups.push([key, new Map([[field, value]])]);
  }
  return { groups, hasMore };
}

/** The epoch range a stats query selects, as group keys. */
function epochRange(q: ProductStatsQuery): { lo: string; hi: string } | null {
  const lo = Math.max(q.epoch ?? 0, q.fromEpoch ?? 0);
  const hi = Math.min(q.epoch ?? Number.MAX_SAFE_INTEGER, q.toEpoch ?? Number.MAX_SAFE_INTEGER);
  return lo > hi ? null : { lo: padNumber(lo), hi: padNumber(hi) };
}

export function attestationStats(view: CounterView, q: ProductStatsQuery): AttestationStats {
  const byStatus = Object.fromEntries(ATTESTATION_STATUSES.map((s) => [s, Number(view.get(counterName('att', ALL, s)))])) as Record<AttestationStatus, number>;
  const range = epochRange(q);
  const { groups, hasMore } = range === null ? { groups: [], hasMore: false } : readGroups(view, 'att', 'e', range.lo, range.hi, true, q.limit);
  const byEpoch = groups.map(([key, f]): AttestationEpochCounts => {
    const n = (s: AttestationStatus): number => Number(f.get(s) ?? 0n);
    return { epoch: Number(key), total: n('pending') + n('finalized') + n('invalidated'), pending: n('pending'), finalized: n('finalized'), invalidated: n('invalidated') };
  });
  return { total: byStatus.pending + byStatus.finalized + byStatus.invalidated, byStatus, byEpoch, hasMoreEpochs: hasMore };
}

export function challengeStats(view: CounterView): ChallengeStats {
  const byStatus = Object.fromEntries(CHALLENGE_STATUSES.map((s) => [s, Number(view.get(counterName('chal', ALL, `n.${s}`)))])) as Record<ChallengeStatus, number>;
  const bonds = Object.fromEntries(CHALLENGE_STATUSES.map((s) => [s, view.get(counterName('chal', ALL, `bond.${s}`))])) as Record<ChallengeStatus, bigint>;
  return {
    total: CHALLENGE_STATUSES.reduce((n, s) => n + byStatus[s], 0),
    byStatus,
    bonds,
    slashed: view.get(counterName('chal', ALL, 'slashed')),
    challengerRewards: view.get(counterName('chal', ALL, 'challengerReward')),
    clawedBack: view.get(counterName('chal', ALL, 'clawedBack')),
  };
}

function settlementTotals(f: (field: string) => bigint): SettlementTotals {
  return { count: Number(f('count')), amount: f('amount'), protocolFee: f('protocolFee'), net: f('net') };
}

export function settlementStats(view: CounterView, q: ProductStatsQuery): SettlementStats {
  const totals = settlementTotals((x) => view.get(counterName('settle', ALL, x)));
  const v = q.validatorId === undefined ? { lo: '', hi: '~' } : { lo: q.validatorId, hi: q.validatorId };
  const vs = readGroups(view, 'settle', 'v', v.lo, v.hi, false, q.limit);
  const range = epochRange(q);
  const es = range === null ? { groups: [], hasMore: false } : readGroups(view, 'settle', 'e', range.lo, range.hi, true, q.limit);
  return {
    totals,
    byValidator: vs.groups.map(([key, f]) => ({ validatorId: key, ...settlementTotals((x) => f.get(x) ?? 0n) })),
    hasMoreValidators: vs.hasMore,
    byEpoch: es.groups.map(([key, f]) => ({ epoch: Number(key), ...settlementTotals((x) => f.get(x) ?? 0n) })),
    hasMoreEpochs: es.hasMore,
  };
}

// ---------------------------------------------------------------- the in-memory index

/** Strings in ascending order, with binary search; appends at the end cost O(log n). */
class SortedStrings {
  readonly items: string[] = [];

  /** The first position whose item is >= k. */
  lowerBound(k: string): number {
    let a = 0;
    let b = this.items.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.items[mid]! < k) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  insert(k: string): void {
    const n = this.items.length;
    if (n === 0 || this.items[n - 1]! < k) {
      this.items.push(k);
      return;
    }
    const i = this.lowerBound(k);
    if (this.items[i] !== k) this.items.splice(i, 0, k);
  }

  remove(k: string): void {
    const i = this.lowerBound(k);
    if (this.items[i] === k) this.items.splice(i, 1);
  }
}

/**
 * Text of a non-negative value whose text order is its numeric order: its
 * number of digits (two digits), then the digits.
 */
const valueKey = (v: bigint): string => {
  const d = v.toString();
  return `${d.length.toString().padStart(2, '0')}${d}`;
};

/**
 * A range filter's index: `valueKey|sortKey` of every row, in order. Writes
 * go to a small buffer (and a set of removed entries) that the next read
 * merges in, so that a block's writes cost one merge, not a splice each.
 */
class RangeIndex {
  private sorted: string[] = [];
  private added: string[] = [];
  private readonly removed = new Set<string>();

  insert(e: string): void {
    // Removed from `sorted` but not merged out yet: it is still there.
    if (this.removed.delete(e)) return;
    this.added.push(e);
  }

  remove(e: string): void {
    const i = this.added.indexOf(e);
    if (i >= 0) this.added.splice(i, 1);
    else this.removed.add(e);
  }

  /** The entries, merged and in order. */
  entries(): readonly string[] {
    if (this.added.length === 0 && this.removed.size === 0) return this.sorted;
    const add = this.added.sort();
    const out: string[] = [];
    let j = 0;
    for (const e of this.sorted) {
      if (this.removed.has(e)) continue;
      while (j < add.length && add[j]! < e) out.push(add[j++]!);
      out.push(e);
    }
    while (j < add.length) out.push(add[j++]!);
    this.sorted = out;
    this.added = [];
    this.removed.clear();
    return out;
  }
}

/** A range with at most this many matches is read through its index (matches sorted by (height, key)); more, and rows are walked in order. */
export const RANGE_SORT_MAX = 4096;

/** Sort key of a row: its height (fixed width) and key, so that text order is (height, key) order. */
const sortKey = (height: number, key: string): string => `${padNumber(height)}|${key}`;

/** One table of the in-memory index: rows by key, every sort key in order, and per equality field and value the sort keys of its rows. */
class MemoryTable<R> {
  private readonly rows = new Map<string, { readonly row: R; readonly sk: string }>();
  private readonly bySk = new Map<string, R>();
  private readonly all = new SortedStrings();
  private readonly by = new Map<string, Map<string, SortedStrings>>();
  private readonly byRange = new Map<string, RangeIndex>();

  constructor(readonly spec: ProductTableSpec<R>) {
    for (const f of Object.keys(spec.eq)) this.by.set(f, new Map());
    for (const f of Object.keys(spec.ranges)) this.byRange.set(f, new RangeIndex());
  }

  get size(): number {
    return this.rows.size;
  }

  get(key: string): R | undefined {
    return this.rows.get(key)?.row;
  }

  put(row: R): void {
    const key = this.spec.key(row);
    this.delete(key);
    const sk = sortKey(this.spec.height(row), key);
    this.rows.set(key, { row, sk });
    this.bySk.set(sk, row);
    this.all.insert(sk);
    for (const [f, values] of Object.entries(this.spec.eq)) {
      const m = this.by.get(f)!;
      for (const v of values(row)) {
        let s = m.get(v);
        if (s === undefined) m.set(v, (s = new SortedStrings()));
        s.insert(sk);
      }
    }
    for (const [f, value] of Object.entries(this.spec.ranges)) {
      const v = value(row);
      if (v !== null) this.byRange.get(f)!.insert(`${valueKey(v)}|${sk}`);
    }
  }

  delete(key: string): void {
    const old = this.rows.get(key);
    if (old === undefined) return;
    this.rows.delete(key);
    this.bySk.delete(old.sk);
    this.all.remove(old.sk);
    for (const [f, values] of Object.entries(this.spec.eq)) {
      const m = this.by.get(f)!;
      for (const v of values(old.row)) {
        const s = m.get(v);
        s?.remove(old.sk);
        if (s !== undefined && s.items.length === 0) m.delete(v);
      }
    }
    for (const [f, value] of Object.entries(this.spec.ranges)) {
      const v = value(old.row);
      if (v !== null) this.byRange.get(f)!.remove(`${valueKey(v)}|${old.sk}`);
    }
  }

  /** The page of rows of list[a, b) that match `q`, walking in order and stopping at the page. */
  private walkUntil(q: IndexQuery, list: readonly string[], a: number, b: number, offset: number, limit: number, order: 'asc' | 'desc'): R[] {
    const items: R[] = [];
    let seen = 0;
    for (let k = 0; k < b - a && items.length < limit; k++) {
      const r = this.bySk.get(list[order === 'asc' ? a + k : b - 1 - k]!)!;
      if (!matchesIndexQuery(this.spec, r, q)) continue;
      if (seen++ >= offset) items.push(r);
    }
    return items;
  }

  /**
   * Answers `q`: the height window becomes a slice of sort keys (binary
   * search), read from the smallest list among the query's equality filters
   * (or every row); the slice is walked in the query's order with the other
   * filters, or, when none is left, paged by position without a walk. A
   * range filter counts its matches in its own index: few (or fewer than the
   * slice) are read from there and sorted; many with no other filter give
   * the total, and the walk stops at the page.
   */
  query(q: IndexQuery, height: number, timeAt: (h: number) => number): ProductList<R> {
    if (q.none) return { total: 0, items: [] };
    let list: readonly string[] = this.all.items;
    let used: string | undefined;
    for (const [f, v] of q.eq) {
      const s = this.by.get(f)!.get(v)?.items ?? [];
      if (s.length < list.length || used === undefined) {
        list = s;
        used = f;
      }
    }
    const w = q.window;
    const windowed = w.fromHeight !== undefined || w.toHeight !== undefined || w.fromTime !== undefined || w.toTime !== undefined;
    let a = 0;
    let b = list.length;
    let lo = 0;
    let hi = Number.MAX_SAFE_INTEGER;
    if (windowed) {
      ({ lo, hi } = heightBounds(w, height, timeAt));
      if (lo > hi) return { total: 0, items: [] };
      a = lowerBound(list, `${padNumber(lo)}|`);
      b = lowerBound(list, `${padNumber(hi + 1)}|`);
    }
    const { offset, limit, order } = q.page;
    const range = q.ranges[0];
    if (range !== undefined) {
      // Matches of the range from its index: their number by binary search.
      const entries = this.byRange.get(range[0])!.entries();
      const ra = range[1] === undefined ? 0 : lowerBound(entries, `${valueKey(range[1])}|`);
      const rb = range[2] === undefined ? entries.length : lowerBound(entries, `${valueKey(range[2])}|~`);
      const inRange = Math.max(0, rb - ra);
      if (used === undefined && !windowed && q.ranges.length === 1 && inRange > RANGE_SORT_MAX) {
        // Many matches and no other filter: their number is the total, and walking the rows in order meets the page soon.
        return { total: inRange, items: this.walkUntil(q, list, a, b, offset, limit, order) };
      }
      if (inRange <= RANGE_SORT_MAX || inRange < b - a) {
        // Fewer matches than rows to walk: the matches' sort keys, filtered and sorted.
        const sks: string[] = [];
        for (let i = ra; i < rb; i++) {
          const e = entries[i]!;
          const sk = e.slice(e.indexOf('|') + 1);
          const r = this.bySk.get(sk)!;
          const h = this.spec.height(r);
          if (h >= lo && h <= hi && matchesIndexQuery(this.spec, r, q)) sks.push(sk);
        }
        sks.sort();
        if (order === 'desc') sks.reverse();
        return { total: sks.length, items: sks.slice(offset, offset + limit).map((k) => this.bySk.get(k)!) };
      }
    }
    const others = q.eq.length - (used === undefined ? 0 : 1) + q.ranges.length;
    if (others === 0) {
      const total = b - a;
      const n = Math.max(0, Math.min(limit, total - offset));
      const items: R[] = [];
      for (let k = 0; k < n; k++) items.push(this.bySk.get(list[order === 'asc' ? a + offset + k : b - 1 - offset - k]!)!);
      return { total, items };
    }
    const items: R[] = [];
    let total = 0;
    const visit = (i: number): void => {
      const r = this.bySk.get(list[i]!)!;
      if (!matchesIndexQuery(this.spec, r, q, used)) return;
      if (total >= offset && items.length < limit) items.push(r);
      total++;
    };
    if (order === 'asc') for (let i = a; i < b; i++) visit(i);
    else for (let i = b - 1; i >= a; i--) visit(i);
    return { total, items };
  }
}

function lowerBound(items: readonly string[], k: string): number {
  let a = 0;
  let b = items.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (items[mid]! < k) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** Counters in memory: values by name and the names in order (for group ranges). */
class MemoryCounters implements CounterView {
  private readonly values = new Map<string, bigint>();
  private readonly names = new SortedStrings();

  get(name: string): bigint {
    return this.values.get(name) ?? 0n;
  }

  add(deltas: ReadonlyMap<string, bigint>): void {
    for (const [name, d] of deltas) {
      const v = (this.values.get(name) ?? 0n) + d;
      if (v === 0n) {
        if (this.values.delete(name)) this.names.remove(name);
      } else {
        if (!this.values.has(name)) this.names.insert(name);
        this.values.set(name, v);
      }
    }
  }

  *range(lo: string, hi: string, desc: boolean): Iterable<readonly [string, bigint]> {
    const items = this.names.items;
    const a = this.names.lowerBound(lo);
    let b = a;
    while (b < items.length && items[b]! <= hi) b++;
    if (desc) for (let i = b - 1; i >= a; i--) yield [items[i]!, this.values.get(items[i]!)!];
    else for (let i = a; i < b; i++) yield [items[i]!, this.values.get(items[i]!)!];
  }
}

/** Where the in-memory index finds the chain's height and block timestamps (for time windows). */
export interface ChainTimes {
  height(): number;
  timeAt(height: number): number;
}

/** The product index of the snapshot and memory stores. */
export class MemoryProductIndex implements ProductIndexSink {
  private readonly proofs = new MemoryTable(PROOFS);
  private readonly attestations = new MemoryTable(ATTESTATIONS);
  private readonly challenges = new MemoryTable(CHALLENGES);
  private readonly settlements = new MemoryTable(SETTLEMENTS);
  private readonly rewards = new MemoryTable(REWARDS);
  private readonly counters = new MemoryCounters();

  constructor(private readonly chain: ChainTimes) {}

  /** Feeds the index with state changes (see `applyProductChanges`). */
  apply(changes: Iterable<readonly [string, string | null]>): void {
    applyProductChanges(this, changes);
  }

  getProof(id: string): ProductProof | undefined {
    return this.proofs.get(id);
  }
  getAttestation(proofId: string): AttestationRecord | undefined {
    return this.attestations.get(proofId);
  }
  getChallenge(id: string): ProductChallenge | undefined {
    return this.challenges.get(id);
  }
  getSettlement(id: string): Settlement | undefined {
    return this.settlements.get(id);
  }
  getRewards(epoch: number): EpochRewards | undefined {
    return this.rewards.get(padNumber(epoch));
  }
  putProof(p: ProductProof): void {
    this.proofs.put(p);
  }
  putAttestation(a: AttestationRecord): void {
    this.attestations.put(a);
  }
  deleteAttestation(a: AttestationRecord): void {
    this.attestations.delete(a.proofId);
  }
  putChallenge(c: ProductChallenge): void {
    this.challenges.put(c);
  }
  putSettlement(s: Settlement): void {
    this.settlements.put(s);
  }
  putRewards(r: EpochRewards): void {
    this.rewards.put(r);
  }
  addCounters(deltas: ReadonlyMap<string, bigint>): void {
    this.counters.add(deltas);
  }

  private run<R>(t: MemoryTable<R>, q: IndexQuery): ProductList<R> {
    return t.query(q, this.chain.height(), (h) => this.chain.timeAt(h));
  }

  queryProofs(q: ProofQuery): ProductList<ProductProof> {
    return this.run(this.proofs, proofIndexQuery(q));
  }
  queryAttestations(q: AttestationQuery): ProductList<AttestationRecord> {
    return this.run(this.attestations, attestationIndexQuery(q));
  }
  queryChallenges(q: ChallengeQuery): ProductList<ProductChallenge> {
    return this.run(this.challenges, challengeIndexQuery(q));
  }
  querySettlements(q: SettlementQuery): ProductList<Settlement> {
    return this.run(this.settlements, settlementIndexQuery(q));
  }
  queryRewards(q: RewardQuery): ProductList<EpochRewards> {
    return this.run(this.rewards, rewardIndexQuery(q));
  }
  attestationStats(q: ProductStatsQuery): AttestationStats {
    return attestationStats(this.counters, q);
  }
  challengeStats(): ChallengeStats {
    return challengeStats(this.counters);
  }
  settlementStats(q: ProductStatsQuery): SettlementStats {
    return settlementStats(this.counters, q);
  }
}

/** Checks the paging of a product query (the API validates user input first). */
export function validProductPage(q: ProductPage): boolean {
  return Number.isSafeInteger(q.offset) && q.offset >= 0 && Number.isSafeInteger(q.limit) && q.limit >= 0;
}

/**
 * The product reads of a store: each checks its page, then asks the index
 * `current()` returns (which throws when the store cannot serve reads).
 */
export function checkedProductReads(current: (what: string) => ProductReads): ProductReads {
  const paged = (what: string, q: ProductPage): ProductReads => {
    if (!validProductPage(q)) throw new FastposError(ErrorCode.INVALID_REQUEST, 'offset and limit must be non-negative integers');
    return current(what);
  };
  return {
    queryProofs: (q) => paged('queryProofs', q).queryProofs(q),
    queryAttestations: (q) => paged('queryAttestations', q).queryAttestations(q),
    queryChallenges: (q) => paged('queryChallenges', q).queryChallenges(q),
    querySettlements: (q) => paged('querySettlements', q).querySettlements(q),
    queryRewards: (q) => paged('queryRewards', q).queryRewards(q),
    attestationStats: (q) => current('attestationStats').attestationStats(q),
    challengeStats: () => current('challengeStats').challengeStats(),
    settlementStats: (q) => current('settlementStats').settlementStats(q),
  };
}
