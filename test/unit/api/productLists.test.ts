/**
 * The product list routes on a real single-node chain with a product
 * section: attestations (finalized at once, and one left pending),
 * settlements, challenges (upheld, rejected, open) submitted through POST
 * /tx and through the product POST routes; then every list's filters, the
 * withMeta envelope and paging edges, the statistics, the single lookups
 * the list routes keep, and strict query validation (an unknown or
 * malformed parameter is 400 naming it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signTx } from '../../../src/client/sign.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS } from '../../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS, proofId } from '../../../src/state/product.js';
import type { Genesis, UnsignedTx } from '../../../src/types/index.js';
import { assertApiError, waitFinalized } from '../../helpers/api.js';
import { CHAIN, acct, val } from '../../helpers/fixtures.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const EPOCH = 12;
const [V0, V1, V2] = [0, 1, 2].map((i) => val(i).address) as [string, string, string];
const ORACLE = acct(5);
const SMALL_ORACLE = acct(6);
const REF_A = `sha256:${'aa'.repeat(32)}`;
const REF_B = 'ipfs://bafy-proof-b';

let n: TestNode;
async function get(url: string): Promise<{ status: number; json: any }> {
  const r = await n.app.inject({ method: 'GET', url });
  return { status: r.statusCode, json: r.json() };
}
async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await n.app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: r.statusCode, json: r.json() };
}
/** The items of a list answer (plain array or envelope). */
const items = (json: any): any[] => (Array.isArray(json) ? json : json.items);

const nonces = new Map<number, number>();
/** Signs a tx of dev account `from` with its next nonce. */
function sign(from: number, kind: UnsignedTx['kind'], payload: Record<string, unknown>): { id: string; tx: Record<string, unknown> } {
  const k = acct(from);
  const nonce = nonces.get(from) ?? 0;
  nonces.set(from, nonce + 1);
  return signTx(k.privateKey, { chainId: CHAIN, kind, from: k.address, pubKey: k.publicKey, nonce, fee: 10n, payload } as unknown as UnsignedTx);
}
async function submit(from: number, kind: UnsignedTx['kind'], payload: Record<string, unknown>, route = '/tx'): Promise<string> {
  const { id, tx } = sign(from, kind, payload);
  const r = await post(route, tx);
  assert.equal(r.status, 202, JSON.stringify(r.json));
  assert.equal(r.json.id, id);
  return id;
}

const ids: Record<string, string> = {};
const heights: Record<string, number> = {};

