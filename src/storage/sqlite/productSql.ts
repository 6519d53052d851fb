/**
 * The product index in SQLite (schema version 3, migrations.ts): one table
 * per product list, clustered on (height, key) so that a list in chain order
 * and a height window need no index, a secondary index per equality filter
 * (each ordered by (value, height, key), so a filtered page is read in
 * order and stops at the page) and per range filter, and `product_totals`,
 * the named counters of productIndex.ts that the statistics and most list
 * totals read instead of counting rows.
 *
 * `SqliteProductSink` writes the index: in the writer's commit transaction
 * (writer.ts) from a block's changes, and in the migration from the state
 * table. `ProductSqlReader` answers the queries on the store's connection.
 * @module
 */
import type Database from 'better-sqlite3';
import { decodeStateValue, KEY_PREFIX } from '../../codec/state.js';
import type { EpochRewards, PendingAttestation, ProductChallenge, ProductProof, Settlement } from '../../types/index.js';
import {
  ATTESTATIONS,
  attestationIndexQuery,
  attestationStats,
  CHALLENGES,
  challengeIndexQuery,
  challengeStats,
  pendingRecord,
  proofIndexQuery,
  proofRecord,
  PROOFS,
  REWARDS,
  rewardIndexQuery,
  SETTLEMENTS,
  settlementIndexQuery,
  settlementStats,
  totalFromCounters,
  type AttestationQuery,
  type AttestationRecord,
  type AttestationStats,
  type ChallengeQuery,
  type ChallengeStats,
  type CounterView,
  type IndexQuery,
  type ProductIndexSink,
  type ProductList,
  type ProductStatsQuery,
  type ProductTableSpec,
  type ProofQuery,
  type RewardQuery,
  type SettlementQuery,
  type SettlementStats,
} from '../productIndex.js';
import { heightBounds } from '../txIndex.js';
import { amountKey } from './migrations.js';

/**
 * Version 3: the product index. Tables are WITHOUT ROWID with the primary
 * key (height, key); `data` is the canonical JSON of the state value a row
 * comes from (for an attestation: its pending attestation, or the proof it
 * finalized into). Amounts are compared through `amountKey` columns. Tables
 * left by an earlier build are dropped first: the index is rebuilt from the
 * state whatever a file held.
 */
