/**
 * Admin routes of the validator economics on a real single-node devnet
 * (dev validator 0; dev account 0 governs; one long epoch, so that slashing
 * and jailing validator 0 never stops this node from producing blocks):
 * evidence, slash, jail, the next epoch's dry run, their auth and validation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { envelopeSignBytes } from '../../../src/codec/envelope.js';
import { evidenceId } from '../../../src/codec/tx.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { devValidator, type DevKey } from '../../../src/crypto/keys.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import type { Evidence, Genesis, SignedMessage } from '../../../src/types/index.js';
import { CHAIN, acct } from '../../helpers/fixtures.js';
import { assertApiError, txSubmitter, waitFinalized } from '../../helpers/api.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const TOKEN = 'staking-admin-test-token-0123';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const base = defaultDevnetGenesis();
const genesis: Genesis = { ...base, params: { ...base.params, epochLengthBlocks: 100_000 } };
const VAL0 = devValidator(0);
const VAL1 = devValidator(1);

let n: TestNode;
before(async () => {
  n = await startTestNode({ genesis, config: { adminToken: TOKEN } });
  await waitForHeight(n, 2);
});
after(async () => {
  await n.dispose();
});

type Res = { status: number; json: any };
async function req(node: TestNode, method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<Res> {
  const r = await node.app.inject({
    method, url, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: r.statusCode, json: r.json() };
}
const get = (url: string, headers?: Record<string, string>) => req(n, 'GET', url, undefined, headers);
const post = (url: string, body: unknown, headers?: Record<string, string>) => req(n, 'POST', url, body, headers);
const assertError = assertApiError;

const submit = txSubmitter(() => n);

const finalized = (id: string, timeoutMs?: number): Promise<number> => waitFinalized(n, id, timeoutMs);

function signed(key: DevKey, m: { height: number; blockHash: string; validatorId?: string; chainId?: string }): SignedMessage {
  const unsigned = { type: 'prevote' as const, chainId: m.chainId ?? CHAIN, height: m.height, round: 0, validatorId: m.validatorId ?? key.address, payload: { blockHash: m.blockHash } };
  return { ...unsigned, signature: createSigner(key.privateKey).sign(envelopeSignBytes(unsigned)) };
}
/** Two prevotes of `key` for two different blocks at `height`, as wire JSON. */
function doubleVote(key: DevKey, height: number, opts: { validatorId?: string; chainId?: string } = {}): Evidence {
  return { a: signed(key, { height, blockHash: 'aa'.repeat(32), ...opts }), b: signed(key, { height, blockHash: 'bb'.repeat(32), ...opts }) };
}

const ADMIN_ROUTES: [method: 'GET' | 'POST', url: string, body?: unknown][] = [
  ['GET', '/admin/evidence'],
  ['POST', '/admin/evidence', { evidence: doubleVote(VAL0, 1) }],
  ['POST', `/admin/validators/${VAL0.address}/slash`, { fractionBps: 100 }],
  ['POST', `/admin/validators/${VAL0.address}/jail`, { jailBlocks: 10 }],
  ['GET', '/admin/epochs/next'],
];

describe('admin auth', () => {
  it('error: no token 401, a malformed header 401, a wrong token 403', async () => {
    for (const [method, url, body] of ADMIN_ROUTES) {
      assertError(await req(n, method, url, body, {}), 401, 'UNAUTHORIZED');
      assertError(await req(n, method, url, body, { authorization: TOKEN }), 401, 'UNAUTHORIZED');
      assertError(await req(n, method, url, body, { authorization: 'Bearer wrong-token-0123456789' }), 403, 'FORBIDDEN');
    }
    // Nothing was done.
    assert.equal((await get('/admin/evidence')).json.pending.total, 0);
  });

  it('error: 403 ADMIN_DISABLED without an adminToken; 403 FORBIDDEN for governance txs without a governance key', async () => {
    const off = await startTestNode({ genesis });
    const noGov = await startTestNode({ genesis: { ...genesis, params: { ...genesis.params, governance: [] } }, config: { adminToken: TOKEN } });
    try {
      for (const [method, url, body] of ADMIN_ROUTES) assertError(await req(off, method, url, body, AUTH), 403, 'ADMIN_DISABLED');
      assertError(await req(noGov, 'POST', `/admin/validators/${VAL0.address}/slash`, { fractionBps: 100 }), 403, 'FORBIDDEN', 'governance');
      assertError(await req(noGov, 'POST', `/admin/validators/${VAL0.address}/jail`, { jailBlocks: 1 }), 403, 'FORBIDDEN', 'governance');
    } finally {
      await off.dispose();
      await noGov.dispose();
    }
  });
});

