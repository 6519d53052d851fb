/**
 * The product lists against a real `fastpos start` process (dist/cli/main.js)
 * over 127.0.0.1, on each storage backend, with a genesis product section:
 * attestations, settlements, challenges and their resolution submitted
 * through the product POST routes; the lists with filters, envelopes and
 * query errors; statistics; then the same answers after a restart, and on
 * SQLite after the file was turned back into a schema version 2 file (no
 * product tables), whose index the node builds from the state at start.
 *
 * Txs are real, signed with the public dev account keys. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signTx } from '../../src/client/sign.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis } from '../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS, proofId } from '../../src/state/product.js';
import { SCHEMA_VERSION } from '../../src/storage/index.js';
import type { Genesis, UnsignedTx } from '../../src/types/index.js';
import { CHAIN } from '../helpers/fixtures.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const TOKEN = 'product-lists-e2e-admin-token-0123';
const EPOCH = 10;
const [V0, V1, V2] = [devValidator(0).address, devValidator(1).address, devValidator(2).address];
const ORACLE = 5;
const tmp = tempDirs('fastpos-product-lists-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function call(base: string, path: string, init: { method?: string; body?: unknown; admin?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.admin === true) headers.authorization = `Bearer ${TOKEN}`;
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

const items = (body: any): any[] => (Array.isArray(body) ? body : body.items);

function genesis(): Genesis {
  return {
    chainId: CHAIN,
    genesisTime: Date.now() - 60_000,
    treasury: TREASURY_ADDRESS,
    params: { ...DEFAULT_PARAMS, governance: [devAccount(0).address], epochLengthBlocks: EPOCH, unbondingPeriodBlocks: 100_000 },
    accounts: [...[1, 2, 3, 4, 5, 6].map((i) => ({ address: devAccount(i).address, balance: 1_000_000_000n })), { address: TREASURY_ADDRESS, balance: 1_000_000n }],
    validators: [
      { pubKey: devValidator(0).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT },
      { pubKey: devValidator(1).publicKey, stake: 100_000n, workWeight: NEUTRAL_WORK_WEIGHT },
      { pubKey: devValidator(2).publicKey, stake: 100_000n, workWeight: NEUTRAL_WORK_WEIGHT },
    ],
    product: {
      oracles: [
        { address: devAccount(ORACLE).address, stake: 1000n },
        { address: devAccount(6).address, stake: 1n },
      ],
      params: {
        ...DEFAULT_PRODUCT_PARAMS,
        attestationTtlBlocks: 100_000,
        challengeWindowBlocks: 10_000,
        challengeResolveDelayBlocks: 0,
        challengeResolveDeadlineBlocks: 10_000,
      },
    },
  };
}

for (const backend of ['sqlite', 'snapshot'] as const) {
  describe(`product lists (real process, ${backend})`, () => {
    const dir = tmp();
    let node: NodeProcess;
    const args = ['--state-backend', backend, '--admin-token', TOKEN, '--allow-dev-keys', '--idle-block-interval-ms', '50', '--min-block-interval-ms', '5'];
    const url = (): string => node.url;
    const nonces = new Map<number, number>();
    const ids: Record<string, string> = {};

    /** Signs a tx of dev account `from` with its next nonce and posts it to `route`; asserts 202. */
    async function submit(from: number, kind: UnsignedTx['kind'], payload: Record<string, unknown>, route: string): Promise<string> {
      const k = devAccount(from);
      const nonce = nonces.get(from) ?? 0;
      nonces.set(from, nonce + 1);
      const { id, tx } = signTx(k.privateKey, { chainId: CHAIN, kind, from: k.address, pubKey: k.publicKey, nonce, fee: 1n, payload } as unknown as UnsignedTx);
      const r = await call(url(), route, { method: 'POST', body: tx });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return id;
    }

    async function finalized(id: string): Promise<number> {
      const end = Date.now() + 30_000;
      for (;;) {
        const r = await call(url(), `/tx?id=${id}`);
        if (r.body.status === 'finalized') {
          assert.equal(r.body.success, true, JSON.stringify(r.body));
          return r.body.height as number;
        }
        assert.equal(r.body.status, 'pending', JSON.stringify(r.body));
        assert.ok(Date.now() < end, `tx ${id} not finalized in 30 s`);
        await sleep(25);
      }
    }

    async function waitHeight(h: number): Promise<void> {
      const end = Date.now() + 60_000;
      while ((await call(url(), '/status')).body.latestHeight < h) {
        assert.ok(Date.now() < end, `height ${h} not reached in 60 s`);
        await sleep(50);
      }
    }

    let top = 0;

    before(async () => {
      writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis())));
      node = await spawnNode(dir, args);
      await waitHeight(EPOCH + 1);
      ids.p0 = await submit(ORACLE, 'product_attest', { validatorId: V0, epoch: 0, score: 30_000, proofRef: 'sha256:aa' }, '/product/attestations');
      ids.p1 = await submit(ORACLE, 'product_attest', { validatorId: V1, epoch: 0, score: 12_000, proofRef: 'sha256:bb' }, '/product/attestations');
      // The small oracle alone is short of the quorum: this one stays pending.
      ids.pending = await submit(6, 'product_attest', { validatorId: V2, epoch: 0, score: 9_000, proofRef: 'sha256:cc' }, '/product/attestations');
      ids.s1 = await submit(1, 'product_settle', { validatorId: V0, amount: 10_001n, reference: 'inv-1' }, '/product/settlements');
      ids.s2 = await submit(2, 'product_settle', { validatorId: V1, amount: 250n, reference: 'inv-1' }, '/product/settlements');
      ids.s3 = await submit(1, 'product_settle', { validatorId: V1, amount: 7n, reference: 'inv-2' }, '/product/settlements');
      for (const k of ['p0', 'p1', 'pending', 's1', 's2', 's3']) await finalized(ids[k]!);
      ids.c1 = await submit(3, 'product_challenge', { proofId: proofId(V1, 0) }, '/product/challenges');
      ids.c2 = await submit(4, 'product_challenge', { proofId: proofId(V0, 0) }, '/product/challenges');
      for (const k of ['c1', 'c2']) await finalized(ids[k]!);
      ids.r1 = await submit(ORACLE, 'product_resolve_challenge', { challengeId: ids.c1, upheld: false }, '/product/challenges/resolve');
      top = await finalized(ids.r1);
      assert.equal((await call(url(), '/admin/production/pause', { method: 'POST', body: {}, admin: true })).status, 200);
    });
    after(async () => {
      await node?.kill('SIGKILL');
    });

    it('lists: filters, envelopes, the lookup forms', async () => {
      const get = async (q: string) => {
        const r = await call(url(), q);
        assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
        return r.body;
      };
      assert.deepEqual(items(await get('/product/proofs?order=asc')).map((p) => p.id).sort(), [proofId(V0, 0), proofId(V1, 0)].sort());
      assert.equal((await get(`/product/proofs?validatorId=${V1}&epoch=0`)).score, 12_000);
      assert.deepEqual(items(await get('/product/proofs?minScore=20000')).map((p) => p.validatorId), [V0]);
      const env = await get('/product/settlements?reference=inv-1&withMeta=true&limit=1');
      assert.deepEqual({ ...env, items: env.items.length }, { items: 1, total: 2, offset: 0, limit: 1, count: 1, hasMore: true });
      assert.deepEqual(items(await get(`/product/settlements?payer=${devAccount(1).address}&minAmount=100`)).map((s) => s.id), [ids.s1]);
      assert.deepEqual(items(await get('/product/attestations/pending')).map((a) => [a.validatorId, a.reportedStake]), [[V2, '1']]);
      assert.deepEqual((await get('/product/attestations/stats')).byStatus, { pending: 1, finalized: 2, invalidated: 0 });
      assert.deepEqual(items(await get('/product/challenges?openOnly=true')).map((c) => c.id), [ids.c2]);
      assert.deepEqual(items(await get('/product/challenges?status=rejected')).map((c) => c.id), [ids.c1]);
      assert.deepEqual((await get('/product/challenges/stats')).byStatus, { open: 1, upheld: 0, rejected: 1, expired: 0 });
      const stats = await get('/product/settlements/stats');
      assert.deepEqual([stats.count, stats.amount, stats.byValidator.length], [3, '10258', 2]);
      const bad = await call(url(), '/product/challenges?bogus=1');
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /querystring\/bogus/);
      const malformed = await call(url(), '/product/settlements?minAmount=1e3');
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.error.message, /querystring\/minAmount/);
    });

    /** The answers compared before and after a restart (and a migration): lists bounded to the heights seen so far. */
    async function answers(): Promise<Record<string, unknown>> {
      const out: Record<string, unknown> = {};
      const h = `toHeight=${top}`;
      for (const path of [
        `/product/proofs?${h}&withMeta=true`,
        `/product/proofs?validatorId=${V0}&${h}`,
        `/product/attestations?${h}&withMeta=true`,
        `/product/attestations?status=pending&${h}`,
        `/product/attestations/pending?${h}`,
        '/product/attestations/stats',
        `/product/challenges?${h}&order=asc`,
        `/product/challenges?openOnly=true&${h}`,
        '/product/challenges/stats',
        `/product/settlements?${h}&withMeta=true`,
        `/product/settlements?reference=inv-1&${h}`,
        `/product/settlements?maxAmount=250&${h}`,
        '/product/settlements/stats',
        `/product/rewards?${h}&withMeta=true`,
      ]) {
        const r = await call(url(), path);
        assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
        out[path] = r.body;
      }
      return out;
    }

    let recorded: Record<string, unknown> = {};
    it('records the answers', async () => {
      recorded = await answers();
      assert.equal(items((recorded[`/product/settlements?toHeight=${top}&withMeta=true`] as any)).length, 3);
    });

    it('behavior: after a restart the answers are the same', async () => {
      await node.kill('SIGTERM');
      node = await spawnNode(dir, args);
      assert.deepEqual(await answers(), recorded);
    });

    if (backend === 'sqlite') {
      it('behavior: a schema version 2 file (no product index) is migrated at start; the answers are the same', async () => {
        await node.kill('SIGTERM');
        const db = new Database(join(dir, 'chain.sqlite'));
        const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'product_%'`).pluck().all() as string[];
        assert.ok(tables.length >= 5);
        db.exec([...tables, 'headers'].map((t) => `DROP TABLE ${t};`).join('\n') + `UPDATE meta SET value = 2 WHERE key = 'schema_version';`);
        db.close();
        node = await spawnNode(dir, args);
        assert.deepEqual(await answers(), recorded);
        const check = new Database(join(dir, 'chain.sqlite'), { readonly: true });
        assert.equal(check.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), SCHEMA_VERSION);
        check.close();
      });
    }
  });
}
