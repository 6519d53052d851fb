// The product index of every ChainStore backend (SQLite with its writer
// thread and with inline commits, snapshot files, the in-memory store): fed
// by each block's state changes, it answers every product list filter and
// page and every statistic like a model computed from the state, at each
// height, after a reopen, after a backup, and (SQLite) after the migration
// that builds it from a version-2 file's state.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import {
  createChainStore,
  SCHEMA_VERSION,
  SQLITE_FILE,
  type AttestationQuery,
  type ChainStore,
  type ChainStoreOptions,
  type ChallengeQuery,
  type ProductStatsQuery,
  type ProofQuery,
  type RewardQuery,
  type SettlementQuery,
  type StorageBackend,
} from '../../../src/storage/index.js';
import { MemoryChainStore, MemoryDisk } from '../../../src/storage/memory.js';
import { attestationIndexQuery, challengeIndexQuery, MemoryProductIndex, proofIndexQuery, rewardIndexQuery, settlementIndexQuery } from '../../../src/storage/productIndex.js';
import { encodeStateValue, settlementKey } from '../../../src/codec/state.js';
import { sha256Hex } from '../../../src/crypto/index.js';
import type { Settlement } from '../../../src/types/index.js';
import { listSql, PRODUCT_SQL_TABLES } from '../../../src/storage/sqlite/productSql.js';
import { blockTime as T, tempDir } from './fixtures.js';
import {
  buildProductChain,
  CHALLENGERS,
  epochAt,
  expectedAttestations,
  expectedAttestationStats,
  expectedChallenges,
  expectedChallengeStats,
  expectedProofs,
  expectedRewards,
  expectedSettlements,
  expectedSettlementStats,
  modelOf,
  PAYERS,
  REFS,
  VALIDATORS,
  type ProductFixture,
} from './productFixture.js';

const BLOCKS = 40;
const fixture: ProductFixture = buildProductChain(BLOCKS);
const V = VALIDATORS;

type Page = { offset: number; limit: number; order: 'asc' | 'desc' };
type F<Q> = Omit<Q, keyof Page>;

const WINDOWS = [
  { fromHeight: 10 },
  { toHeight: 12 },
  { fromHeight: 8, toHeight: 20 },
  { fromHeight: 21, toHeight: 20 },
  { fromHeight: 0, toHeight: 10_000 },
  { fromTime: T(15) },
  { toTime: T(9) - 1 },
  { fromTime: T(5) + 1, toTime: T(30) - 1 },
  { fromTime: T(BLOCKS) + 1 },
  { fromTime: T(10), toHeight: 25 },
] as const;

const last = fixture.stateAt[BLOCKS]!;
/** A settlement, a challenge and a proof of the final state, to look up by id. */
const some = modelOf(last);
const aSettlement = some.settlements[7]!;
const aChallenge = some.challenges[3]!;
const aProof = some.proofs[5]!;

const PROOF_QUERIES: F<ProofQuery>[] = [
  {},
  { id: aProof.id },
  { id: 'ab'.repeat(32) },
  { validatorId: V[0]! },
  { validatorId: V[3]!, epoch: 2 },
  { epoch: 1 },
  { proofRef: REFS[1]! },
  { status: 'finalized' },
  { status: 'invalidated' },
  { status: 'invalidated', validatorId: V[1]! },
  { minScore: 20_000 },
  { maxScore: 10_000 },
  { minScore: 10_000, maxScore: 20_000 },
  { minScore: 30_000, maxScore: 20_000 },
  { validatorId: V[2]!, minScore: 15_000 },
  ...WINDOWS,
  { validatorId: V[4]!, fromHeight: 10, toHeight: 30 },
  { status: 'finalized', fromTime: T(12) },
];