describe('admin input', () => {
  it('error: slash and jail bodies are strict: range, type, unknown fields', async () => {
    const slash = `/admin/validators/${VAL0.address}/slash`;
    for (const body of [{}, { fractionBps: 0 }, { fractionBps: 10_001 }, { fractionBps: -5 }, { fractionBps: 1.5 }, { fractionBps: '100' }, { fractionBps: null }]) {
      assertError(await post(slash, body), 400, 'INVALID_REQUEST', 'fractionBps');
    }
    assertError(await post(slash, { fractionBps: 100, reason: 'x' }), 400, 'INVALID_REQUEST', 'additional');
    assertError(await post(slash, [100]), 400, 'INVALID_REQUEST');
    assertError(await post(slash, '{"fractionBps": '), 400, 'INVALID_JSON');
    const jail = `/admin/validators/${VAL0.address}/jail`;
    for (const body of [{}, { jailBlocks: 0 }, { jailBlocks: -1 }, { jailBlocks: 2.5 }, { jailBlocks: '3' }, { jailBlocks: 1e12 + 1 }]) {
      assertError(await post(jail, body), 400, 'INVALID_REQUEST', 'jailBlocks');
    }
    assertError(await post(jail, { jailBlocks: 3, until: 9 }), 400, 'INVALID_REQUEST', 'additional');
  });

  it('error: a malformed validator id is 400, an unknown one 404', async () => {
    for (const id of ['xyz', 'A'.repeat(40), 'a'.repeat(39)]) {
      assertError(await post(`/admin/validators/${id}/slash`, { fractionBps: 100 }), 400, 'INVALID_REQUEST', 'id');
      assertError(await post(`/admin/validators/${id}/jail`, { jailBlocks: 1 }), 400, 'INVALID_REQUEST', 'id');
    }
    assertError(await post(`/admin/validators/${'e'.repeat(40)}/slash`, { fractionBps: 100 }), 404, 'NOT_FOUND');
    assertError(await post(`/admin/validators/${'e'.repeat(40)}/jail`, { jailBlocks: 1 }), 404, 'NOT_FOUND');
  });

  it('error: evidence bodies: 400 INVALID_REQUEST for the envelope, 400 INVALID_EVIDENCE for the evidence', async () => {
    const e = doubleVote(VAL0, 1);
    assertError(await post('/admin/evidence', {}), 400, 'INVALID_REQUEST', 'evidence');
    assertError(await post('/admin/evidence', { evidence: 'x' }), 400, 'INVALID_REQUEST', 'evidence');
    assertError(await post('/admin/evidence', { evidence: e, note: 1 }), 400, 'INVALID_REQUEST', 'additional');
    assertError(await post('/admin/evidence', { evidence: { a: 1, b: 2 } }), 400, 'INVALID_EVIDENCE');
    assertError(await post('/admin/evidence', { evidence: { ...e, c: e.a } }), 400, 'INVALID_EVIDENCE');
    assertError(await post('/admin/evidence', { evidence: { a: e.a, b: e.a } }), 400, 'INVALID_EVIDENCE', 'identical');
    assertError(await post('/admin/evidence', { evidence: { a: { ...e.a, extra: 1 }, b: e.b } }), 400, 'INVALID_EVIDENCE');
    // Well formed but not valid now: a future height, a bad signature, a validator outside the set, another chain.
    assertError(await post('/admin/evidence', { evidence: doubleVote(VAL0, n.node.height + 100) }), 400, 'INVALID_EVIDENCE', 'height');
    assertError(await post('/admin/evidence', { evidence: doubleVote(VAL1, 1, { validatorId: VAL0.address }) }), 400, 'INVALID_EVIDENCE', 'signed');
    assertError(await post('/admin/evidence', { evidence: doubleVote(devValidator(5), 1) }), 400, 'INVALID_EVIDENCE', 'not in the validator set');
    assertError(await post('/admin/evidence', { evidence: doubleVote(VAL0, 1, { chainId: 'other-chain' }) }), 400, 'INVALID_EVIDENCE', 'chain');
    assert.equal((await get('/admin/evidence')).json.pending.total, 0);
  });

  it('error: unknown or bad query parameters are 400', async () => {
    assertError(await get('/admin/evidence?limit=0'), 400, 'INVALID_REQUEST', 'limit');
    assertError(await get('/admin/evidence?limit=1.5'), 400, 'INVALID_REQUEST', 'limit');
    assertError(await get('/admin/evidence?bogus=1'), 400, 'INVALID_REQUEST');
    assertError(await get('/admin/epochs/next?epoch=2'), 400, 'INVALID_REQUEST');
  });
});