before(async () => {
  const genesis: Genesis = {
    chainId: CHAIN,
    genesisTime: Date.now() - 60_000,
    treasury: TREASURY_ADDRESS,
    params: { ...DEFAULT_PARAMS, governance: [acct(0).address], epochLengthBlocks: EPOCH, unbondingPeriodBlocks: 10_000 },
    accounts: [...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ address: acct(i).address, balance: 1_000_000_000n })), { address: TREASURY_ADDRESS, balance: 1_000_000n }],
    validators: [
      { pubKey: val(0).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT },
      { pubKey: val(1).publicKey, stake: 100_000n, workWeight: NEUTRAL_WORK_WEIGHT },
      { pubKey: val(2).publicKey, stake: 100_000n, workWeight: NEUTRAL_WORK_WEIGHT },
    ],
    product: {
      // One oracle holds the quorum alone; the other two cannot reach it.
      oracles: [ORACLE, SMALL_ORACLE, acct(7)].map((o, i) => ({ address: o.address, stake: i === 0 ? 1000n : 1n })),
      params: { ...DEFAULT_PRODUCT_PARAMS, rewardPerEpoch: 1000n, challengeWindowBlocks: 1000, challengeResolveDelayBlocks: 0, challengeResolveDeadlineBlocks: 1000 },
    },
  };
  n = await startTestNode({ genesis, config: { idleBlockIntervalMs: 20, minBlockIntervalMs: 5 } });
  // Epoch 1: epoch 0's work may be attested, and is paid for at the end of epoch 1.
  await waitForHeight(n, EPOCH + 1, 30_000);
  ids.p00 = await submit(5, 'product_attest', { validatorId: V0, epoch: 0, score: 30_000, proofRef: REF_A });
  ids.p10 = await submit(5, 'product_attest', { validatorId: V1, epoch: 0, score: 20_000, proofRef: REF_B }, '/product/attestations');
  ids.pending = await submit(6, 'product_attest', { validatorId: V2, epoch: 0, score: 9_000, proofRef: REF_B });
  ids.s1 = await submit(1, 'product_settle', { validatorId: V0, amount: 10_001n, reference: 'inv-1' });
  ids.s2 = await submit(1, 'product_settle', { validatorId: V1, amount: 50n, reference: 'inv-2' }, '/product/settlements');
  ids.s3 = await submit(2, 'product_settle', { validatorId: V0, amount: 7n, reference: 'inv-1' });
  for (const k of ['p00', 'p10', 'pending', 's1', 's2', 's3']) heights[k] = await waitFinalized(n, ids[k]!, 20_000);
  assert.ok(heights.p10! <= 2 * EPOCH, 'epoch 0 proofs finalized within epoch 1');
  // Epoch 2: epoch 1's work.
  await waitForHeight(n, 2 * EPOCH + 1, 30_000);
  ids.p21 = await submit(5, 'product_attest', { validatorId: V2, epoch: 1, score: 5_000, proofRef: REF_A });
  ids.s4 = await submit(3, 'product_settle', { validatorId: V2, amount: 999_999n, reference: 'order-9' });
  for (const k of ['p21', 's4']) heights[k] = await waitFinalized(n, ids[k]!, 20_000);
  ids.c1 = await submit(3, 'product_challenge', { proofId: proofId(V2, 1) }, '/product/challenges');
  ids.c2 = await submit(4, 'product_challenge', { proofId: proofId(V1, 0) });
  ids.c3 = await submit(3, 'product_challenge', { proofId: proofId(V0, 0) });
  for (const k of ['c1', 'c2', 'c3']) heights[k] = await waitFinalized(n, ids[k]!, 20_000);
  ids.r1 = await submit(5, 'product_resolve_challenge', { challengeId: ids.c1, upheld: true }, '/product/challenges/resolve');
  ids.r2 = await submit(5, 'product_resolve_challenge', { challengeId: ids.c2, upheld: false });
  for (const k of ['r1', 'r2']) heights[k] = await waitFinalized(n, ids[k]!, 20_000);
});
after(async () => {
  await n?.dispose();
});