const ATTESTATION_QUERIES: F<AttestationQuery>[] = [
  {},
  { proofId: aProof.id },
  { validatorId: V[1]! },
  { epoch: 3 },
  { status: 'pending' },
  { status: 'finalized' },
  { status: 'invalidated' },
  { status: 'pending', validatorId: V[0]! },
  { proofRef: REFS[0]! },
  { minScore: 15_000 },
  { status: 'pending', minScore: 0 },
  ...WINDOWS,
  { status: 'pending', fromHeight: 30 },
];

const CHALLENGE_QUERIES: F<ChallengeQuery>[] = [
  {},
  { id: aChallenge.id },
  { proofId: aChallenge.proofId },
  { validatorId: V[2]! },
  { epoch: 2 },
  { challenger: CHALLENGERS[1]! },
  { status: 'open' },
  { status: 'upheld' },
  { status: 'rejected' },
  { status: 'expired' },
  { openOnly: true },
  { openOnly: false },
  { openOnly: true, status: 'open' },
  { openOnly: true, status: 'upheld' },
  { openOnly: true, validatorId: V[0]! },
  { minBond: 100n },
  { maxBond: 25n },
  { minBond: 25n, maxBond: 1_000n },
  { minBond: 10n ** 30n },
  { challenger: CHALLENGERS[0]!, minBond: 1_000n },
  ...WINDOWS,
  { status: 'expired', toHeight: 20 },
];

const SETTLEMENT_QUERIES: F<SettlementQuery>[] = [
  {},
  { id: aSettlement.id },
  { payer: PAYERS[0]! },
  { payer: aSettlement.payer, reference: aSettlement.reference },
  { reference: aSettlement.reference },
  { reference: 'no-such-reference' },
  { validatorId: V[3]! },
  { epoch: 4 },
  { epoch: 4, validatorId: V[1]! },
  { minAmount: 100n },
  { maxAmount: 25n },
  { minAmount: 25n, maxAmount: 10_001n },
  { minAmount: 0n },
  { minAmount: 10n ** 38n },
  { payer: PAYERS[2]!, minAmount: 100n },
  ...WINDOWS,
  { payer: PAYERS[1]!, fromTime: T(20) },
];

const REWARD_QUERIES: F<RewardQuery>[] = [{}, { epoch: 2 }, { epoch: 99 }, { validatorId: V[0]! }, { validatorId: V[4]!, fromHeight: 10 }, ...WINDOWS];

const STATS_QUERIES: ProductStatsQuery[] = [
  { limit: 100 },
  { limit: 2 },
  { limit: 1 },
  { epoch: 1, limit: 10 },
  { fromEpoch: 1, toEpoch: 3, limit: 10 },
  { fromEpoch: 5, toEpoch: 2, limit: 10 },
  { fromEpoch: 4, limit: 10 },
  { validatorId: V[1]!, limit: 10 },
  { validatorId: 'f'.repeat(40), limit: 10 },
];

const PAGES = [
  [0, 1000],
  [0, 5],
  [5, 5],
  [3, 2],
  [0, 0],
  [1, 1],
  [1000, 10],
] as const;

