/**
 * The list routes (GET /tx/pending, /tx/finalized, /blocks, /validators) on
 * a real single-node devnet: the filters of both tx lists (from, to, kind,
 * validatorId, fee bounds, time window), the one envelope of `withMeta=true`,
 * paging edges and order, and strict query validation (an unknown or
 * malformed parameter is 400 naming it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signTx } from '../../../src/client/sign.js';
import type { UnsignedTx } from '../../../src/types/index.js';
import { assertApiError } from '../../helpers/api.js';
import { CHAIN, acct, val } from '../../helpers/fixtures.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const TOKEN = 'lists-test-admin-token-0123456';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const VAL0 = val(0).address;
const VAL1 = val(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let n: TestNode;
async function get(url: string): Promise<{ status: number; json: any }> {
  const r = await n.app.inject({ method: 'GET', url });
  return { status: r.statusCode, json: r.json() };
}
async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await n.app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...AUTH } });
  return { status: r.statusCode, json: r.json() };
}
/** The ids of a list answer (plain array or envelope). */
const ids = (json: any): string[] => (Array.isArray(json) ? json : json.items).map((x: any) => x.id);

/** Signs a tx of dev account `from` and submits it; asserts 202 and returns its id. */
async function submit(from: number, nonce: number, fee: bigint, kind: UnsignedTx['kind'], payload: Record<string, unknown>): Promise<string> {
  const k = acct(from);
  const { id, tx } = signTx(k.privateKey, { chainId: CHAIN, kind, from: k.address, pubKey: k.publicKey, nonce, fee, payload } as unknown as UnsignedTx);
  const r = await n.app.inject({ method: 'POST', url: '/tx', payload: JSON.stringify(tx), headers: { 'content-type': 'application/json' } });
  assert.equal(r.statusCode, 202, r.body);
  return id;
}

// Batch 1 (admitted before tB), batch 2 (at or after tB):
//   t1 acct0 nonce 0 transfer → acct1, fee 1      t3 acct0 nonce 1 transfer → acct2, fee 5
//   t2 acct1 delegate to VAL0, fee 10             t4 acct2 bond VAL1's key, fee 20
//                                                 t5 acct3 unjail VAL0, fee 3
const t: Record<string, string> = {};
let tB = 0;

before(async () => {
  n = await startTestNode({ config: { adminToken: TOKEN } });
  assert.equal((await post('/admin/production/pause', {})).status, 200);
  t.t1 = await submit(0, 0, 1n, 'transfer', { to: acct(1).address, amount: '1000' });
  t.t2 = await submit(1, 0, 10n, 'delegation_delegate', { validatorId: VAL0, amount: '500' });
  await sleep(5);
  tB = Date.now();
  await sleep(2);
  t.t3 = await submit(0, 1, 5n, 'transfer', { to: acct(2).address, amount: '7' });
  t.t4 = await submit(2, 0, 20n, 'validator_bond', { pubKey: VAL1.publicKey, amount: '1000' });
  t.t5 = await submit(3, 0, 3n, 'validator_unjail', { validatorId: VAL0 });
});
after(async () => {
  await n.dispose();
});

