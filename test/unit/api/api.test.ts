import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeTx } from '../../../src/codec/tx.js';
import { acct, transfer } from '../../helpers/fixtures.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

let n: TestNode;
const TOKEN = 'test-admin-token-0123456789';

before(async () => {
  n = await startTestNode({ config: { adminToken: TOKEN, devSigning: true, bodyLimitBytes: 16_384 } });
});
after(async () => {
  await n.dispose();
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await n.app.inject({ method: 'POST', url, payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.statusCode, json: r.json() as any };
}
async function get(url: string, headers: Record<string, string> = {}) {
  const r = await n.app.inject({ method: 'GET', url, headers });
  return { status: r.statusCode, json: (String(r.headers['content-type']).includes('json') ? r.json() : r.body) as any };
}
function assertError(r: { status: number; json: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
}

describe('POST /tx', () => {
  it('default: accepts a signed transfer and finalizes it', async () => {
    const d = transfer({ from: 0, to: acct(1).address, amount: 1000n, nonce: 0 });
    const r = await post('/tx', encodeTx(d.tx));
    assert.equal(r.status, 202);
    assert.deepEqual(r.json, { id: d.id, status: 'pending' });
    const pending = await get(`/tx?id=${d.id}`);
    assert.ok(['pending', 'finalized'].includes(pending.json.status));
    await waitForHeight(n, n.node.height + 2);
    const fin = await get(`/tx?id=${d.id}`);
    assert.equal(fin.json.status, 'finalized');
    assert.equal(fin.json.success, true);
    assert.equal(typeof fin.json.height, 'number');
    assert.equal(fin.json.index, 0);
    const block = await get(`/blocks/${fin.json.height}`);
    assert.equal(block.json.hash, fin.json.blockHash);
    assert.equal(block.json.txs.length, 1);
    const acc = await get(`/accounts/${acct(0).address}`);
    assert.equal(acc.json.nonce, 1);
    assert.equal(acc.json.balance, String(1_000_000_000_000n - 1010n));
  });

  it('behavior: a resubmission is 409, or the existing state with ?idempotent=true', async () => {
    const d = transfer({ from: 2, to: acct(1).address, amount: 5n, nonce: 0 });
    assert.equal((await post('/tx', encodeTx(d.tx))).status, 202);
    assertError(await post('/tx', encodeTx(d.tx)), 409, 'DUPLICATE_TX');
    const again = await post('/tx?idempotent=true', encodeTx(d.tx));
    assert.ok(again.status === 202 || again.status === 200);
    assert.equal(again.json.id, d.id);
    await waitForHeight(n, n.node.height + 2);
    assertError(await post('/tx', encodeTx(d.tx)), 409, 'DUPLICATE_TX');
    const fin = await post('/tx?idempotent=true', encodeTx(d.tx));
    assert.equal(fin.status, 200);
    assert.equal(fin.json.status, 'finalized');
  });

  it('error: a replayed nonce is 409 NONCE_TOO_LOW', async () => {
    await waitForHeight(n, n.node.height + 1);
    const d = transfer({ from: 0, to: acct(3).address, amount: 7n, nonce: 0 });
    assertError(await post('/tx', encodeTx(d.tx)), 409, 'NONCE_TOO_LOW');
  });

  it('error: a nonce beyond the window is 409 NONCE_TOO_HIGH', async () => {
    assertError(await post('/tx', encodeTx(transfer({ from: 4, to: acct(3).address, amount: 7n, nonce: 100_000 }).tx)), 409, 'NONCE_TOO_HIGH');
  });

  it('error: a bad signature is 400 INVALID_SIGNATURE', async () => {
    const t = encodeTx(transfer({ from: 4, to: acct(3).address, amount: 7n, nonce: 0 }).tx) as any;
    t.signature = (t.signature[0] === 'a' ? 'b' : 'a') + t.signature.slice(1);
    assertError(await post('/tx', t), 400, 'INVALID_SIGNATURE');
    // Signed for one amount, submitted with another.
    const u = encodeTx(transfer({ from: 4, to: acct(3).address, amount: 7n, nonce: 0 }).tx) as any;
    u.payload.amount = '8';
    assertError(await post('/tx', u), 400, 'INVALID_SIGNATURE');
  });

  it('error: a wrong chainId is 400 WRONG_CHAIN_ID', async () => {
    assertError(await post('/tx', encodeTx(transfer({ from: 4, to: acct(3).address, amount: 7n, nonce: 0, chainId: 'other-chain' }).tx)), 400, 'WRONG_CHAIN_ID');
  });

  it('error: an amount above the balance is 400 INSUFFICIENT_FUNDS', async () => {
    assertError(await post('/tx', encodeTx(transfer({ from: 4, to: acct(3).address, amount: 10n ** 30n, nonce: 0 }).tx)), 400, 'INSUFFICIENT_FUNDS');
  });

  it('error: an unfunded sender is 400 INSUFFICIENT_FUNDS', async () => {
    assertError(await post('/tx', encodeTx(transfer({ from: 50, to: acct(3).address, amount: 1n, nonce: 0 }).tx)), 400, 'INSUFFICIENT_FUNDS');
  });

  it('error: a fee below the minimum is 400 FEE_TOO_LOW', async () => {
    assertError(await post('/tx', encodeTx(transfer({ from: 4, to: acct(3).address, amount: 1n, nonce: 0, fee: 0n }).tx)), 400, 'FEE_TOO_LOW');
  });

  it('error: malformed JSON is 400 INVALID_JSON', async () => {
    assertError(await post('/tx', '{"chainId": '), 400, 'INVALID_JSON');
    assertError(await post('/tx', ''), 400, 'INVALID_JSON');
  });

  it('error: wrong types and missing or unknown fields are 400 INVALID_REQUEST naming the field', async () => {
    const good = encodeTx(transfer({ from: 4, to: acct(3).address, amount: 1n, nonce: 0 }).tx) as any;
    for (const [mut, field] of [
      [(t: any) => (t.nonce = '0'), 'nonce'],
      [(t: any) => (t.fee = 10), 'fee'],
      [(t: any) => delete t.signature, 'signature'],
      [(t: any) => (t.extra = true), 'additional'],
      [(t: any) => (t.from = 'XYZ'), 'from'],
      [(t: any) => (t.payload = []), 'payload'],
    ] as const) {
      const t = structuredClone(good);
      mut(t);
      const r = await post('/tx', t);
      assertError(r, 400, 'INVALID_REQUEST');
      assert.match(r.json.error.message, new RegExp(field));
    }
    assertError(await post('/tx', [1, 2]), 400, 'INVALID_REQUEST');
    assertError(await post('/tx', 'null'), 400, 'INVALID_REQUEST');
  });

  it('error: a payload problem is 400 with the codec code', async () => {
    const t = encodeTx(transfer({ from: 4, to: acct(3).address, amount: 1n, nonce: 0 }).tx) as any;
    t.payload.amount = '-5';
    assertError(await post('/tx', t), 400, 'INVALID_AMOUNT');
    t.payload = { to: acct(3).address, amount: '1', memo: 'x' };
    assertError(await post('/tx', t), 400, 'INVALID_TX');
    t.kind = 'product_settle';
    assertError(await post('/tx', t), 400, 'INVALID_TX');
  });

  it('error: a huge body is 413 PAYLOAD_TOO_LARGE', async () => {
    const r = await post('/tx', JSON.stringify({ pad: 'x'.repeat(100_000) }));
    assertError(r, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('error: a non-JSON content type is 415', async () => {
    const r = await n.app.inject({ method: 'POST', url: '/tx', payload: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(r.statusCode, 415);
    assert.equal(r.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('error: a bad query parameter is 400', async () => {
    assertError(await post('/tx?idempotent=maybe', encodeTx(transfer({ from: 4, to: acct(3).address, amount: 1n, nonce: 0 }).tx)), 400, 'INVALID_REQUEST');
  });
});

describe('reads', () => {
  it('GET /tx: unknown id is 404, a malformed id is 400', async () => {
    assertError(await get(`/tx?id=${'0'.repeat(64)}`), 404, 'NOT_FOUND');
    assertError(await get('/tx?id=xyz'), 400, 'INVALID_REQUEST');
    assertError(await get('/tx'), 400, 'INVALID_REQUEST');
  });

  it('GET /accounts/:address: unknown is a zero account, malformed is 400', async () => {
    const r = await get(`/accounts/${'e'.repeat(40)}`);
    assert.deepEqual(r.json, { address: 'e'.repeat(40), balance: '0', nonce: 0, pendingNonce: 0 });
    assertError(await get('/accounts/nothex'), 400, 'INVALID_REQUEST');
  });

  it('GET /blocks: latest, by height, ranges, and errors', async () => {
    await waitForHeight(n, 2);
    const latest = await get('/blocks/latest');
    assert.equal(latest.status, 200);
    for (const k of ['header', 'hash', 'txs', 'commit']) assert.ok(k in latest.json, k);
    assertError(await get('/blocks/999999999'), 404, 'NOT_FOUND');
    assertError(await get('/blocks/0'), 404, 'NOT_FOUND');
    assertError(await get('/blocks/-1'), 400, 'INVALID_REQUEST');
    assertError(await get('/blocks/abc'), 400, 'INVALID_REQUEST');
    const range = await get('/blocks?from=1&limit=2');
    assert.equal(range.json.length, 2);
    assert.equal(range.json[0].header.height, 1);
    assertError(await get('/blocks?from=1&limit=100000'), 400, 'INVALID_REQUEST');
  });

  it('GET /tx/finalized and /tx/pending: filters, pagination and meta', async () => {
    const all = await get(`/tx/finalized?address=${acct(1).address}&withMeta=true&limit=1`);
    assert.equal(all.status, 200);
    assert.ok(all.json.meta.total >= 2);
    assert.equal(all.json.items.length, 1);
    const from0 = await get(`/tx/finalized?from=${acct(0).address}`);
    assert.ok(Array.isArray(from0.json));
    assert.ok(from0.json.every((t: any) => t.tx.from === acct(0).address));
    assertError(await get('/tx/finalized?limit=0'), 400, 'INVALID_REQUEST');
    assertError(await get('/tx/finalized?order=sideways'), 400, 'INVALID_REQUEST');
    assertError(await get('/tx/finalized?bogus=1'), 400, 'INVALID_REQUEST');
    const p = await get('/tx/pending?withMeta=true');
    assert.equal(typeof p.json.meta.total, 'number');
  });

  it('GET /validators, /status, /healthz, /readyz, /metrics', async () => {
    const v = await get('/validators');
    assert.equal(v.json.length, 1);
    for (const k of ['id', 'pubKey', 'address', 'stake', 'delegated', 'votingPower', 'workWeight', 'status']) assert.ok(k in v.json[0], k);
    const s = await get('/status');
    for (const k of ['chainId', 'nodeId', 'latestHeight', 'latestHash', 'epoch', 'peers', 'syncing']) assert.ok(k in s.json, k);
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
    const m = await get('/metrics');
    assert.match(m.json as string, /fastpos_finalized_height \d+/);
    assert.match(m.json as string, /fastpos_http_requests_total/);
    // Every phase of a height this single validator went through was timed (heights decided by now: at least 1).
    for (const phase of ['proposal', 'prevote', 'precommit', 'decided', 'commit']) {
      const count = new RegExp(`fastpos_consensus_phase_seconds_count\\{phase="${phase}"\\} (\\d+)`).exec(m.json as string);
      assert.ok(count !== null && Number(count[1]) >= 1, `phase ${phase} observed`);
    }
  });

  it('error: unknown route is 404 NOT_FOUND', async () => {
    assertError(await get('/nope'), 404, 'NOT_FOUND');
  });
});

describe('admin and dev routes', () => {
  it('error: no token 401, wrong token 403', async () => {
    assertError(await post('/admin/production/pause', {}), 401, 'UNAUTHORIZED');
    assertError(await post('/admin/production/pause', {}, { authorization: 'Bearer wrong-token-xxxxxxxxxxx' }), 403, 'FORBIDDEN');
  });
  it('behavior: pause stops production and readiness, resume restarts it', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await post('/admin/production/pause', {}, auth)).status, 200);
    const h = n.node.height;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(n.node.height, h);
    assertError(await get('/readyz'), 503, 'NOT_READY');
    assert.equal((await post('/admin/production/resume', {}, auth)).status, 200);
    await waitForHeight(n, h + 1);
    const st = await get('/admin/status', auth);
    assert.equal(st.json.paused, false);
  });
  it('dev transfer signs with a dev key when enabled', async () => {
    const r = await post('/dev/transfer', { devAccount: 5, to: acct(6).address, amount: '3' });
    assert.equal(r.status, 202);
    assertError(await post('/dev/transfer', { devAccount: 5, to: 'zz', amount: '3' }), 400, 'INVALID_REQUEST');
  });
});