export const PRODUCT_SCHEMA = `
DROP TABLE IF EXISTS product_proofs;
DROP TABLE IF EXISTS product_attestations;
DROP TABLE IF EXISTS product_challenges;
DROP TABLE IF EXISTS product_settlements;
DROP TABLE IF EXISTS product_rewards;
DROP TABLE IF EXISTS product_reward_payouts;
DROP TABLE IF EXISTS product_totals;
CREATE TABLE product_proofs (
  height INTEGER NOT NULL, id TEXT NOT NULL, validator TEXT NOT NULL, epoch INTEGER NOT NULL,
  proof_ref TEXT NOT NULL, status TEXT NOT NULL, score INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (height, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX product_proofs_id ON product_proofs (id);
CREATE INDEX product_proofs_validator ON product_proofs (validator);
CREATE INDEX product_proofs_epoch ON product_proofs (epoch);
CREATE INDEX product_proofs_ref ON product_proofs (proof_ref);
CREATE INDEX product_proofs_status ON product_proofs (status);
CREATE INDEX product_proofs_score ON product_proofs (score);
CREATE TABLE product_attestations (
  height INTEGER NOT NULL, proof_id TEXT NOT NULL, validator TEXT NOT NULL, epoch INTEGER NOT NULL,
  status TEXT NOT NULL, proof_ref TEXT, score INTEGER, data TEXT NOT NULL,
  PRIMARY KEY (height, proof_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX product_attestations_id ON product_attestations (proof_id);
CREATE INDEX product_attestations_validator ON product_attestations (validator);
CREATE INDEX product_attestations_epoch ON product_attestations (epoch);
CREATE INDEX product_attestations_status ON product_attestations (status);
CREATE INDEX product_attestations_ref ON product_attestations (proof_ref) WHERE proof_ref IS NOT NULL;
CREATE INDEX product_attestations_score ON product_attestations (score) WHERE score IS NOT NULL;
CREATE TABLE product_challenges (
  height INTEGER NOT NULL, id TEXT NOT NULL, proof_id TEXT NOT NULL, validator TEXT NOT NULL, epoch INTEGER NOT NULL,
  challenger TEXT NOT NULL, status TEXT NOT NULL, bond_key TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (height, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX product_challenges_id ON product_challenges (id);
CREATE INDEX product_challenges_proof ON product_challenges (proof_id);
CREATE INDEX product_challenges_validator ON product_challenges (validator);
CREATE INDEX product_challenges_epoch ON product_challenges (epoch);
CREATE INDEX product_challenges_challenger ON product_challenges (challenger);
CREATE INDEX product_challenges_status ON product_challenges (status);
CREATE INDEX product_challenges_bond ON product_challenges (bond_key);
CREATE TABLE product_settlements (
  height INTEGER NOT NULL, id TEXT NOT NULL, payer TEXT NOT NULL, reference TEXT NOT NULL, validator TEXT NOT NULL,
  epoch INTEGER NOT NULL, amount_key TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (height, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX product_settlements_id ON product_settlements (id);
CREATE INDEX product_settlements_payer ON product_settlements (payer);
CREATE INDEX product_settlements_reference ON product_settlements (reference);
CREATE INDEX product_settlements_validator ON product_settlements (validator);
CREATE INDEX product_settlements_epoch ON product_settlements (epoch);
CREATE INDEX product_settlements_amount ON product_settlements (amount_key);
CREATE TABLE product_rewards (
  height INTEGER NOT NULL, epoch INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (height, epoch)
) WITHOUT ROWID;
CREATE UNIQUE INDEX product_rewards_epoch ON product_rewards (epoch);
CREATE TABLE product_reward_payouts (validator TEXT NOT NULL, epoch INTEGER NOT NULL, PRIMARY KEY (validator, epoch)) WITHOUT ROWID;
CREATE TABLE product_totals (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

// ---------------------------------------------------------------- rows

const proofFrom = (json: string): ProductProof => decodeStateValue(KEY_PREFIX.productProof, json) as ProductProof;
const challengeFrom = (json: string): ProductChallenge => decodeStateValue(KEY_PREFIX.challenge, json) as ProductChallenge;
const settlementFrom = (json: string): Settlement => decodeStateValue(KEY_PREFIX.settlement, json) as Settlement;
const rewardsFrom = (json: string): EpochRewards => decodeStateValue(KEY_PREFIX.epochRewards, json) as EpochRewards;

function attestationFrom(status: string, json: string): AttestationRecord {
  if (status === 'pending') {
    const p = decodeStateValue(KEY_PREFIX.pendingAttestation, json) as PendingAttestation;
    return pendingRecord(p);
  }
  return proofRecord(proofFrom(json));
}

/** Writes the product index in SQLite (within the caller's transaction). */
export class SqliteProductSink implements ProductIndexSink {
  private readonly st;

  constructor(db: Database.Database) {
    this.st = {
      proof: db.prepare('SELECT data FROM product_proofs WHERE id = ?').pluck(),
      putProof: db.prepare('INSERT OR REPLACE INTO product_proofs (height, id, validator, epoch, proof_ref, status, score, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      attestation: db.prepare('SELECT status, data FROM product_attestations WHERE proof_id = ?'),
      putAttestation: db.prepare(
        'INSERT OR REPLACE INTO product_attestations (height, proof_id, validator, epoch, status, proof_ref, score, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteAttestation: db.prepare('DELETE FROM product_attestations WHERE proof_id = ?'),
      challenge: db.prepare('SELECT data FROM product_challenges WHERE id = ?').pluck(),
      putChallenge: db.prepare(
        'INSERT OR REPLACE INTO product_challenges (height, id, proof_id, validator, epoch, challenger, status, bond_key, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      settlement: db.prepare('SELECT data FROM product_settlements WHERE id = ?').pluck(),
      putSettlement: db.prepare(
        'INSERT OR REPLACE INTO product_settlements (height, id, payer, reference, validator, epoch, amount_key, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      rewards: db.prepare('SELECT data FROM product_rewards WHERE epoch = ?').pluck(),
      putRewards: db.prepare('INSERT OR REPLACE INTO product_rewards (height, epoch, data) VALUES (?, ?, ?)'),
      deletePayouts: db.prepare('DELETE FROM product_reward_payouts WHERE epoch = ?'),
      putPayout: db.prepare('INSERT OR IGNORE INTO product_reward_payouts (validator, epoch) VALUES (?, ?)'),
      counter: db.prepare('SELECT value FROM product_totals WHERE name = ?').pluck(),
      setCounter: db.prepare('INSERT INTO product_totals (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      deleteCounter: db.prepare('DELETE FROM product_totals WHERE name = ?'),
    };
  }

  getProof(id: string): ProductProof | undefined {
    const json = this.st.proof.get(id) as string | undefined;
    return json === undefined ? undefined : proofFrom(json);
  }
  getAttestation(proofId: string): AttestationRecord | undefined {
    const row = this.st.attestation.get(proofId) as { status: string; data: string } | undefined;
    return row === undefined ? undefined : attestationFrom(row.status, row.data);
  }
  getChallenge(id: string): ProductChallenge | undefined {
    const json = this.st.challenge.get(id) as string | undefined;
    return json === undefined ? undefined : challengeFrom(json);
  }
  getSettlement(id: string): Settlement | undefined {
    const json = this.st.settlement.get(id) as string | undefined;
    return json === undefined ? undefined : settlementFrom(json);
  }
  getRewards(epoch: number): EpochRewards | undefined {
    const json = this.st.rewards.get(epoch) as string | undefined;
    return json === undefined ? undefined : rewardsFrom(json);
  }
  putProof(p: ProductProof, json: string): void {
    this.st.putProof.run(p.finalizedHeight, p.id, p.validatorId, p.epoch, p.proofRef, p.status, p.score, json);
  }
  putAttestation(a: AttestationRecord, json: string): void {
    this.st.putAttestation.run(a.height, a.proofId, a.validatorId, a.epoch, a.status, a.proof?.proofRef ?? null, a.proof?.score ?? null, json);
  }
  deleteAttestation(a: AttestationRecord): void {
    this.st.deleteAttestation.run(a.proofId);
  }
  putChallenge(c: ProductChallenge, json: string): void {
    this.st.putChallenge.run(c.openedAt, c.id, c.proofId, c.validatorId, c.epoch, c.challenger, c.status, amountKey(c.bond), json);
  }
  putSettlement(s: Settlement, json: string): void {
    this.st.putSettlement.run(s.height, s.id, s.payer, s.reference, s.validatorId, s.epoch, amountKey(s.amount), json);
  }
  putRewards(r: EpochRewards, json: string): void {
    this.st.putRewards.run(r.paidAt, r.epoch, json);
    this.st.deletePayouts.run(r.epoch);
    for (const p of r.payouts) this.st.putPayout.run(p.validatorId, r.epoch);
  }
  addCounters(deltas: ReadonlyMap<string, bigint>): void {
    for (const [name, d] of deltas) {
      const old = this.st.counter.get(name) as string | undefined;
      const v = (old === undefined ? 0n : BigInt(old)) + d;
      if (v === 0n) this.st.deleteCounter.run(name);
      else this.st.setCounter.run(name, v.toString());
    }
  }
}

// ---------------------------------------------------------------- queries

type ColumnType = 'text' | 'int' | 'amount';

/** Where the SQL of one table finds its filters. */
export interface SqlTable<R> {
  readonly spec: ProductTableSpec<R>;
  readonly table: string;
  /** The primary key's second column (after height). */
  readonly keyColumn: string;
  /** The columns `decode` reads. */
  readonly columns: readonly string[];
  /**
   * Equality filters: a column, or a term of its own. A `few`-valued column
   * (a status) is left to its index only when no other equality filter is
   * given: among a thousand validators' rows, a status matches most.
   */
  readonly eq: Readonly<Record<string, { readonly column: string; readonly type: ColumnType; readonly few?: true } | { readonly sql: string }>>;
  readonly ranges: Readonly<Record<string, { readonly column: string; readonly type: ColumnType; readonly index: string }>>;
  decode(row: Record<string, unknown>): R;
}

const text = (column: string) => ({ column, type: 'text' as const });
const int = (column: string) => ({ column, type: 'int' as const });
const few = (column: string) => ({ column, type: 'text' as const, few: true as const });

const PROOF_SQL: SqlTable<ProductProof> = {
  spec: PROOFS,
  table: 'product_proofs',
  keyColumn: 'id',
  columns: ['data'],
  eq: { id: text('id'), validatorId: text('validator'), epoch: int('epoch'), proofRef: text('proof_ref'), status: few('status') },
  ranges: { score: { column: 'score', type: 'int', index: 'product_proofs_score' } },
  decode: (r) => proofFrom(r.data as string),
};

const ATTESTATION_SQL: SqlTable<AttestationRecord> = {
  spec: ATTESTATIONS,
  table: 'product_attestations',
  keyColumn: 'proof_id',
  columns: ['status', 'data'],
  eq: { proofId: text('proof_id'), validatorId: text('validator'), epoch: int('epoch'), proofRef: text('proof_ref'), status: few('status') },
  ranges: { score: { column: 'score', type: 'int', index: 'product_attestations_score' } },
  decode: (r) => attestationFrom(r.status as string, r.data as string),
};

const CHALLENGE_SQL: SqlTable<ProductChallenge> = {
  spec: CHALLENGES,
  table: 'product_challenges',
  keyColumn: 'id',
  columns: ['data'],
  eq: { id: text('id'), proofId: text('proof_id'), validatorId: text('validator'), epoch: int('epoch'), challenger: text('challenger'), status: few('status') },
  ranges: { bond: { column: 'bond_key', type: 'amount', index: 'product_challenges_bond' } },
  decode: (r) => challengeFrom(r.data as string),
};

const SETTLEMENT_SQL: SqlTable<Settlement> = {
  spec: SETTLEMENTS,
  table: 'product_settlements',
  keyColumn: 'id',
  columns: ['data'],
  eq: { id: text('id'), payer: text('payer'), reference: text('reference'), validatorId: text('validator'), epoch: int('epoch') },
  ranges: { amount: { column: 'amount_key', type: 'amount', index: 'product_settlements_amount' } },
  decode: (r) => settlementFrom(r.data as string),
};

const REWARD_SQL: SqlTable<EpochRewards> = {
  spec: REWARDS,
  table: 'product_rewards',
  keyColumn: 'epoch',
  columns: ['data'],
  eq: { epoch: int('epoch'), validatorId: { sql: 'epoch IN (SELECT epoch FROM product_reward_payouts WHERE validator = ?)' } },
  ranges: {},
  decode: (r) => rewardsFrom(r.data as string),
};

/** A range with at most this many matches is read through its index and sorted; more, and the table is walked in order until the page is full. */
const RANGE_SORT_MAX = 4096;

/** The SQL of one query: the WHERE clause and its parameters, in order. */
interface Where {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** `walk`: range terms may not use their index (the table is walked in order instead). */
function whereOf<R>(t: SqlTable<R>, q: IndexQuery, bounds: { lo: number; hi: number } | null, walk = false): Where {
  const terms: string[] = [];
  const params: (string | number)[] = [];
  for (const [f, v] of q.eq) {
    const c = t.eq[f]!;
    if ('sql' in c) terms.push(c.sql);
    // A unary + keeps SQLite from reading through this column's index.
    else terms.push(`${c.few === true && q.eq.length > 1 ? '+' : ''}${c.column} = ?`);
    params.push('type' in c && c.type === 'int' ? Number(v) : v);
  }
  for (const [f, min, max] of q.ranges) {
    const c = t.ranges[f]!;
    const val = (x: bigint): string | number => (c.type === 'amount' ? amountKey(x) : Number(x));
    // A unary + keeps SQLite from reading through the column's index (NOT INDEXED does not, on WITHOUT ROWID tables).
    const col = `${walk ? '+' : ''}${c.column}`;
    if (min !== undefined) {
      terms.push(`${col} >= ?`);
      params.push(val(min));
    }
    if (max !== undefined) {
      terms.push(`${col} <= ?`);
      params.push(val(max));
    }
  }
  if (bounds !== null) {
    terms.push('height >= ? AND height <= ?');
    params.push(bounds.lo, bounds.hi);
  }
  return { sql: terms.length === 0 ? '' : ` WHERE ${terms.join(' AND ')}`, params };
}

/**
 * The SQL of a list query within the heights `bounds` (null: no window): the
 * count, and the page given the total (which decides how a range alone is
 * read); both take `params`, the page then LIMIT and OFFSET. Equality
 * filters read through their indexes, already in (height, key) order. A
 * range alone is read through its index when it has few matches (their keys
 * are sorted, then the page's rows read), otherwise the table is walked in
 * order until the page is full.
 */
export function listSql<R>(t: SqlTable<R>, q: IndexQuery, bounds: { lo: number; hi: number } | null): { count: string; page: (total: number) => string; params: (string | number)[] } {
  const where = whereOf(t, q, bounds);
  const rangeIndex = q.eq.length === 0 && q.ranges.length > 0 ? t.ranges[q.ranges[0]![0]]!.index : undefined;
  const dir = q.page.order === 'asc' ? 'ASC' : 'DESC';
  const by = `ORDER BY height ${dir}, ${t.keyColumn} ${dir}`;
  const page = (total: number): string => {
    if (rangeIndex !== undefined && total <= RANGE_SORT_MAX) {
      // The range index holds the keys (its entries end with the primary key): only they are sorted.
      const keys = `SELECT height, ${t.keyColumn} FROM ${t.table} INDEXED BY ${rangeIndex}${where.sql} ${by} LIMIT ? OFFSET ?`;
      return `SELECT ${t.columns.map((c) => `t.${c}`).join(', ')} FROM (${keys}) k JOIN ${t.table} t ON t.height = k.height AND t.${t.keyColumn} = k.${t.keyColumn} ORDER BY t.height ${dir}, t.${t.keyColumn} ${dir}`;
    }
    return `SELECT ${t.columns.join(', ')} FROM ${t.table}${whereOf(t, q, bounds, rangeIndex !== undefined).sql} ${by} LIMIT ? OFFSET ?`;
  };
  return { count: `SELECT COUNT(*) FROM ${t.table}${rangeIndex === undefined ? '' : ` INDEXED BY ${rangeIndex}`}${where.sql}`, page, params: where.params };
}

/** The SQL of each table, by name (for `listSql`). */
export const PRODUCT_SQL_TABLES = {
  proofs: PROOF_SQL,
  attestations: ATTESTATION_SQL,
  challenges: CHALLENGE_SQL,
  settlements: SETTLEMENT_SQL,
  rewards: REWARD_SQL,
} as const;

/** A store's connection, through its cache of prepared statements. */
export type PrepareCached = (sql: string) => Database.Statement;

/** Answers the product reads from the product tables. */
export class ProductSqlReader implements CounterView {
  constructor(
    private readonly prepare: PrepareCached,
    private readonly chain: { height(): number; timeAt(h: number): number },
  ) {}

  get(name: string): bigint {
    const v = this.prepare('SELECT value FROM product_totals WHERE name = ?').pluck().get(name) as string | undefined;
    return v === undefined ? 0n : BigInt(v);
  }

  *range(lo: string, hi: string, desc: boolean): Iterable<readonly [string, bigint]> {
    const sql = `SELECT name, value FROM product_totals WHERE name >= ? AND name <= ? ORDER BY name ${desc ? 'DESC' : 'ASC'}`;
    for (const r of this.prepare(sql).raw().iterate(lo, hi) as IterableIterator<[string, string]>) yield [r[0], BigInt(r[1])];
  }

  /**
   * The page and total of `q`. Equality filters go to their indexes, which
   * keep each value's rows in chain order; a height or time window is a
   * range of the primary key (or of the equality index's tail). The total
   * comes from the counters where they hold it (no filter, or the status,
   * validator or epoch of some lists), else from a count through the same
   * index (`listSql`).
   */
  private list<R>(t: SqlTable<R>, q: IndexQuery): ProductList<R> {
    if (q.none) return { total: 0, items: [] };
    const w = q.window;
    let bounds: { lo: number; hi: number } | null = null;
    if (w.fromHeight !== undefined || w.toHeight !== undefined || w.fromTime !== undefined || w.toTime !== undefined) {
      bounds = heightBounds(w, this.chain.height(), (h) => this.chain.timeAt(h));
      if (bounds.lo > bounds.hi) return { total: 0, items: [] };
    }
    const counted = totalFromCounters(t.spec.name, q, this);
    const sql = listSql(t, q, bounds);
    const total = counted ?? (this.prepare(sql.count).pluck().get(...sql.params) as number);
    const { offset, limit } = q.page;
    if (limit === 0 || offset >= total) return { total, items: [] };
    const rows = this.prepare(sql.page(total)).all(...sql.params, limit, offset) as Record<string, unknown>[];
    return { total, items: rows.map((r) => t.decode(r)) };
  }

  queryProofs(q: ProofQuery): ProductList<ProductProof> {
    return this.list(PROOF_SQL, proofIndexQuery(q));
  }
  queryAttestations(q: AttestationQuery): ProductList<AttestationRecord> {
    return this.list(ATTESTATION_SQL, attestationIndexQuery(q));
  }
  queryChallenges(q: ChallengeQuery): ProductList<ProductChallenge> {
    return this.list(CHALLENGE_SQL, challengeIndexQuery(q));
  }
  querySettlements(q: SettlementQuery): ProductList<Settlement> {
    return this.list(SETTLEMENT_SQL, settlementIndexQuery(q));
  }
  queryRewards(q: RewardQuery): ProductList<EpochRewards> {
    return this.list(REWARD_SQL, rewardIndexQuery(q));
  }
  attestationStats(q: ProductStatsQuery): AttestationStats {
    return attestationStats(this, q);
  }
  challengeStats(): ChallengeStats {
    return challengeStats(this);
  }
  settlementStats(q: ProductStatsQuery): SettlementStats {
    return settlementStats(this, q);
  }
}

/** Every product entry of the state table, for building the index from the state (the migration). */
export function productStateRows(db: Database.Database): IterableIterator<[string, string]> {
  // Product keys all start with "p" (pattest/, pproof/, pchal/, psettle/, preward/); the index ignores the others.
  return db.prepare(`SELECT key, value FROM state WHERE key >= 'p' AND key < 'q'`).raw().iterate() as IterableIterator<[string, string]>;
}

