/**
 * API limits (protocol §5): per-client rate limiting, and mempool policy seen
 * through the HTTP API: expiry, eviction when full, per-sender cap,
 * replacement by fee bump, and the records of dropped txs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeTx } from '../../../src/codec/tx.js';
import type { NodeConfig } from '../../../src/config/index.js';
import type { DecodedTx } from '../../../src/types/index.js';
import { acct, transfer } from '../../helpers/fixtures.js';
import { startTestNode, type TestNode } from '../../helpers/node.js';

const TOKEN = 'limits-test-admin-token-0123456';
const AUTH = { authorization: `Bearer ${TOKEN}` };

type Res = { status: number; json: any; headers: Record<string, unknown> };

async function post(n: TestNode, url: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const r = await n.app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.statusCode, json: r.json(), headers: r.headers };
}
async function get(n: TestNode, url: string, remoteAddress?: string): Promise<Res> {
  const r = await n.app.inject({ method: 'GET', url, ...(remoteAddress === undefined ? {} : { remoteAddress }) });
  return { status: r.statusCode, json: r.json(), headers: r.headers };
}
function assertError(r: Res, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.deepEqual(Object.keys(r.json), ['error']);
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
}
const submit = (n: TestNode, d: DecodedTx) => post(n, '/tx', encodeTx(d.tx));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls GET /tx until `done` holds (bounded). */
async function waitStatus(n: TestNode, id: string, done: (s: any) => boolean, timeoutMs = 30_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(n, `/tx?id=${id}`);
    if (r.status === 200 && done(r.json)) return r.json;
    if (Date.now() > end) throw new Error(`tx ${id}: condition not reached in ${timeoutMs} ms; last ${r.status} ${JSON.stringify(r.json)}`);
    await sleep(20);
  }
}

async function startPaused(config: Partial<NodeConfig>): Promise<TestNode> {
  const n = await startTestNode({ config: { adminToken: TOKEN, ...config } });
  const r = await post(n, '/admin/production/pause', {}, AUTH);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(n.node.isPaused, true);
  return n;
}

async function resume(n: TestNode): Promise<void> {
  assert.equal((await post(n, '/admin/production/resume', {}, AUTH)).status, 200);
}

// ---------------------------------------------------------------- rate limit