describe('GET /tx/pending', () => {
  it('default: every pending tx in arrival order; order=desc reverses it', async () => {
    assert.deepEqual((await get('/tx/pending')).json.map((x: any) => x.id), [t.t1, t.t2, t.t3, t.t4, t.t5]);
    assert.deepEqual(ids((await get('/tx/pending?order=desc')).json), [t.t5, t.t4, t.t3, t.t2, t.t1]);
    assert.deepEqual(ids((await get('/tx/pending?order=asc&offset=1&limit=2')).json), [t.t2, t.t3]);
    assert.deepEqual(ids((await get('/tx/pending?order=desc&offset=1&limit=2')).json), [t.t4, t.t3]);
  });

  it('behavior: from lists the sender in nonce order (desc: highest first), combined with other filters', async () => {
    const from = acct(0).address;
    assert.deepEqual(ids((await get(`/tx/pending?from=${from}`)).json), [t.t1, t.t3]);
    assert.deepEqual(ids((await get(`/tx/pending?from=${from}&order=desc`)).json), [t.t3, t.t1]);
    assert.deepEqual(ids((await get(`/tx/pending?from=${from}&minFee=2`)).json), [t.t3]);
    assert.deepEqual(ids((await get(`/tx/pending?from=${from}&fromTime=${tB}`)).json), [t.t3]);
    assert.deepEqual(ids((await get(`/tx/pending?from=${from}&kind=validator_bond`)).json), []);
  });

  it('behavior: to matches transfer recipients only', async () => {
    assert.deepEqual(ids((await get(`/tx/pending?to=${acct(1).address}`)).json), [t.t1]);
    assert.deepEqual(ids((await get(`/tx/pending?to=${VAL0}`)).json), [], 'a staking tx naming VAL0 has no recipient');
  });

  it('behavior: kind', async () => {
    assert.deepEqual(ids((await get('/tx/pending?kind=transfer')).json), [t.t1, t.t3]);
    assert.deepEqual(ids((await get('/tx/pending?kind=validator_unjail')).json), [t.t5]);
    assert.deepEqual(ids((await get('/tx/pending?kind=validator_jail')).json), []);
  });

  it('behavior: validatorId selects the txs whose payload names the validator (a bond: the bonded key\'s id)', async () => {
    assert.deepEqual(ids((await get(`/tx/pending?validatorId=${VAL0}`)).json), [t.t2, t.t5]);
    assert.deepEqual(ids((await get(`/tx/pending?validatorId=${VAL1.address}`)).json), [t.t4]);
    assert.deepEqual(ids((await get(`/tx/pending?validatorId=${acct(1).address}`)).json), [], 'a transfer to an address does not concern a validator');
  });

  it('behavior: fee bounds are inclusive integers; minFee above maxFee is empty', async () => {
    assert.deepEqual(ids((await get('/tx/pending?minFee=5&maxFee=10')).json), [t.t2, t.t3]);
    assert.deepEqual(ids((await get('/tx/pending?minFee=20')).json), [t.t4]);
    assert.deepEqual(ids((await get('/tx/pending?maxFee=3')).json), [t.t1, t.t5]);
    // As integers: "9" < "10" although "9" > "10" as text.
    assert.deepEqual(ids((await get('/tx/pending?minFee=9&maxFee=10')).json), [t.t2]);
    assert.deepEqual(ids((await get(`/tx/pending?minFee=${'9'.repeat(39)}`)).json), []);
    assert.deepEqual(ids((await get('/tx/pending?minFee=11&maxFee=10')).json), []);
  });

  it('behavior: the time window is the admission time, inclusive', async () => {
    assert.deepEqual(ids((await get(`/tx/pending?fromTime=${tB}`)).json), [t.t3, t.t4, t.t5]);
    assert.deepEqual(ids((await get(`/tx/pending?toTime=${tB - 1}`)).json), [t.t1, t.t2]);
    assert.deepEqual(ids((await get(`/tx/pending?fromTime=${tB}&validatorId=${VAL0}`)).json), [t.t5]);
    assert.deepEqual(ids((await get(`/tx/pending?fromTime=${Date.now() + 60_000}`)).json), []);
    assert.deepEqual(ids((await get(`/tx/pending?fromTime=${tB}&toTime=${tB - 1}`)).json), []);
  });

  it('behavior: withMeta=true is the envelope (and the earlier meta object)', async () => {
    const r = (await get('/tx/pending?withMeta=true&limit=2&offset=1')).json;
    assert.deepEqual(Object.keys(r).sort(), ['count', 'hasMore', 'items', 'limit', 'meta', 'offset', 'total']);
    assert.deepEqual({ ...r, items: ids(r) }, {
      items: [t.t2, t.t3], total: 5, offset: 1, limit: 2, count: 2, hasMore: true, meta: { total: 5, offset: 1, limit: 2 },
    });
    const filtered = (await get(`/tx/pending?withMeta=true&validatorId=${VAL0}&limit=1`)).json;
    assert.deepEqual({ ...filtered, items: ids(filtered) }, {
      items: [t.t2], total: 2, offset: 0, limit: 1, count: 1, hasMore: true, meta: { total: 2, offset: 0, limit: 1 },
    });
    const last = (await get('/tx/pending?withMeta=true&offset=3')).json;
    assert.equal(last.count, 2);
    assert.equal(last.hasMore, false);
  });

  it('edge: an offset past the end is an empty page with the total; empty results; limit bounds', async () => {
    const past = (await get('/tx/pending?withMeta=true&offset=1000000000')).json;
    assert.deepEqual(past, { items: [], total: 5, offset: 1_000_000_000, limit: 100, count: 0, hasMore: false, meta: { total: 5, offset: 1_000_000_000, limit: 100 } });
    assert.deepEqual((await get(`/tx/pending?from=${acct(0).address}&offset=2`)).json, []);
    const none = (await get('/tx/pending?withMeta=true&kind=validator_jail')).json;
    assert.deepEqual({ total: none.total, count: none.count, hasMore: none.hasMore, items: none.items }, { total: 0, count: 0, hasMore: false, items: [] });
    assert.equal((await get('/tx/pending?limit=1000')).status, 200);
    assert.equal((await get('/tx/pending?limit=1')).json.length, 1);
    assertApiError(await get('/tx/pending?limit=1001'), 400, 'INVALID_REQUEST', 'querystring/limit');
    assertApiError(await get('/tx/pending?limit=0'), 400, 'INVALID_REQUEST', 'querystring/limit');
    assertApiError(await get('/tx/pending?offset=1000000001'), 400, 'INVALID_REQUEST', 'querystring/offset');
  });
});