describe('GET /product/proofs', () => {
  it('default: every proof, newest first; withMeta the envelope', async () => {
    const r = await get('/product/proofs');
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 3);
    // (height, id) descending: the epoch 1 proof was finalized last.
    assert.equal(r.json[0].id, proofId(V2, 1));
    assert.deepEqual(new Set(r.json.slice(1).map((p: any) => p.id)), new Set([proofId(V0, 0), proofId(V1, 0)]));
    assert.equal(r.json[0].status, 'invalidated');
    const m = await get('/product/proofs?withMeta=true&limit=2');
    assert.deepEqual({ ...m.json, items: m.json.items.length }, { items: 2, total: 3, offset: 0, limit: 2, count: 2, hasMore: true });
    const asc = await get('/product/proofs?order=asc');
    assert.deepEqual(asc.json.map((p: any) => p.id), r.json.map((p: any) => p.id).reverse());
  });

  it('filters: id, validatorId, epoch, proofRef, status, score range, heights, time window', async () => {
    const idsOf = async (q: string): Promise<string[]> => {
      const r = await get(`/product/proofs?${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return items(r.json).map((p: any) => p.id).sort();
    };
    const [p00, p10, p21] = [proofId(V0, 0), proofId(V1, 0), proofId(V2, 1)];
    assert.deepEqual(await idsOf(`id=${p10}`), [p10]);
    assert.deepEqual(await idsOf(`validatorId=${V0}&withMeta=true`), [p00]);
    assert.deepEqual(await idsOf('epoch=0'), [p00, p10].sort());
    // (Exactly validatorId and epoch is the lookup: with any list parameter it is a list.)
    assert.deepEqual(await idsOf(`epoch=0&validatorId=${V2}&withMeta=true`), []);
    assert.deepEqual(await idsOf(`epoch=0&validatorId=${V0}&order=asc`), [p00]);
    assert.deepEqual(await idsOf(`proofRef=${encodeURIComponent(REF_A)}`), [p00, p21].sort());
    assert.deepEqual(await idsOf('status=invalidated'), [p21]);
    assert.deepEqual(await idsOf('status=finalized'), [p00, p10].sort());
    assert.deepEqual(await idsOf('minScore=20000'), [p00, p10].sort());
    assert.deepEqual(await idsOf('maxScore=19999'), [p21]);
    assert.deepEqual(await idsOf('minScore=10000&maxScore=25000'), [p10]);
    assert.deepEqual(await idsOf('minScore=25000&maxScore=10000'), []);
    assert.deepEqual(await idsOf(`fromHeight=${heights.p21}`), [p21]);
    assert.deepEqual(await idsOf(`toHeight=${heights.p21! - 1}`), [p00, p10].sort());
    assert.deepEqual(await idsOf(`fromHeight=${n.node.height + 1000}`), []);
    const t = (await get(`/blocks/${heights.p21}`)).json.header.timestamp as number;
    assert.deepEqual(await idsOf(`fromTime=${t}`), [p21]);
    assert.deepEqual(await idsOf(`toTime=${t - 1}`), [p00, p10].sort());
    assert.deepEqual(await idsOf(`fromTime=${t + 1}&toTime=${t - 1}`), []);
  });

  it('lookup: exactly validatorId and epoch answer the proof itself, or 404 (as before the list)', async () => {
    const r = await get(`/product/proofs?validatorId=${V1}&epoch=0`);
    assert.equal(r.status, 200);
    assert.equal(r.json.id, proofId(V1, 0));
    assert.equal(r.json.score, 20_000);
    assertApiError(await get(`/product/proofs?validatorId=${V1}&epoch=7`), 404, 'NOT_FOUND');
    // Any other parameter makes it a list.
    const list = await get(`/product/proofs?validatorId=${V1}&epoch=7&withMeta=true`);
    assert.deepEqual(list.json, { items: [], total: 0, offset: 0, limit: 100, count: 0, hasMore: false });
  });
});

describe('paging edges (on /product/settlements)', () => {
  it('empty list, offset past the total, the largest limit, a limit of 1', async () => {
    const empty = await get(`/product/settlements?payer=${acct(7).address}&withMeta=true`);
    assert.deepEqual(empty.json, { items: [], total: 0, offset: 0, limit: 100, count: 0, hasMore: false });
    assert.deepEqual((await get(`/product/settlements?payer=${acct(7).address}`)).json, []);
    const past = await get('/product/settlements?offset=50&withMeta=true');
    assert.deepEqual(past.json, { items: [], total: 4, offset: 50, limit: 100, count: 0, hasMore: false });
    const max = await get('/product/settlements?limit=1000&withMeta=true');
    assert.equal(max.json.count, 4);
    assert.equal(max.json.limit, 1000);
    const pages: string[] = [];
    for (let offset = 0; offset < 5; offset++) {
      const p = await get(`/product/settlements?limit=1&offset=${offset}&withMeta=true`);
      assert.equal(p.json.total, 4);
      assert.equal(p.json.hasMore, offset < 3);
      pages.push(...p.json.items.map((s: any) => s.id));
    }
    assert.deepEqual(pages, max.json.items.map((s: any) => s.id));
  });

  it('error: a limit past 1000, a limit of 0, a negative offset', async () => {
    assertApiError(await get('/product/settlements?limit=1001'), 400, 'INVALID_REQUEST', 'limit');
    assertApiError(await get('/product/settlements?limit=0'), 400, 'INVALID_REQUEST', 'limit');
    assertApiError(await get('/product/settlements?offset=-1'), 400, 'INVALID_REQUEST', 'offset');
  });
});

describe('query validation', () => {
  it('error: an unknown filter is 400 naming it, on every list and statistic', async () => {
    for (const route of ['proofs', 'attestations', 'attestations/pending', 'attestations/stats', 'challenges', 'challenges/stats', 'settlements', 'settlements/stats', 'rewards']) {
      const r = await get(`/product/${route}?bogus=1`);
      assertApiError(r, 400, 'INVALID_REQUEST', 'querystring/bogus');
    }
    // A filter of another list is unknown here.
    assertApiError(await get('/product/proofs?payer=' + acct(1).address), 400, 'INVALID_REQUEST', 'querystring/payer');
    assertApiError(await get('/product/settlements?openOnly=true'), 400, 'INVALID_REQUEST', 'querystring/openOnly');
  });

  it('error: a malformed filter is 400 naming it', async () => {
    const cases: [string, string][] = [
      ['proofs?epoch=abc', 'epoch'],
      ['proofs?epoch=0x1', 'epoch'],
      ['proofs?epoch=01', 'epoch'],
      ['proofs?minScore=-1', 'minScore'],
      ['proofs?maxScore=1000001', 'maxScore'],
      ['proofs?status=open', 'status'],
      ['proofs?validatorId=XYZ', 'validatorId'],
      ['proofs?id=abc', 'id'],
      ['attestations?status=expired', 'status'],
      ['attestations?proofId=' + 'g'.repeat(64), 'proofId'],
      ['challenges?openOnly=yes', 'openOnly'],
      ['challenges?minBond=1.5', 'minBond'],
      ['challenges?challenger=12', 'challenger'],
      ['settlements?minAmount=-5', 'minAmount'],
      ['settlements?maxAmount=01', 'maxAmount'],
      ['settlements?reference=' + 'x'.repeat(129), 'reference'],
      ['settlements?fromTime=yesterday', 'fromTime'],
      ['settlements?toHeight=1e3', 'toHeight'],
      ['settlements?order=newest', 'order'],
      ['settlements?withMeta=1', 'withMeta'],
      ['rewards?epoch=-1', 'epoch'],
      ['settlements/stats?limit=0', 'limit'],
      ['attestations/stats?fromEpoch=x', 'fromEpoch'],
    ];
    for (const [url, field] of cases) assertApiError(await get(`/product/${url}`), 400, 'INVALID_REQUEST', `querystring/${field}`);
    // An enum error lists the values allowed.
    assert.match((await get('/product/challenges?status=closed')).json.error.message, /open, upheld, rejected, expired/);
  });
});

describe('GET /product/attestations', () => {
  it('every attestation: pending, finalized and invalidated, with its oracles and its pending reports or proof', async () => {
    const r = await get('/product/attestations?withMeta=true');
    assert.equal(r.json.total, 4);
    const byId = new Map(r.json.items.map((a: any) => [a.proofId, a]));
    const pending = byId.get(proofId(V2, 0)) as any;
    assert.equal(pending.status, 'pending');
    assert.equal(pending.height, heights.pending);
    assert.equal(pending.proof, null);
    assert.deepEqual(pending.oracles, [SMALL_ORACLE.address]);
    assert.deepEqual([pending.pending.reportedStake, pending.pending.totalStake], ['1', '1002']);
    const done = byId.get(proofId(V0, 0)) as any;
    assert.equal(done.status, 'finalized');
    assert.equal(done.pending, null);
    assert.equal(done.proof.score, 30_000);
    assert.equal(done.height, heights.p00);
    assert.equal((byId.get(proofId(V2, 1)) as any).status, 'invalidated');
  });

  it('filters: status, validatorId, epoch, proofId, proofRef and score (of the proof), heights', async () => {
    const idsOf = async (q: string): Promise<string[]> => items((await get(`/product/attestations?${q}`)).json).map((a: any) => a.proofId).sort();
    assert.deepEqual(await idsOf('status=pending'), [proofId(V2, 0)]);
    assert.deepEqual(await idsOf('status=invalidated'), [proofId(V2, 1)]);
    assert.deepEqual(await idsOf(`validatorId=${V2}`), [proofId(V2, 0), proofId(V2, 1)].sort());
    assert.deepEqual(await idsOf('epoch=1'), [proofId(V2, 1)]);
    assert.deepEqual(await idsOf(`proofId=${proofId(V0, 0)}`), [proofId(V0, 0)]);
    assert.deepEqual(await idsOf(`proofRef=${encodeURIComponent(REF_B)}`), [proofId(V1, 0)]);
    assert.deepEqual(await idsOf('minScore=0'), [proofId(V0, 0), proofId(V1, 0), proofId(V2, 1)].sort());
    assert.deepEqual(await idsOf(`fromHeight=${heights.p21}&toHeight=${heights.p21}`), [proofId(V2, 1)]);
  });

  it('GET /product/attestations/pending: the pending ones as the lookup shows them; exactly validatorId and epoch is the lookup', async () => {
    const list = await get('/product/attestations/pending?withMeta=true');
    assert.equal(list.json.total, 1);
    assert.equal(list.json.items[0].validatorId, V2);
    assert.equal(list.json.items[0].reports.length, 1);
    assert.deepEqual(await get(`/product/attestations/pending?validatorId=${V0}`).then((r) => r.json), []);
    const one = await get(`/product/attestations/pending?validatorId=${V2}&epoch=0`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.json, list.json.items[0]);
    assertApiError(await get(`/product/attestations/pending?validatorId=${V0}&epoch=0`), 404, 'NOT_FOUND');
  });

  it('GET /product/attestations/stats: counts by status and by epoch', async () => {
    const r = await get('/product/attestations/stats');
    assert.deepEqual(r.json, {
      total: 4,
      byStatus: { pending: 1, finalized: 2, invalidated: 1 },
      byEpoch: [
        { epoch: 1, total: 1, pending: 0, finalized: 0, invalidated: 1 },
        { epoch: 0, total: 3, pending: 1, finalized: 2, invalidated: 0 },
      ],
      hasMoreEpochs: false,
    });
    const one = await get('/product/attestations/stats?epoch=0&limit=1');
    assert.deepEqual(one.json.byEpoch.map((e: any) => e.epoch), [0]);
    assert.equal((await get('/product/attestations/stats?limit=1')).json.hasMoreEpochs, true);
  });
});

describe('GET /product/challenges', () => {
  it('filters: id, proofId, validatorId, epoch, challenger, status, openOnly, bond range, heights', async () => {
    const idsOf = async (q: string): Promise<string[]> => {
      const r = await get(`/product/challenges?${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return items(r.json).map((c: any) => c.id).sort();
    };
    const all = [ids.c1!, ids.c2!, ids.c3!].sort();
    assert.deepEqual(await idsOf(''), all);
    assert.deepEqual(await idsOf(`id=${ids.c2}`), [ids.c2]);
    assert.deepEqual(await idsOf(`proofId=${proofId(V0, 0)}`), [ids.c3]);
    assert.deepEqual(await idsOf(`validatorId=${V2}`), [ids.c1]);
    assert.deepEqual(await idsOf('epoch=0'), [ids.c2!, ids.c3!].sort());
    assert.deepEqual(await idsOf(`challenger=${acct(3).address}`), [ids.c1!, ids.c3!].sort());
    assert.deepEqual(await idsOf('status=upheld'), [ids.c1]);
    assert.deepEqual(await idsOf('status=rejected'), [ids.c2]);
    assert.deepEqual(await idsOf('status=expired'), []);
    assert.deepEqual(await idsOf('openOnly=true'), [ids.c3]);
    assert.deepEqual(await idsOf('openOnly=false'), all);
    assert.deepEqual(await idsOf('openOnly=true&status=upheld'), []);
    assert.deepEqual(await idsOf('minBond=1000'), all);
    assert.deepEqual(await idsOf('maxBond=999'), []);
    assert.deepEqual(await idsOf(`fromHeight=${Math.max(heights.c1!, heights.c2!, heights.c3!) + 1}`), []);
    const c = (await get(`/product/challenges?id=${ids.c1}`)).json[0];
    assert.equal(c.status, 'upheld');
    assert.deepEqual([c.upheldStake, c.totalStake], ['1000', '1002']);
    assert.deepEqual(c, (await get(`/product/challenges/${ids.c1}`)).json, 'the list item is the lookup');
  });

  it('GET /product/challenges/stats: counts by status, bonds locked, returned and forfeited, slashed totals', async () => {
    const list = (await get('/product/challenges')).json as any[];
    const bondOf = (id: string): bigint => BigInt(list.find((c) => c.id === id).bond);
    const r = await get('/product/challenges/stats');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.byStatus, { open: 1, upheld: 1, rejected: 1, expired: 0 });
    assert.equal(r.json.total, 3);
    assert.equal(r.json.bondsLocked, bondOf(ids.c3!).toString());
    assert.deepEqual(r.json.bonds, { open: bondOf(ids.c3!).toString(), upheld: bondOf(ids.c1!).toString(), rejected: bondOf(ids.c2!).toString(), expired: '0' });
    const upheld = list.find((c) => c.id === ids.c1);
    assert.ok(BigInt(upheld.slashed) > 0n);
    assert.deepEqual([r.json.slashed, r.json.challengerRewards, r.json.clawedBack], [upheld.slashed, upheld.challengerReward, upheld.clawedBack]);
  });
});