const show = (q: unknown): string => JSON.stringify(q, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** Runs every filter in both orders over every page (and the pages at the end) against the model. */
function assertList<Q>(what: string, filters: F<Q>[], run: (q: Q) => { total: number; keys: string[] }, want: (q: Q) => { total: number; keys: string[] }): void {
  for (const filter of filters) {
    for (const order of ['asc', 'desc'] as const) {
      const total = want({ ...filter, offset: 0, limit: 0, order } as Q).total;
      for (const [offset, limit] of [...PAGES, [Math.max(0, total - 1), 5], [total, 5], [Math.max(0, total - 3), 2]] as const) {
        const q = { ...filter, offset, limit, order } as Q;
        assert.deepEqual(run(q), want(q), `${what} ${show(q)}`);
      }
    }
  }
}

/** Asserts that `store` answers every product query like the model of the state at `height`. */
function assertAnswers(store: ChainStore, height: number): void {
  const m = modelOf(fixture.stateAt[height]!);
  assertList('proofs', PROOF_QUERIES, (q: ProofQuery) => { const r = store.productReads.queryProofs(q); return { total: r.total, keys: r.items.map((p) => p.id) }; }, (q) => expectedProofs(m, q));
  assertList('attestations', ATTESTATION_QUERIES, (q: AttestationQuery) => { const r = store.productReads.queryAttestations(q); return { total: r.total, keys: r.items.map((a) => a.proofId) }; }, (q) => expectedAttestations(m, q));
  assertList('challenges', CHALLENGE_QUERIES, (q: ChallengeQuery) => { const r = store.productReads.queryChallenges(q); return { total: r.total, keys: r.items.map((c) => c.id) }; }, (q) => expectedChallenges(m, q));
  assertList('settlements', SETTLEMENT_QUERIES, (q: SettlementQuery) => { const r = store.productReads.querySettlements(q); return { total: r.total, keys: r.items.map((s) => s.id) }; }, (q) => expectedSettlements(m, q));
  assertList('rewards', REWARD_QUERIES, (q: RewardQuery) => { const r = store.productReads.queryRewards(q); return { total: r.total, keys: r.items.map((x) => String(x.epoch)) }; }, (q) => expectedRewards(m, q));
  for (const q of STATS_QUERIES) {
    assert.deepEqual(store.productReads.attestationStats(q), expectedAttestationStats(m, q), `attestation stats ${show(q)}`);
    assert.deepEqual(store.productReads.settlementStats(q), expectedSettlementStats(m, q), `settlement stats ${show(q)}`);
  }
  assert.deepEqual(store.productReads.challengeStats(), expectedChallengeStats(m), 'challenge stats');
  // The records themselves are the state's values.
  const all = { offset: 0, limit: 1000, order: 'asc' as const };
  assert.deepEqual(new Set(store.productReads.queryProofs(all).items), new Set(m.proofs));
  assert.deepEqual(new Set(store.productReads.queryChallenges(all).items), new Set(m.challenges));
  assert.deepEqual(new Set(store.productReads.querySettlements(all).items), new Set(m.settlements));
  assert.deepEqual(new Set(store.productReads.queryRewards(all).items), new Set(m.rewards));
  const pending = store.productReads.queryAttestations({ ...all, status: 'pending' }).items;
  assert.deepEqual(new Set(pending.map((a) => a.pending)), new Set(m.pending));
  assert.ok(pending.every((a) => a.proof === null && a.height === a.pending!.createdHeight));
  const proved = store.productReads.queryAttestations({ ...all, status: 'finalized' }).items;
  assert.ok(proved.every((a) => a.pending === null && a.proof !== null && a.proof.status === 'finalized' && a.height === a.proof.finalizedHeight));
}

/** The fixture has every kind of record, status and change it means to test. */
describe('product index fixture', () => {
  it('covers pending, finalized and invalidated attestations; every challenge status; settlements and rewards over several epochs', () => {
    const m = modelOf(last);
    assert.ok(m.pending.length >= 3, `pending ${m.pending.length}`);
    assert.ok(m.proofs.filter((p) => p.status === 'invalidated').length >= 2);
    for (const s of ['open', 'upheld', 'rejected', 'expired']) assert.ok(m.challenges.some((c) => c.status === s), s);
    assert.ok(m.settlements.length >= 60);
    assert.ok(new Set(m.settlements.map((s) => s.epoch)).size >= epochAt(BLOCKS));
    assert.ok(m.rewards.length >= 5);
    // Deletions happened: pending attestations that finalized or expired.
    assert.ok(fixture.commits.some((c) => [...c.changes].some(([k, v]) => k.startsWith('pattest/') && v === null)));
  });
});

const CONFIGS: readonly { readonly name: string; readonly backend: StorageBackend | 'memory'; readonly options: ChainStoreOptions }[] = [
  { name: 'sqlite, writer thread', backend: 'sqlite', options: {} },
  { name: 'sqlite, inline commits', backend: 'sqlite', options: { writerThread: false } },
  { name: 'snapshot', backend: 'snapshot', options: {} },
  { name: 'memory', backend: 'memory', options: {} },
];

for (const { name, backend, options } of CONFIGS) {
  describe(`product index (${name})`, () => {
    const dirs: string[] = [];
    const disks = new Map<string, MemoryDisk>();
    const create = (dir: string): ChainStore => {
      if (backend !== 'memory') return createChainStore(backend, dir, options);
      let disk = disks.get(dir);
      if (disk === undefined) disks.set(dir, (disk = new MemoryDisk()));
      return new MemoryChainStore(disk);
    };
    const newDir = (): string => {
      const d = tempDir(`product-${backend}`);
      dirs.push(d);
      return d;
    };
    after(() => {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it('is empty on a new store: lists answer no items, statistics zeros', async () => {
      const store = create(newDir());
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      const page = { offset: 0, limit: 10, order: 'desc' as const };
      assert.deepEqual(store.productReads.queryProofs(page), { total: 0, items: [] });
      assert.deepEqual(store.productReads.queryAttestations({ ...page, fromTime: 0 }), { total: 0, items: [] });
      assert.deepEqual(store.productReads.queryChallenges({ ...page, openOnly: true }), { total: 0, items: [] });
      assert.deepEqual(store.productReads.querySettlements({ ...page, minAmount: 1n }), { total: 0, items: [] });
      assert.deepEqual(store.productReads.queryRewards(page), { total: 0, items: [] });
      assert.deepEqual(store.productReads.challengeStats(), expectedChallengeStats(modelOf(new Map())));
      assert.deepEqual(store.productReads.settlementStats({ limit: 10 }), expectedSettlementStats(modelOf(new Map()), { limit: 10 }));
      assert.deepEqual(store.productReads.attestationStats({ limit: 10 }), expectedAttestationStats(modelOf(new Map()), { limit: 10 }));
      await store.close();
    });

    it('answers every filter, page and statistic like the model, block by block and after a reopen', async () => {
      const dir = newDir();
      const store = create(dir);
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      for (const [i, c] of fixture.commits.entries()) {
        await store.commitBlock(c);
        const h = i + 1;
        if (h === 7 || h === 23) assertAnswers(store, h);
      }
      assertAnswers(store, BLOCKS);
      await store.close();
      const again = create(dir);
      again.open();
      assertAnswers(again, BLOCKS);
      await again.close();
    });

    it('error: a negative or fractional offset or limit is INVALID_REQUEST', async () => {
      const store = create(newDir());
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      for (const page of [{ offset: -1, limit: 1 }, { offset: 0, limit: 1.5 }]) {
        assert.throws(() => store.productReads.queryProofs({ ...page, order: 'asc' }), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INVALID_REQUEST);
        assert.throws(() => store.productReads.querySettlements({ ...page, order: 'asc' }), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INVALID_REQUEST);
      }
      await store.close();
    });

    if (backend === 'memory') {
      it('a backup (a copy of the disk) answers the same', async () => {
        const dir = newDir();
        const store = create(dir) as MemoryChainStore;
        store.open();
        store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
        for (const c of fixture.commits) await store.commitBlock(c);
        await store.backup('copy');
        const copy = new MemoryChainStore(store.disk.backups.get('copy')!);
        copy.open();
        assertAnswers(copy, BLOCKS);
      });
    }

    if (backend === 'sqlite') {
      it('migration: a version 2 file (no product tables) gets the index built from its state at open; commits go on', async () => {
        const dir = newDir();
        const store = create(dir);
        store.open();
        store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
        for (const c of fixture.commits.slice(0, 30)) await store.commitBlock(c);
        await store.close();
        const db = new Database(path.join(dir, SQLITE_FILE));
        const productTables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'product_%'`).pluck().all() as string[];
        assert.deepEqual(productTables.sort(), ['product_attestations', 'product_challenges', 'product_proofs', 'product_reward_payouts', 'product_rewards', 'product_settlements', 'product_totals']);
        db.exec(productTables.map((t) => `DROP TABLE ${t};`).join('\n') + `DROP TABLE headers; UPDATE meta SET value = 2 WHERE key = 'schema_version';`);
        db.close();

        const upgraded = create(dir);
        assert.equal(upgraded.open().height, 30);
        assertAnswers(upgraded, 30);
        for (const c of fixture.commits.slice(30)) await upgraded.commitBlock(c);
        assertAnswers(upgraded, BLOCKS);
        await upgraded.close();
        const check = new Database(path.join(dir, SQLITE_FILE), { readonly: true });
        assert.equal(check.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), SCHEMA_VERSION);
        assert.equal(SCHEMA_VERSION, 4);
        check.close();
      });

      it('query plans: each equality filter reads its own index (a status only alone), a window alone the primary key; only a small range sorts, and only keys', async () => {
        const dir = newDir();
        const store = create(dir);
        store.open();
        store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
        for (const c of fixture.commits) await store.commitBlock(c);
        await store.close();
        const db = new Database(path.join(dir, SQLITE_FILE), { readonly: true });
        const plan = (sql: string, params: unknown[]): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');
        const T_ = PRODUCT_SQL_TABLES;
        const page = { offset: 0, limit: 10 };
        const cases: [string, () => { count: string; page: (total: number) => string; params: (string | number)[] }, RegExp, number][] = [
          ['proofs by validator', () => listSql(T_.proofs, proofIndexQuery({ ...page, order: 'desc', validatorId: V[0]! }), null), /USING (COVERING )?INDEX product_proofs_validator \(validator=\?\)/, 100_000],
          ['proofs by status in a window', () => listSql(T_.proofs, proofIndexQuery({ ...page, order: 'asc', status: 'finalized' }), { lo: 3, hi: 9 }), /USING (COVERING )?INDEX product_proofs_status \(status=\? AND height>\? AND height<\?\)/, 100_000],
          ['proofs in a window', () => listSql(T_.proofs, proofIndexQuery({ ...page, order: 'desc' }), { lo: 3, hi: 9 }), /USING PRIMARY KEY \(height>\? AND height<\?\)/, 100_000],
          ['attestations by validator and status', () => listSql(T_.attestations, attestationIndexQuery({ ...page, order: 'desc', validatorId: V[1]!, status: 'finalized' }), null), /USING (COVERING )?INDEX product_attestations_validator \(validator=\?\)/, 100_000],
          ['challenges by challenger and status', () => listSql(T_.challenges, challengeIndexQuery({ ...page, order: 'desc', challenger: CHALLENGERS[0]!, openOnly: true }), null), /USING (COVERING )?INDEX product_challenges_challenger/, 100_000],
          ['settlements by payer and reference', () => listSql(T_.settlements, settlementIndexQuery({ ...page, order: 'desc', payer: PAYERS[0]!, reference: 'invoice-1' }), null), /USING (COVERING )?INDEX product_settlements_(payer|reference)/, 100_000],
          ['settlements by payer and amount', () => listSql(T_.settlements, settlementIndexQuery({ ...page, order: 'desc', payer: PAYERS[0]!, minAmount: 100n }), null), /USING (COVERING )?INDEX product_settlements_payer/, 100_000],
        ];
        for (const [what, build, index, total] of cases) {
          const sql = build();
          const p = plan(sql.page(total), [...sql.params, 10, 0]);
          assert.match(p, index, `${what}: ${p}`);
          assert.doesNotMatch(p, /TEMP B-TREE/, `${what}: ${p}`);
          assert.match(plan(sql.count, sql.params), index, `count of ${what}`);
        }
        // Rewards of a validator: its epochs from the payouts table, sorted (one record per epoch paid).
        const rewards = listSql(T_.rewards, rewardIndexQuery({ ...page, order: 'desc', validatorId: V[0]! }), null);
        assert.match(plan(rewards.page(10), [...rewards.params, 10, 0]), /SEARCH product_reward_payouts USING PRIMARY KEY \(validator=\?\)/);
        // A range alone: few matches through the range index, sorting keys only; many by walking the primary key in order.
        const range = listSql(T_.settlements, settlementIndexQuery({ ...page, order: 'desc', minAmount: 100n, maxAmount: 10_001n }), null);
        assert.match(plan(range.count, range.params), /USING COVERING INDEX product_settlements_amount/);
        const small = plan(range.page(100), [...range.params, 10, 0]);
        assert.match(small, /SEARCH settlements USING COVERING INDEX product_settlements_amount|USING COVERING INDEX product_settlements_amount/, small);
        assert.match(small, /SEARCH t USING (PRIMARY KEY|INDEX product_settlements_id)/, small);
        const large = plan(range.page(1_000_000), [...range.params, 10, 0]);
        assert.match(large, /SCAN product_settlements/, large);
        assert.doesNotMatch(large, /TEMP B-TREE|INDEX product_settlements_amount/, large);
        db.close();
      });
    }
  });
}

describe('in-memory product index: range filters over many records', () => {
  it('answers amount ranges like a filter of every record: few matches (sorted from the range index), many (walked in order), with a window, with a payer, after deletions of their old values', () => {
    const times = [0, ...Array.from({ length: 200 }, (_, h) => T(h + 1))];
    const ix = new MemoryProductIndex({ height: () => 200, timeAt: (h) => times[h]! });
    const payers = PAYERS;
    const all = new Map<string, Settlement>();
    for (let b = 0; b < 20; b++) {
      const changes: [string, string][] = [];
      for (let k = b * 500; k < (b + 1) * 500; k++) {
        const payer = payers[k % payers.length]!;
        const amount = BigInt(1 + ((k * 104_729) % 1_000_000));
        const s: Settlement = { id: sha256Hex(`s-${k}`), payer, reference: `r-${k}`, validatorId: V[k % 3]!, net: amount, amount, protocolFee: 0n, feeBps: 0, height: 1 + b * 10 + (k % 7), epoch: b };
        all.set(s.id, s);
        changes.push([settlementKey(payer, s.reference), encodeStateValue(settlementKey(payer, s.reference), s)]);
      }
      ix.apply(changes);
    }
    const want = (q: SettlementQuery) => expectedSettlements({ proofs: [], pending: [], challenges: [], settlements: [...all.values()], rewards: [] }, q);
    const got = (q: SettlementQuery) => {
      const r = ix.querySettlements(q);
      return { total: r.total, keys: r.items.map((s) => s.id) };
    };
    const filters: F<SettlementQuery>[] = [
      { minAmount: 10_000n, maxAmount: 19_999n },
      { minAmount: 500_000n },
      { maxAmount: 900_000n },
      { minAmount: 100n, maxAmount: 999_000n, fromHeight: 50, toHeight: 120 },
      { minAmount: 400_000n, fromHeight: 150 },
      { payer: payers[1]!, minAmount: 250_000n },
      { validatorId: V[2]!, maxAmount: 600_000n, toTime: T(90) },
      { minAmount: 2_000_000n },
    ];
    for (const f of filters) {
      for (const order of ['asc', 'desc'] as const) {
        for (const [offset, limit] of [[0, 100], [4_000, 50], [9_990, 20], [0, 0]] as const) {
          const q = { ...f, offset, limit, order };
          assert.deepEqual(got(q), want(q), show(q));
        }
      }
    }
  });
});