/** [query, the parameter the 400 must name] for both tx lists. */
const MALFORMED: [string, string][] = [
  ['from=XYZ', 'from'],
  ['from=' + 'A'.repeat(40), 'from'],
  ['to=' + 'a'.repeat(39), 'to'],
  ['validatorId=' + 'a'.repeat(41), 'validatorId'],
  ['validatorId=0x' + 'a'.repeat(38), 'validatorId'],
  ['kind=bogus', 'kind'],
  ['kind=TRANSFER', 'kind'],
  ['kind=product_unknown', 'kind'],
  ['minFee=01', 'minFee'],
  ['minFee=-1', 'minFee'],
  ['minFee=1.5', 'minFee'],
  ['minFee=1e3', 'minFee'],
  ['minFee=', 'minFee'],
  ['maxFee=' + '1'.repeat(40), 'maxFee'],
  ['maxFee=0x10', 'maxFee'],
  ['fromTime=abc', 'fromTime'],
  ['fromTime=-1', 'fromTime'],
  ['toTime=1.5', 'toTime'],
  ['toTime=01', 'toTime'],
  ['toTime=9007199254740992', 'toTime'],
  ['order=sideways', 'order'],
  ['withMeta=yes', 'withMeta'],
  ['minFee=1&minFee=2', 'minFee'],
  ['kind=transfer&kind=validator_bond', 'kind'],
];

describe('strict query validation of the tx lists', () => {
  for (const list of ['pending', 'finalized']) {
    it(`error: an unknown parameter of /tx/${list} is 400 naming it`, async () => {
      for (const p of ['bogus=1', 'validator=' + VAL0, 'fee=1', 'FROM=' + acct(0).address, 'limit=1&extra=']) {
        const r = await get(`/tx/${list}?${p}`);
        const name = p.split('&').pop()!.split('=')[0]!;
        assertApiError(r, 400, 'INVALID_REQUEST', `querystring/${name} is not a parameter of this route`);
        assert.match(r.json.error.message, /it takes .*validatorId.*minFee/);
      }
    });

    it(`error: a malformed filter of /tx/${list} is 400 naming it`, async () => {
      for (const [q, name] of MALFORMED) assertApiError(await get(`/tx/${list}?${q}`), 400, 'INVALID_REQUEST', `querystring/${name}`);
      // A value outside a list says what the list is.
      assertApiError(await get(`/tx/${list}?kind=bogus`), 400, 'INVALID_REQUEST', 'querystring/kind must be one of transfer, .*validator_bond');
      assertApiError(await get(`/tx/${list}?order=up`), 400, 'INVALID_REQUEST', 'querystring/order must be one of asc, desc');
    });
  }

  it('error: finalized-only filters are unknown parameters of /tx/pending', async () => {
    for (const p of ['address', 'success', 'fromHeight', 'toHeight']) {
      assertApiError(await get(`/tx/pending?${p}=1`), 400, 'INVALID_REQUEST', `querystring/${p} is not a parameter`);
    }
  });
});