describe('GET /product/settlements', () => {
  it('filters: id, payer, reference, validatorId, epoch, amount range, heights and time', async () => {
    const idsOf = async (q: string): Promise<string[]> => items((await get(`/product/settlements?${q}`)).json).map((s: any) => s.id).sort();
    assert.deepEqual(await idsOf(`id=${ids.s2}`), [ids.s2]);
    assert.deepEqual(await idsOf(`payer=${acct(1).address}`), [ids.s1!, ids.s2!].sort());
    assert.deepEqual(await idsOf('reference=inv-1'), [ids.s1!, ids.s3!].sort());
    assert.deepEqual(await idsOf(`payer=${acct(2).address}&reference=inv-1`), [ids.s3]);
    assert.deepEqual(await idsOf(`validatorId=${V0}`), [ids.s1!, ids.s3!].sort());
    assert.deepEqual(await idsOf('epoch=1'), [ids.s1!, ids.s2!, ids.s3!].sort());
    assert.deepEqual(await idsOf('epoch=2'), [ids.s4]);
    assert.deepEqual(await idsOf('minAmount=50'), [ids.s1!, ids.s2!, ids.s4!].sort());
    assert.deepEqual(await idsOf('maxAmount=50'), [ids.s2!, ids.s3!].sort());
    assert.deepEqual(await idsOf('minAmount=51&maxAmount=10001'), [ids.s1]);
    assert.deepEqual(await idsOf(`minAmount=${10n ** 38n}`), []);
    assert.deepEqual(await idsOf(`fromHeight=${heights.s4}`), [ids.s4]);
    const t = (await get(`/blocks/${heights.s4}`)).json.header.timestamp as number;
    assert.deepEqual(await idsOf(`fromTime=${t}&toTime=${t}`), [ids.s4]);
    const s = (await get(`/product/settlements?id=${ids.s1}`)).json[0];
    assert.deepEqual([s.amount, s.protocolFee, s.net, s.feeBps, s.reference, s.payer], ['10001', '101', '9900', 100, 'inv-1', acct(1).address]);
    assert.deepEqual(s, (await get(`/product/settlements/lookup?payer=${acct(1).address}&reference=inv-1`)).json.settlement);
  });

  it('GET /product/settlements/stats: totals of amount, protocolFee and net, by validator and by epoch', async () => {
    const r = await get('/product/settlements/stats');
    const fee = (a: bigint): bigint => (a * 100n + 9_999n) / 10_000n;
    const t = (amounts: bigint[]) => ({
      count: amounts.length,
      amount: amounts.reduce((x, y) => x + y, 0n).toString(),
      protocolFee: amounts.reduce((x, y) => x + fee(y), 0n).toString(),
      net: amounts.reduce((x, y) => x + y - fee(y), 0n).toString(),
    });
    assert.deepEqual(r.json, {
      ...t([10_001n, 50n, 7n, 999_999n]),
      byValidator: [
        { validatorId: V0, ...t([10_001n, 7n]) },
        { validatorId: V1, ...t([50n]) },
        { validatorId: V2, ...t([999_999n]) },
      ].sort((a, b) => (a.validatorId < b.validatorId ? -1 : 1)),
      hasMoreValidators: false,
      byEpoch: [
        { epoch: 2, ...t([999_999n]) },
        { epoch: 1, ...t([10_001n, 50n, 7n]) },
      ],
      hasMoreEpochs: false,
    });
    const one = (await get(`/product/settlements/stats?validatorId=${V1}&epoch=2`)).json;
    assert.deepEqual(one.byValidator, [{ validatorId: V1, ...t([50n]) }]);
    assert.deepEqual(one.byEpoch, [{ epoch: 2, ...t([999_999n]) }]);
    const few = (await get('/product/settlements/stats?limit=1&fromEpoch=1&toEpoch=2')).json;
    assert.deepEqual([few.byValidator.length, few.hasMoreValidators, few.byEpoch.map((e: any) => e.epoch), few.hasMoreEpochs], [1, true, [2], true]);
  });
});

