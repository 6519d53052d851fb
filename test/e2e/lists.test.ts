/**
 * The list routes against a real `fastpos start` process (dist/cli/main.js)
 * over 127.0.0.1, on each storage backend: the filters of GET /tx/pending and
 * GET /tx/finalized (validatorId, fee bounds, time window, with from, to and
 * kind), the withMeta envelope of every list, paging edges, and strict query
 * validation. The finalized answers are asked again after a restart, and on
 * SQLite after the file was turned back into a schema version 1 file, which
 * the node migrates at start: the same answers.
 *
 * Txs are real, signed with the public dev account keys. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signTx } from '../../src/client/sign.js';
import { SCHEMA_VERSION } from '../../src/storage/index.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import type { UnsignedTx } from '../../src/types/index.js';
import { CHAIN } from '../helpers/fixtures.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const TOKEN = 'lists-e2e-admin-token-0123456789';
const VAL0 = devValidator(0).address;
const VAL1 = devValidator(1);
const tmp = tempDirs('fastpos-lists-');
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

const ids = (body: any): string[] => (Array.isArray(body) ? body : body.items).map((x: any) => x.id);

function assertError(r: Answer, status: number, code: string, names: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
  assert.match(r.body.error.message, new RegExp(names));
}

for (const backend of ['sqlite', 'snapshot'] as const) {
  describe(`list routes (real process, ${backend})`, () => {
    const dir = tmp();
    let node: NodeProcess;
    const args = ['--state-backend', backend, '--admin-token', TOKEN, '--idle-block-interval-ms', '50', '--min-block-interval-ms', '5'];
    const url = (): string => node.url;
    const nonces = new Map<number, number>();

    /** Signs a tx of dev account `from` with its next nonce and submits it; asserts 202. */
    async function submit(from: number, fee: bigint, kind: UnsignedTx['kind'], payload: Record<string, unknown>): Promise<string> {
      const k = devAccount(from);
      const nonce = nonces.get(from) ?? 0;
      nonces.set(from, nonce + 1);
      const { id, tx } = signTx(k.privateKey, { chainId: CHAIN, kind, from: k.address, pubKey: k.publicKey, nonce, fee, payload } as unknown as UnsignedTx);
      const r = await call(url(), '/tx', { method: 'POST', body: tx });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return id;
    }

    async function finalizedAt(id: string): Promise<{ height: number; index: number }> {
      const end = Date.now() + 20_000;
      for (;;) {
        const r = await call(url(), `/tx?id=${id}`);
        if (r.body.status === 'finalized') return { height: r.body.height, index: r.body.index };
        assert.equal(r.body.status, 'pending', JSON.stringify(r.body));
        assert.ok(Date.now() < end, `tx ${id} not finalized in 20 s`);
        await sleep(25);
      }
    }

    const fin: Record<string, string> = {};
    const pend: Record<string, string> = {};
    let tB = 0;

    before(async () => {
      node = await spawnNode(dir, args);
      fin.transfer1 = await submit(0, 1n, 'transfer', { to: devAccount(1).address, amount: '1000' });
      fin.delegate = await submit(1, 10n, 'delegation_delegate', { validatorId: VAL0, amount: '500' });
      fin.bond = await submit(2, 100n, 'validator_bond', { pubKey: VAL1.publicKey, amount: '1000' });
      fin.transfer2 = await submit(0, 9n, 'transfer', { to: devAccount(2).address, amount: '5' });
      for (const id of Object.values(fin)) await finalizedAt(id);
      assert.equal((await call(url(), '/admin/production/pause', { method: 'POST', body: {}, admin: true })).status, 200);
      pend.a = await submit(3, 2n, 'transfer', { to: devAccount(4).address, amount: '3' });
      pend.b = await submit(4, 10n, 'validator_unjail', { validatorId: VAL0 });
      await sleep(5);
      tB = Date.now();
      await sleep(2);
      pend.c = await submit(3, 25n, 'transfer', { to: devAccount(5).address, amount: '4' });
      pend.d = await submit(5, 10n, 'delegation_delegate', { validatorId: VAL1.address, amount: '6' });
    });
    after(async () => {
      await node?.kill('SIGKILL');
    });

    it('GET /tx/pending: validatorId, fee bounds, time window, from, kind; the envelope', async () => {
      const get = async (q: string) => ids((await call(url(), `/tx/pending?${q}`)).body);
      assert.deepEqual(await get(''), [pend.a, pend.b, pend.c, pend.d]);
      assert.deepEqual(await get('order=desc&limit=2'), [pend.d, pend.c]);
      assert.deepEqual(await get(`validatorId=${VAL0}`), [pend.b]);
      assert.deepEqual(await get(`validatorId=${VAL1.address}`), [pend.d]);
      assert.deepEqual(await get('minFee=10&maxFee=25'), [pend.b, pend.c, pend.d]);
      assert.deepEqual(await get('maxFee=9'), [pend.a]);
      assert.deepEqual(await get(`fromTime=${tB}`), [pend.c, pend.d]);
      assert.deepEqual(await get(`toTime=${tB - 1}`), [pend.a, pend.b]);
      assert.deepEqual(await get(`from=${devAccount(3).address}&order=desc`), [pend.c, pend.a]);
      assert.deepEqual(await get(`from=${devAccount(3).address}&minFee=3`), [pend.c]);
      assert.deepEqual(await get(`to=${devAccount(5).address}`), [pend.c]);
      assert.deepEqual(await get('kind=delegation_delegate'), [pend.d]);
      const env = (await call(url(), '/tx/pending?withMeta=true&minFee=10&limit=2')).body;
      assert.deepEqual({ ...env, items: ids(env) }, {
        items: [pend.b, pend.c], total: 3, offset: 0, limit: 2, count: 2, hasMore: true, meta: { total: 3, offset: 0, limit: 2 },
      });
      const past = (await call(url(), '/tx/pending?withMeta=true&offset=10')).body;
      assert.deepEqual({ total: past.total, count: past.count, hasMore: past.hasMore, items: past.items }, { total: 4, count: 0, hasMore: false, items: [] });
    });

    /** The finalized answers this test compares before and after a restart (and a migration). */
    async function finalizedAnswers(): Promise<Record<string, unknown>> {
      const q = async (s: string) => (await call(url(), `/tx/finalized?${s}`)).body;
      const h = (await finalizedAt(fin.transfer1!)).height;
      const block = (await call(url(), `/blocks/${h}`)).body;
      const ts = block.header.timestamp as number;
      return {
        val0: ids(await q(`validatorId=${VAL0}`)),
        val1: ids(await q(`validatorId=${VAL1.address}&withMeta=true`)),
        fees: ids(await q('minFee=9&maxFee=100&order=asc')),
        fromAndFee: ids(await q(`from=${devAccount(0).address}&minFee=2`)),
        oneBlock: ids(await q(`fromTime=${ts}&toTime=${ts}&order=asc`)),
        oneBlockTxs: block.txs.length,
        envelope: await q('withMeta=true&limit=2&offset=1&order=asc'),
        total: (await q('withMeta=true')).total,
      };
    }

    let answers: Record<string, unknown>;
    it('GET /tx/finalized: validatorId, fee bounds, time window (block timestamp); the envelope; paging edges', async () => {
      answers = await finalizedAnswers();
      assert.deepEqual(answers.val0, [fin.delegate]);
      assert.deepEqual(answers.val1, [fin.bond]);
      const pos = new Map<string, number>();
      for (const id of [fin.delegate!, fin.bond!, fin.transfer2!]) {
        const at = await finalizedAt(id);
        pos.set(id, at.height * 1e6 + at.index);
      }
      assert.deepEqual(answers.fees, [fin.delegate!, fin.bond!, fin.transfer2!].sort((a, b) => pos.get(a)! - pos.get(b)!));
      assert.deepEqual(answers.fromAndFee, [fin.transfer2]);
      assert.ok((answers.oneBlock as string[]).includes(fin.transfer1!));
      assert.equal((answers.oneBlock as string[]).length, answers.oneBlockTxs);
      const env = answers.envelope as any;
      assert.deepEqual(Object.keys(env).sort(), ['count', 'hasMore', 'items', 'limit', 'meta', 'offset', 'total']);
      assert.equal(env.total, 4);
      assert.deepEqual({ offset: env.offset, limit: env.limit, count: env.count, hasMore: env.hasMore }, { offset: 1, limit: 2, count: 2, hasMore: true });
      const past = (await call(url(), '/tx/finalized?withMeta=true&offset=4')).body;
      assert.deepEqual({ items: past.items, count: past.count, hasMore: past.hasMore, total: past.total }, { items: [], count: 0, hasMore: false, total: 4 });
      assert.equal((await call(url(), '/tx/finalized?limit=1000')).status, 200);
      assertError(await call(url(), '/tx/finalized?limit=1001'), 400, 'INVALID_REQUEST', 'querystring/limit');
    });

    it('error: unknown and malformed parameters are 400 naming them', async () => {
      assertError(await call(url(), '/tx/finalized?validator=' + VAL0), 400, 'INVALID_REQUEST', 'querystring/validator is not a parameter of this route');
      assertError(await call(url(), '/tx/pending?fee=1'), 400, 'INVALID_REQUEST', 'querystring/fee is not a parameter of this route');
      assertError(await call(url(), '/tx/pending?minFee=1.5'), 400, 'INVALID_REQUEST', 'querystring/minFee');
      assertError(await call(url(), '/tx/finalized?maxFee=-1'), 400, 'INVALID_REQUEST', 'querystring/maxFee');
      assertError(await call(url(), '/tx/finalized?fromTime=0x10'), 400, 'INVALID_REQUEST', 'querystring/fromTime');
      assertError(await call(url(), '/tx/pending?validatorId=xyz'), 400, 'INVALID_REQUEST', 'querystring/validatorId');
      assertError(await call(url(), '/tx/pending?kind=bogus'), 400, 'INVALID_REQUEST', 'querystring/kind must be one of');
      assertError(await call(url(), '/blocks?offset=3'), 400, 'INVALID_REQUEST', 'querystring/offset is not a parameter');
      assertError(await call(url(), '/validators?epoch=0&withMeta=true'), 400, 'INVALID_REQUEST', 'querystring/withMeta cannot be combined with epoch');
    });

    it('GET /blocks and GET /validators: withMeta=true is the same envelope', async () => {
      const height = (await call(url(), '/status')).body.latestHeight as number;
      assert.ok(height >= 2, `height ${height}`);
      const blocks = (await call(url(), '/blocks?from=2&limit=3&withMeta=true')).body;
      const want = [2, 3, 4].filter((h) => h <= height);
      assert.deepEqual(blocks.items.map((b: any) => b.header.height), want);
      assert.deepEqual({ ...blocks, items: undefined }, { items: undefined, total: height, offset: 1, limit: 3, count: want.length, hasMore: height > 4 });
      const past = (await call(url(), `/blocks?from=${height + 1}&withMeta=true`)).body;
      assert.deepEqual(past, { items: [], total: height, offset: height, limit: 20, count: 0, hasMore: false });
      const vals = (await call(url(), '/validators?withMeta=true&limit=1')).body;
      assert.deepEqual({ ...vals, items: vals.items.map((v: any) => v.id) }, { items: [[VAL0, VAL1.address].sort()[0]], total: 2, offset: 0, limit: 1, count: 1, hasMore: true });
    });

    it('behavior: after a restart the finalized answers are the same', async () => {
      await node.kill('SIGTERM');
      node = await spawnNode(dir, args);
      assert.equal((await call(url(), '/admin/production/pause', { method: 'POST', body: {}, admin: true })).status, 200);
      assert.deepEqual(await finalizedAnswers(), answers);
    });

    if (backend === 'sqlite') {
      it('behavior: a schema version 1 file is migrated at start; the finalized answers are the same', async () => {
        await node.kill('SIGTERM');
        const db = new Database(join(dir, 'chain.sqlite'));
        db.exec(`DROP INDEX txs_validator; DROP INDEX txs_fee; DROP INDEX txs_kind; DROP INDEX txs_failed;
          ALTER TABLE txs DROP COLUMN validator; ALTER TABLE txs DROP COLUMN validator_key; ALTER TABLE txs DROP COLUMN fee_key;
          ALTER TABLE blocks DROP COLUMN time; ALTER TABLE blocks DROP COLUMN tx_end;
          DROP TABLE headers;
          UPDATE meta SET value = 1 WHERE key = 'schema_version';`);
        db.close();
        node = await spawnNode(dir, args);
        assert.equal((await call(url(), '/admin/production/pause', { method: 'POST', body: {}, admin: true })).status, 200);
        assert.deepEqual(await finalizedAnswers(), answers);
        const check = new Database(join(dir, 'chain.sqlite'), { readonly: true });
        assert.equal(check.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), SCHEMA_VERSION);
        check.close();
      });
    }
  });
}