describe('GET /tx/finalized (after the pending txs are finalized)', () => {
  const heightOf = new Map<string, number>();
  before(async () => {
    assert.equal((await post('/admin/production/resume', {})).status, 200);
    const end = Date.now() + 20_000;
    for (const id of Object.values(t)) {
      for (;;) {
        const s = (await get(`/tx?id=${id}`)).json;
        if (s.status === 'finalized') {
          heightOf.set(id, s.height);
          break;
        }
        assert.equal(s.status, 'pending', JSON.stringify(s));
        assert.ok(Date.now() < end, `tx ${id} not finalized`);
        await sleep(20);
      }
    }
    await waitForHeight(n, Math.max(...heightOf.values()) + 1);
    assert.equal((await post('/admin/production/pause', {})).status, 200);
  });

  /** The model: every finalized tx of the five, newest first (by height, then index). */
  async function inChainOrder(list: string[]): Promise<string[]> {
    const pos = new Map<string, [number, number]>();
    for (const id of list) {
      const s = (await get(`/tx?id=${id}`)).json;
      pos.set(id, [s.height, s.index]);
    }
    return [...list].sort((a, b) => {
      const [ha, ia] = pos.get(a)!;
      const [hb, ib] = pos.get(b)!;
      return hb - ha || ib - ia;
    });
  }

  it('behavior: validatorId, kind, fee bounds, combined with from; both orders', async () => {
    const val0 = await inChainOrder([t.t2!, t.t5!]);
    assert.deepEqual(ids((await get(`/tx/finalized?validatorId=${VAL0}`)).json), val0);
    assert.deepEqual(ids((await get(`/tx/finalized?validatorId=${VAL0}&order=asc`)).json), [...val0].reverse());
    assert.deepEqual(ids((await get(`/tx/finalized?validatorId=${VAL1.address}`)).json), [t.t4]);
    assert.deepEqual(ids((await get(`/tx/finalized?validatorId=${VAL0}&kind=validator_unjail`)).json), [t.t5]);
    assert.deepEqual(ids((await get(`/tx/finalized?minFee=5&maxFee=10`)).json), await inChainOrder([t.t2!, t.t3!]));
    assert.deepEqual(ids((await get(`/tx/finalized?minFee=9&maxFee=10`)).json), [t.t2]);
    assert.deepEqual(ids((await get(`/tx/finalized?from=${acct(0).address}&minFee=2`)).json), [t.t3]);
    assert.deepEqual(ids((await get(`/tx/finalized?minFee=11&maxFee=10`)).json), []);
    assert.deepEqual(ids((await get(`/tx/finalized?validatorId=${'e'.repeat(40)}`)).json), []);
  });

  it('behavior: the time window is the block timestamp, inclusive; it combines with heights', async () => {
    const h = heightOf.get(t.t1!)!;
    const block = (await get(`/blocks/${h}`)).json;
    const ts = block.header.timestamp as number;
    const inBlock = block.txs.length as number;
    const exact = (await get(`/tx/finalized?fromTime=${ts}&toTime=${ts}&withMeta=true&order=asc`)).json;
    assert.equal(exact.total, inBlock);
    assert.ok(exact.items.every((x: any) => x.height === h));
    assert.ok(ids(exact).includes(t.t1!));
    assert.equal((await get(`/tx/finalized?fromTime=${ts + 1}&toTime=${ts}&withMeta=true`)).json.total, 0);
    const after = (await get(`/tx/finalized?fromTime=${ts + 1}&withMeta=true`)).json;
    assert.ok(after.items.every((x: any) => x.height > h));
    const before = (await get(`/tx/finalized?toTime=${ts - 1}&withMeta=true`)).json;
    assert.ok(before.items.every((x: any) => x.height < h));
    const all = (await get('/tx/finalized?withMeta=true')).json.total;
    assert.equal(after.total + before.total + inBlock, all);
    assert.equal((await get(`/tx/finalized?fromTime=${ts}&toTime=${ts}&fromHeight=${h + 1}&withMeta=true`)).json.total, 0);
    assert.equal((await get(`/tx/finalized?fromTime=${Date.now() + 60_000}&withMeta=true`)).json.total, 0);
  });

  it('behavior: withMeta=true is the envelope; offset past the end; limit bounds', async () => {
    const all = (await get('/tx/finalized?withMeta=true')).json;
    assert.deepEqual(Object.keys(all).sort(), ['count', 'hasMore', 'items', 'limit', 'meta', 'offset', 'total']);
    assert.equal(all.count, all.items.length);
    assert.equal(all.hasMore, false);
    assert.ok(all.total >= 5);
    const page = (await get('/tx/finalized?withMeta=true&limit=2&offset=1&order=asc')).json;
    assert.deepEqual({ total: page.total, offset: page.offset, limit: page.limit, count: page.count, hasMore: page.hasMore, meta: page.meta }, {
      total: all.total, offset: 1, limit: 2, count: 2, hasMore: all.total > 3, meta: { total: all.total, offset: 1, limit: 2 },
    });
    assert.deepEqual(ids(page), [...ids(all)].reverse().slice(1, 3));
    const past = (await get(`/tx/finalized?withMeta=true&offset=${all.total}`)).json;
    assert.deepEqual({ ...past, meta: undefined }, { items: [], total: all.total, offset: all.total, limit: 100, count: 0, hasMore: false, meta: undefined });
    assert.deepEqual((await get('/tx/finalized?offset=1000000000')).json, []);
    assert.equal((await get('/tx/finalized?limit=1000')).status, 200);
    assertApiError(await get('/tx/finalized?limit=1001'), 400, 'INVALID_REQUEST', 'querystring/limit');
  });
});