describe('admin actions', () => {
  it('default: /admin/epochs/next shows a newly bonded validator as joining', async () => {
    const before = await get('/admin/epochs/next');
    assert.equal(before.status, 200);
    assert.deepEqual(before.json, {
      epoch: 1, startHeight: 100_001, totalPower: '1000000', setHash: n.node.validatorSet.hash,
      validators: [{ id: VAL0.address, votingPower: '1000000', proposerWeight: '1000000' }], changes: { joining: [], leaving: [] },
    });
    await finalized(await submit(1, 'validator_bond', { pubKey: VAL1.publicKey, amount: '1000' }));
    const next = (await get('/admin/epochs/next')).json;
    assert.deepEqual(next.changes, { joining: [VAL1.address], leaving: [] });
    assert.deepEqual(next.validators, [
      { id: VAL0.address, votingPower: '1000000', proposerWeight: '1000000' },
      { id: VAL1.address, votingPower: '1000', proposerWeight: '1000' },
    ].sort((a, b) => (a.id < b.id ? -1 : 1)));
    assert.equal(next.totalPower, '1001000');
    assert.notEqual(next.setHash, n.node.validatorSet.hash);
  });

  it('behavior: an admin slash is finalized and shows in the history; delegations lose value pro rata (floor)', async () => {
    await Promise.all([
      finalized(await submit(3, 'delegation_delegate', { validatorId: VAL0.address, amount: '333' })),
      finalized(await submit(4, 'delegation_delegate', { validatorId: VAL0.address, amount: '1000' })),
    ]);
    const r = await post(`/admin/validators/${VAL0.address}/slash`, { fractionBps: 1000 });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.deepEqual(Object.keys(r.json).sort(), ['id', 'status']);
    assert.equal(r.json.status, 'pending');
    const h = await finalized(r.json.id);
    const v = (await get(`/validators/${VAL0.address}`, {})).json;
    // 10% of 1,000,000 self stake and of the 1333-token pool.
    assert.deepEqual(v.slashes, [{ height: h, infractionHeight: h, reason: 'governance', fractionBps: 1000, burned: '100133' }]);
    assert.equal(v.stake, '900000');
    assert.equal(v.delegated, '1200');
    assert.equal(v.delegatorShares, '1333');
    assert.equal(v.status, 'active');
    // A slash does not change the current epoch's power.
    assert.equal(v.votingPower, '1000000');
    assert.deepEqual((await get(`/delegations?delegator=${acct(3).address}`, {})).json.delegations, [{ validatorId: VAL0.address, shares: '333', amount: '299' }]);
    assert.deepEqual((await get(`/delegations?delegator=${acct(4).address}`, {})).json.delegations, [{ validatorId: VAL0.address, shares: '1000', amount: '900' }]);
  });

  it('behavior: an admin jail is finalized; the jailed validator leaves the dry run of the next set', async () => {
    const r = await post(`/admin/validators/${VAL1.address}/jail`, { jailBlocks: 7 });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const h = await finalized(r.json.id);
    const v = (await get(`/validators/${VAL1.address}`, {})).json;
    assert.equal(v.status, 'jailed');
    assert.equal(v.jailedUntil, h + 7);
    assert.deepEqual((await get('/admin/epochs/next')).json.changes, { joining: [], leaving: [] });
  });

  it('behavior: offered evidence is pending, then proposed: it slashes and jails; offering it again is 409', async () => {
    const e = doubleVote(VAL0, 1);
    const id = evidenceId(e);
    assert.equal((await post('/admin/production/pause', {})).status, 200);
    try {
      const r = await post('/admin/evidence', { evidence: e });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      assert.deepEqual(r.json, { status: 'pending', evidenceId: id });
      // Offering it again while pending is harmless.
      assert.equal((await post('/admin/evidence', { evidence: { a: e.b, b: e.a } })).status, 202);
      const list = await get('/admin/evidence');
      assert.equal(list.status, 200);
      assert.deepEqual(list.json.seen, { total: 0, items: [] });
      assert.equal(list.json.pending.total, 1);
      // The second offer (messages swapped) replaced the first: same position, same id.
      assert.deepEqual(list.json.pending.items, [{ evidenceId: id, type: 'prevote', height: 1, round: 0, validatorId: VAL0.address, evidence: { a: e.b, b: e.a } }]);
      assert.deepEqual((await get('/admin/evidence?limit=1')).json.pending.total, 1);
    } finally {
      assert.equal((await post('/admin/production/resume', {})).status, 200);
    }
    const h0 = n.node.height;
    await waitForHeight(n, h0 + 2);
    const v = (await get(`/validators/${VAL0.address}`, {})).json;
    const ds = v.slashes.find((s: any) => s.reason === 'double_sign');
    assert.ok(ds !== undefined, JSON.stringify(v.slashes));
    assert.equal(ds.infractionHeight, 1);
    assert.equal(ds.fractionBps, 500);
    assert.ok(BigInt(ds.burned) > 0n);
    assert.equal(v.status, 'jailed');
    assert.equal(v.jailedUntil, ds.height + genesis.params.jailDoubleSignBlocks);
    assert.equal((await get('/admin/evidence')).json.pending.total, 0);
    assertError(await post('/admin/evidence', { evidence: e }), 409, 'EVIDENCE_ALREADY_USED');
    // Both validators are jailed now: the dry run of the next set is empty.
    const next = (await get('/admin/epochs/next')).json;
    assert.deepEqual(next.changes, { joining: [], leaving: [VAL0.address] });
    assert.deepEqual(next.validators, []);
    assert.equal(next.totalPower, '0');
  });
});