describe('GET /product/rewards', () => {
  it('one record per epoch paid; exactly epoch is the lookup; validatorId the epochs that paid it', async () => {
    const list = await get('/product/rewards?withMeta=true&order=asc');
    assert.ok(list.json.total >= 1, JSON.stringify(list.json));
    assert.deepEqual(list.json.items.map((r: any) => r.epoch), Array.from({ length: list.json.total }, (_, i) => i));
    const e0 = await get('/product/rewards?epoch=0');
    assert.equal(e0.status, 200);
    assert.deepEqual(e0.json, list.json.items[0]);
    assert.deepEqual(e0.json.payouts.map((p: any) => [p.validatorId, p.amount]).sort(), [[V0, '600'], [V1, '400']].sort());
    assert.deepEqual((await get(`/product/rewards?validatorId=${V1}`)).json.map((r: any) => r.epoch), [0]);
    assert.deepEqual((await get(`/product/rewards?epoch=0&validatorId=${V2}`)).json, []);
    assertApiError(await get('/product/rewards?epoch=100000'), 404, 'NOT_FOUND');
    assert.deepEqual((await get('/product/rewards?epoch=100000&withMeta=true')).json.total, 0);
  });
});

describe('POST /product/attestations, /challenges, /challenges/resolve, /settlements', () => {
  it('behavior: a signed tx of the route\'s kind is submitted; a retry answers its status (idempotent)', async () => {
    const { id, tx } = sign(1, 'product_settle', { validatorId: V1, amount: 5n, reference: 'inv-retry' });
    const first = await post('/product/settlements', tx);
    assert.equal(first.status, 202);
    assert.deepEqual(first.json, { id, status: 'pending' });
    const again = await post('/product/settlements', tx);
    assert.ok(again.status === 202 || again.status === 200, JSON.stringify(again.json));
    assert.equal(again.json.id, id);
    await waitFinalized(n, id, 20_000);
    const done = await post('/product/settlements', tx);
    assert.equal(done.status, 200);
    assert.equal(done.json.status, 'finalized');
  });

  it('error: a tx of another kind is 400 naming kind; a malformed body is 400', async () => {
    const transfer = signTx(acct(4).privateKey, { chainId: CHAIN, kind: 'transfer', from: acct(4).address, pubKey: acct(4).publicKey, nonce: 99, fee: 10n, payload: { to: acct(1).address, amount: 1n } } as unknown as UnsignedTx).tx;
    for (const route of ['/product/attestations', '/product/challenges', '/product/challenges/resolve', '/product/settlements']) {
      assertApiError(await post(route, transfer), 400, 'INVALID_REQUEST', 'kind');
      assertApiError(await post(route, { ...transfer, extra: 1 }), 400, 'INVALID_REQUEST');
    }
    const settle = sign(4, 'product_settle', { validatorId: V1, amount: 5n, reference: 'x' }).tx;
    nonces.set(4, nonces.get(4)! - 1);
    assertApiError(await post('/product/challenges/resolve', settle), 400, 'INVALID_REQUEST', 'product_resolve_challenge');
  });
});