describe('rate limiting', () => {
  let n: TestNode;
  before(async () => {
    n = await startTestNode({ config: { rateLimitMax: 5, rateLimitWindowMs: 60_000 } });
  });
  after(async () => {
    await n?.dispose();
  });

  it('error: the 6th request of one client in a window is 429 RATE_LIMITED (real HTTP)', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${n.url}/status`);
      assert.equal(r.status, 200, `request ${i + 1}`);
      await r.arrayBuffer();
    }
    const r = await fetch(`${n.url}/status`);
    assert.equal(r.status, 429);
    assert.match(String(r.headers.get('content-type')), /application\/json/);
    const body = (await r.json()) as any;
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.equal(typeof body.error.message, 'string');
    // Other routes of the same client are limited too.
    const tx = await fetch(`${n.url}/tx?id=${'0'.repeat(64)}`);
    assert.equal(tx.status, 429);
    assert.equal(((await tx.json()) as any).error.code, 'RATE_LIMITED');
  });

  it('behavior: a 429 tells the client when to retry', async () => {
    const r = await fetch(`${n.url}/status`);
    assert.equal(r.status, 429);
    await r.arrayBuffer();
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 60, `retry-after: ${r.headers.get('retry-after')}`);
  });

  it('behavior: /healthz stays 200 for a rate-limited client', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`${n.url}/healthz`);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: 'ok' });
    }
  });

  it('behavior: the limit is per client: another client is still served', async () => {
    const limited = await get(n, '/status', '127.0.0.1');
    assertError(limited, 429, 'RATE_LIMITED');
    for (let i = 0; i < 5; i++) assert.equal((await get(n, '/status', '10.1.2.3')).status, 200);
    assertError(await get(n, '/status', '10.1.2.3'), 429, 'RATE_LIMITED');
    assert.equal((await get(n, '/status', '10.1.2.4')).status, 200);
  });
});

// ---------------------------------------------------------------- expiry

describe('expired txs (mempoolTtlBlocks: 1)', () => {
  let n: TestNode;
  before(async () => {
    n = await startTestNode({ config: { mempoolTtlBlocks: 1 } });
  });
  after(async () => {
    await n?.dispose();
  });

  it('behavior: a tx behind a nonce gap is dropped EXPIRED, and the tx after it STRANDED', async () => {
    const gap = transfer({ from: 3, to: acct(4).address, amount: 5n, nonce: 1 }); // account 3 is at nonce 0
    const after = transfer({ from: 3, to: acct(4).address, amount: 6n, nonce: 2 });
    assert.equal((await submit(n, gap)).status, 202);
    assert.equal((await submit(n, after)).status, 202);
    assert.equal((await get(n, `/tx?id=${gap.id}`)).json.status, 'pending');
    const st = await waitStatus(n, gap.id, (s) => s.status !== 'pending');
    assert.equal(st.status, 'dropped');
    assert.equal(st.error, 'EXPIRED');
    assert.equal(st.id, gap.id);
    assert.deepEqual(st.tx, encodeTx(gap.tx));
    assert.equal(typeof st.height, 'number');
    const st2 = await waitStatus(n, after.id, (s) => s.status !== 'pending');
    assert.equal(st2.status, 'dropped');
    assert.equal(st2.error, 'STRANDED');
    const pending = await get(n, `/tx/pending?from=${acct(3).address}`);
    assert.deepEqual(pending.json, []);
  });

  it('behavior: a tx that executes in time is finalized, not expired', async () => {
    const d = transfer({ from: 5, to: acct(4).address, amount: 5n, nonce: 0 });
    assert.equal((await submit(n, d)).status, 202);
    const st = await waitStatus(n, d.id, (s) => s.status !== 'pending');
    assert.equal(st.status, 'finalized');
    assert.equal(st.success, true);
  });

  it('behavior: a dropped tx may be submitted again once it can execute', async () => {
    const first = transfer({ from: 3, to: acct(4).address, amount: 7n, nonce: 0 });
    const gap = transfer({ from: 3, to: acct(4).address, amount: 5n, nonce: 1 });
    assert.equal((await get(n, `/tx?id=${gap.id}`)).json.status, 'dropped');
    // Paused, so that both are pending before the next block is built.
    await n.node.pause();
    assert.equal((await submit(n, first)).status, 202);
    assert.equal((await submit(n, gap)).status, 202);
    n.node.resume();
    assert.equal((await waitStatus(n, first.id, (s) => s.status !== 'pending')).status, 'finalized');
    assert.equal((await waitStatus(n, gap.id, (s) => s.status !== 'pending')).status, 'finalized');
  });

  it('behavior: a tx admitted while a block is being committed is not expired by that block', async () => {
    const first = transfer({ from: 6, to: acct(4).address, amount: 7n, nonce: 0 });
    const second = transfer({ from: 6, to: acct(4).address, amount: 5n, nonce: 1 });
    // Admit `second` exactly while the block that includes `first` (built without `second`) is being made durable.
    const store = n.node.store;
    const commitBlock = store.commitBlock.bind(store);
    let admittedDuringCommit = false;
    store.commitBlock = async (c) => {
      if (!admittedDuringCommit && c.block.block.txs.some((d) => d.id === first.id)) {
        assert.ok(!c.block.block.txs.some((d) => d.id === second.id));
        await n.node.submitTx(encodeTx(second.tx));
        admittedDuringCommit = true;
      }
      return commitBlock(c);
    };
    try {
      assert.equal((await submit(n, first)).status, 202);
      assert.equal((await waitStatus(n, first.id, (s) => s.status !== 'pending')).status, 'finalized');
      assert.ok(admittedDuringCommit);
      const st = await waitStatus(n, second.id, (s) => s.status !== 'pending');
      assert.equal(st.status, 'finalized', JSON.stringify(st));
    } finally {
      store.commitBlock = commitBlock;
    }
  });
});

// ---------------------------------------------------------------- full pool

describe('a full pool (mempoolMaxTxs: 2), production paused', () => {
  let n: TestNode;
  before(async () => {
    n = await startPaused({ mempoolMaxTxs: 2 });
  });
  after(async () => {
    await n?.dispose();
  });

  const low = transfer({ from: 1, to: acct(9).address, amount: 1n, fee: 10n, nonce: 0 });
  const mid = transfer({ from: 2, to: acct(9).address, amount: 1n, fee: 20n, nonce: 0 });
  const high = transfer({ from: 3, to: acct(9).address, amount: 1n, fee: 30n, nonce: 0 });

  it('behavior: a higher-fee tx evicts the lowest-fee one, which shows as dropped EVICTED', async () => {
    assert.equal((await submit(n, low)).status, 202);
    assert.equal((await submit(n, mid)).status, 202);
    const r = await submit(n, high);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const st = await get(n, `/tx?id=${low.id}`);
    assert.equal(st.json.status, 'dropped');
    assert.equal(st.json.error, 'EVICTED');
    assert.equal((await get(n, `/tx?id=${mid.id}`)).json.status, 'pending');
    assert.equal((await get(n, `/tx?id=${high.id}`)).json.status, 'pending');
    assert.equal((await get(n, '/status')).json.mempool.txs, 2);
  });

  it('error: a tx with a fee not above the lowest pending fee is 429 MEMPOOL_FULL', async () => {
    assertError(await submit(n, transfer({ from: 4, to: acct(9).address, amount: 1n, fee: 5n, nonce: 0 })), 429, 'MEMPOOL_FULL');
    // Equal to the lowest (20) is not enough either.
    assertError(await submit(n, transfer({ from: 4, to: acct(9).address, amount: 2n, fee: 20n, nonce: 0 })), 429, 'MEMPOOL_FULL');
    assert.equal((await get(n, '/status')).json.mempool.txs, 2);
    assert.equal((await get(n, `/tx?id=${mid.id}`)).json.status, 'pending');
  });

  it('behavior: once production resumes the pending txs finalize and the evicted one can come back', async () => {
    await resume(n);
    assert.equal((await waitStatus(n, mid.id, (s) => s.status !== 'pending')).status, 'finalized');
    assert.equal((await waitStatus(n, high.id, (s) => s.status !== 'pending')).status, 'finalized');
    assert.equal((await get(n, `/tx?id=${low.id}`)).json.error, 'EVICTED');
    assert.equal((await submit(n, low)).status, 202);
    assert.equal((await waitStatus(n, low.id, (s) => s.status !== 'pending')).status, 'finalized');
  });
});

// ---------------------------------------------------------------- per sender, replacement, pending list

describe('per-sender cap and replacement (mempoolMaxPerSender: 2), production paused', () => {
  let n: TestNode;
  before(async () => {
    n = await startPaused({ mempoolMaxPerSender: 2 });
  });
  after(async () => {
    await n?.dispose();
  });

  const from = acct(1).address;
  const t0 = transfer({ from: 1, to: acct(9).address, amount: 100n, fee: 10n, nonce: 0 });
  const t1 = transfer({ from: 1, to: acct(9).address, amount: 101n, fee: 10n, nonce: 1 });
  const t1bump = transfer({ from: 1, to: acct(9).address, amount: 101n, fee: 11n, nonce: 1 }); // +10%: the default least bump
  const t0small = transfer({ from: 1, to: acct(9).address, amount: 102n, fee: 10n, nonce: 0 });

  it('error: a third pending tx of one sender is 429 SENDER_LIMIT', async () => {
    assert.equal((await submit(n, t0)).status, 202);
    assert.equal((await submit(n, t1)).status, 202);
    assertError(await submit(n, transfer({ from: 1, to: acct(9).address, amount: 1n, nonce: 2 })), 429, 'SENDER_LIMIT');
    // Another sender is not affected.
    assert.equal((await submit(n, transfer({ from: 2, to: acct(9).address, amount: 1n, nonce: 0 }))).status, 202);
  });

  it('behavior: GET /tx/pending?from= lists the sender\'s pending txs in nonce order, with meta on request', async () => {
    const plain = await get(n, `/tx/pending?from=${from}`);
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.json.map((x: any) => x.id), [t0.id, t1.id]);
    const withMeta = await get(n, `/tx/pending?from=${from}&withMeta=true`);
    assert.deepEqual(withMeta.json.meta, { total: 2, offset: 0, limit: 100 });
    assert.deepEqual({ ...withMeta.json, items: undefined }, { items: undefined, total: 2, offset: 0, limit: 100, count: 2, hasMore: false, meta: withMeta.json.meta });
    assert.deepEqual(withMeta.json.items[0], { id: t0.id, status: 'pending', tx: encodeTx(t0.tx) });
    assert.deepEqual(withMeta.json.items.map((x: any) => x.tx.nonce), [0, 1]);
    const page = await get(n, `/tx/pending?from=${from}&withMeta=true&offset=1&limit=1`);
    assert.deepEqual(page.json.meta, { total: 2, offset: 1, limit: 1 });
    assert.equal(page.json.count, 1);
    assert.equal(page.json.hasMore, false);
    assert.deepEqual(page.json.items.map((x: any) => x.id), [t1.id]);
    const nobody = await get(n, `/tx/pending?from=${'e'.repeat(40)}&withMeta=true`);
    assert.deepEqual(nobody.json, { items: [], total: 0, offset: 0, limit: 100, count: 0, hasMore: false, meta: { total: 0, offset: 0, limit: 100 } });
    assertError(await get(n, '/tx/pending?from=XYZ'), 400, 'INVALID_REQUEST');
  });

  it('error: a replacement without enough fee bump is 409 NONCE_CONFLICT; the pending tx stays', async () => {
    assertError(await submit(n, t0small), 409, 'NONCE_CONFLICT');
    // The very same tx again is a duplicate, not a conflict.
    assertError(await submit(n, t0), 409, 'DUPLICATE_TX');
    assert.equal((await get(n, `/tx?id=${t0.id}`)).json.status, 'pending');
    assertError(await get(n, `/tx?id=${t0small.id}`), 404, 'NOT_FOUND');
  });

  it('behavior: a fee bump replaces a pending tx (even at the sender cap); the old one is dropped REPLACED', async () => {
    const r = await submit(n, t1bump);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const old = await get(n, `/tx?id=${t1.id}`);
    assert.equal(old.json.status, 'dropped');
    assert.equal(old.json.error, 'REPLACED');
    const pending = await get(n, `/tx/pending?from=${from}`);
    assert.deepEqual(pending.json.map((x: any) => x.id), [t0.id, t1bump.id]);
  });

  it('behavior: after resuming, the replacement is finalized and the replaced tx stays dropped', async () => {
    await resume(n);
    assert.equal((await waitStatus(n, t1bump.id, (s) => s.status !== 'pending')).status, 'finalized');
    assert.equal((await waitStatus(n, t0.id, (s) => s.status !== 'pending')).status, 'finalized');
    const old = await get(n, `/tx?id=${t1.id}`);
    assert.equal(old.json.status, 'dropped');
    assert.equal(old.json.error, 'REPLACED');
    assert.equal((await get(n, `/accounts/${from}`)).json.nonce, 2);
  });
});