describe('GET /blocks and GET /validators: withMeta', () => {
  it('behavior: /blocks?withMeta=true: the envelope, offset = from - 1, total = the latest height', async () => {
    assert.equal((await post('/admin/production/resume', {})).status, 200);
    await waitForHeight(n, 4);
    assert.equal((await post('/admin/production/pause', {})).status, 200);
    const height = n.node.height;
    const r = (await get('/blocks?from=2&limit=2&withMeta=true')).json;
    assert.deepEqual(Object.keys(r), ['items', 'total', 'offset', 'limit', 'count', 'hasMore']);
    assert.deepEqual(r.items.map((b: any) => b.header.height), [2, 3]);
    assert.deepEqual({ ...r, items: undefined }, { items: undefined, total: height, offset: 1, limit: 2, count: 2, hasMore: height > 3 });
    const tail = (await get(`/blocks?from=${height}&withMeta=true`)).json;
    assert.deepEqual({ ...tail, items: tail.items.length }, { items: 1, total: height, offset: height - 1, limit: 20, count: 1, hasMore: false });
    const past = (await get(`/blocks?from=${height + 5}&withMeta=true`)).json;
    assert.deepEqual(past, { items: [], total: height, offset: height + 4, limit: 20, count: 0, hasMore: false });
    // Without withMeta: the plain array, as before.
    assert.ok(Array.isArray((await get('/blocks?from=1&limit=2')).json));
    assertApiError(await get('/blocks?withMeta=1'), 400, 'INVALID_REQUEST', 'querystring/withMeta');
    assertApiError(await get('/blocks?offset=1'), 400, 'INVALID_REQUEST', 'querystring/offset is not a parameter');
  });

  it('behavior: /validators pages by id with offset and limit; withMeta=true is the envelope', async () => {
    const all = (await get('/validators')).json;
    assert.ok(Array.isArray(all));
    assert.deepEqual(all.map((v: any) => v.id), [VAL0, VAL1.address].sort(), 'the bond of VAL1 made a second validator');
    const env = (await get('/validators?withMeta=true')).json;
    assert.deepEqual({ ...env, items: undefined }, { items: undefined, total: 2, offset: 0, limit: 1000, count: 2, hasMore: false });
    assert.deepEqual(env.items, all);
    const second = (await get('/validators?offset=1&limit=1&withMeta=true')).json;
    assert.deepEqual({ ...second, items: second.items.map((v: any) => v.id) }, { items: [all[1].id], total: 2, offset: 1, limit: 1, count: 1, hasMore: false });
    const first = (await get('/validators?limit=1&withMeta=true')).json;
    assert.equal(first.hasMore, true);
    assert.deepEqual((await get('/validators?offset=2')).json, []);
    assert.deepEqual((await get('/validators?offset=1000000000&withMeta=true')).json, { items: [], total: 2, offset: 1_000_000_000, limit: 1000, count: 0, hasMore: false });
    assertApiError(await get('/validators?limit=1001'), 400, 'INVALID_REQUEST', 'querystring/limit');
    assertApiError(await get('/validators?limit=0'), 400, 'INVALID_REQUEST', 'querystring/limit');
    assertApiError(await get('/validators?bogus=1'), 400, 'INVALID_REQUEST', 'querystring/bogus is not a parameter');
  });

  it('error: /validators?epoch=N with paging is 400 naming the parameter; epoch alone answers the set', async () => {
    for (const p of ['withMeta=true', 'offset=0', 'limit=5']) {
      assertApiError(await get(`/validators?epoch=0&${p}`), 400, 'INVALID_REQUEST', `querystring/${p.split('=')[0]} cannot be combined with epoch`);
    }
    const set = (await get('/validators?epoch=0')).json;
    assert.equal(set.epoch, 0);
  });
});
