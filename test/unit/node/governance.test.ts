/**
 * The `validator_set_work_weight` governance tx: state rule (BlockExecution),
 * the admin route that signs it with the node's governance key, and what a
 * finalized change does to the validator set. Devnet genesis has
 * params.governance = [dev account 0].
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signTx } from '../../../src/client/sign.js';
import { accountKey, validatorKey } from '../../../src/codec/state.js';
import { decodeTx } from '../../../src/codec/tx.js';
import { buildValidatorSet } from '../../../src/consensus/validatorSet.js';
import { devValidator } from '../../../src/crypto/keys.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { BlockExecution, getAccount } from '../../../src/state/execute.js';
import { defaultDevnetGenesis, genesisEntries } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { DecodedTx, Genesis, Validator } from '../../../src/types/index.js';
import { CHAIN, acct } from '../../helpers/fixtures.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const TOKEN = 'governance-test-admin-token-42';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A work-weight tx signed by dev account `from` (wire JSON and id). */
function workWeightTx(p: { from: number; nonce: number; validatorId: string; workWeight: number; fee?: bigint; chainId?: string }) {
  const k = acct(p.from);
  return signTx(k.privateKey, {
    chainId: p.chainId ?? CHAIN,
    kind: 'validator_set_work_weight',
    from: k.address,
    pubKey: k.publicKey,
    nonce: p.nonce,
    fee: p.fee ?? 10n,
    payload: { validatorId: p.validatorId, workWeight: p.workWeight },
  });
}

const decoded = (p: Parameters<typeof workWeightTx>[0]): DecodedTx => decodeTx(workWeightTx(p).tx);

async function post(n: TestNode, url: string, body: unknown, headers: Record<string, string> = AUTH) {
  const r = await n.app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.statusCode, json: r.json() as any };
}
async function get(n: TestNode, url: string) {
  const r = await n.app.inject({ method: 'GET', url });
  return { status: r.statusCode, json: r.json() as any };
}
function assertError(r: { status: number; json: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
}

/** Polls GET /tx until the tx is finalized (bounded). */
async function finalized(n: TestNode, id: string, timeoutMs = 10_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(n, `/tx?id=${id}`);
    if (r.json.status === 'finalized') return r.json;
    if (Date.now() > end) throw new Error(`tx ${id} not finalized in ${timeoutMs} ms: ${JSON.stringify(r.json)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

// ---------------------------------------------------------------- state rule

describe('validator_set_work_weight execution (state)', () => {
  const genesis = defaultDevnetGenesis({ validators: 2 });
  const FEE_TO = 'f'.repeat(40);
  const ctx = { chainId: CHAIN, params: genesis.params, feeRecipient: FEE_TO, height: 1 };
  const ws = WorldState.fromEntries(genesisEntries(genesis));
  const v0 = devValidator(0).address;
  const gov = acct(0).address;
  const start = getAccount(ws, gov);

  it('default: a governance account sets the work weight; only workWeight changes; fee and nonce are charged', () => {
    const ex = new BlockExecution(ws, ctx);
    assert.deepEqual(ex.apply(decoded({ from: 0, nonce: 0, validatorId: v0, workWeight: 30_000 })), { success: true });
    const before = ws.get(validatorKey(v0)) as Validator;
    assert.deepEqual(ex.changes.get(validatorKey(v0)), { ...before, workWeight: 30_000 });
    assert.deepEqual(ex.changes.get(accountKey(gov)), { balance: start.balance - 10n, nonce: 1 });
    assert.deepEqual(ex.changes.get(accountKey(FEE_TO)), { balance: 10n, nonce: 0 });
    assert.equal((ws.get(validatorKey(v0)) as Validator).workWeight, 10_000, 'the base state is untouched');
  });

  it('behavior: a later tx in the same block sees the earlier change', () => {
    const ex = new BlockExecution(ws, ctx);
    ex.apply(decoded({ from: 0, nonce: 0, validatorId: v0, workWeight: 30_000 }));
    ex.apply(decoded({ from: 0, nonce: 1, validatorId: v0, workWeight: 0 }));
    assert.equal((ex.changes.get(validatorKey(v0)) as Validator).workWeight, 0);
    assert.deepEqual(ex.results, [{ success: true }, { success: true }]);
  });

  it('error: an unknown validator is a failed tx NOT_FOUND: fee charged, nonce advanced, no validator written', () => {
    const ex = new BlockExecution(ws, ctx);
    const unknown = 'ab'.repeat(20);
    assert.deepEqual(ex.apply(decoded({ from: 0, nonce: 0, validatorId: unknown, workWeight: 20_000 })), { success: false, error: ErrorCode.NOT_FOUND });
    assert.deepEqual(ex.changes.get(accountKey(gov)), { balance: start.balance - 10n, nonce: 1 });
    assert.equal(ex.changes.get(validatorKey(unknown)), undefined);
    assert.deepEqual([...ex.changes.keys()].sort(), [accountKey(gov), accountKey(FEE_TO)].sort());
  });

  it('error: a non-governance sender is a failed tx FORBIDDEN: the validator is unchanged', () => {
    const ex = new BlockExecution(ws, ctx);
    assert.deepEqual(ex.apply(decoded({ from: 1, nonce: 0, validatorId: v0, workWeight: 20_000 })), { success: false, error: ErrorCode.FORBIDDEN });
    assert.equal(ex.changes.get(validatorKey(v0)), undefined);
    assert.deepEqual(ex.changes.get(accountKey(acct(1).address)), { balance: getAccount(ws, acct(1).address).balance - 10n, nonce: 1 });
  });

  it('error: a governance sender that cannot pay the fee may not be in a block at all', () => {
    const poor = WorldState.fromEntries(genesisEntries({ ...genesis, accounts: [] } as Genesis));
    const ex = new BlockExecution(poor, ctx);
    assert.throws(() => ex.apply(decoded({ from: 0, nonce: 0, validatorId: v0, workWeight: 20_000 })), (e: unknown) => e instanceof FastposError && e.code === 'INSUFFICIENT_FUNDS');
    assert.equal(ex.changes.size, 0);
    assert.equal(ex.results.length, 0);
  });

  it('behavior: the work weight scales proposer weight only, and changes the set hash', () => {
    const before = ws.get(validatorKey(v0)) as Validator;
    const a = buildValidatorSet([before]);
    const b = buildValidatorSet([{ ...before, workWeight: 30_000 }]);
    assert.notEqual(a.hash, b.hash);
    assert.equal(a.totalPower, b.totalPower);
    assert.equal(b.validators[0]!.proposerWeight, a.validators[0]!.proposerWeight * 3n);
  });
});

// ---------------------------------------------------------------- node and admin route

const EPOCH = 4;

describe('work weight through a node', () => {
  let n: TestNode;
  let validatorId: string;

  before(async () => {
    // Short epochs: a work weight takes effect at the next epoch boundary.
    const g = defaultDevnetGenesis();
    n = await startTestNode({ config: { adminToken: TOKEN }, genesis: { ...g, params: { ...g.params, epochLengthBlocks: EPOCH } } });
    validatorId = n.node.validatorList()[0]!.id;
  });
  after(async () => {
    await n?.dispose();
  });

  it('default: POST /admin/validators/:id/work-weight is 202 with a tx id; the tx finalizes and GET /validators shows the weight', async () => {
    const before = await get(n, '/validators');
    assert.equal(before.json[0].workWeight, 10_000);
    const r = await post(n, `/admin/validators/${validatorId}/work-weight`, { workWeight: 25_000 });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.status, 'pending');
    assert.match(r.json.id, /^[0-9a-f]{64}$/);
    const st = await finalized(n, r.json.id);
    assert.equal(st.success, true);
    assert.equal(st.tx.kind, 'validator_set_work_weight');
    assert.equal(st.tx.from, acct(0).address, 'signed with the governance key of dev account 0');
    assert.deepEqual(st.tx.payload, { validatorId, workWeight: 25_000 });
    const after = await get(n, '/validators');
    assert.equal(after.json[0].id, validatorId);
    assert.equal(after.json[0].workWeight, 25_000);
    assert.equal(after.json[0].votingPower, before.json[0].votingPower, 'voting power does not depend on work weight');
  });

  it('behavior: the validator set hash changes at the first block of the next epoch, not before', async () => {
    const oldHash = n.node.validatorSet.hash;
    const r = await post(n, `/admin/validators/${validatorId}/work-weight`, { workWeight: 40_000 });
    assert.equal(r.status, 202);
    const st = await finalized(n, r.json.id);
    // The set of the next epoch is taken at the end of the epoch's last block.
    const boundary = Math.ceil(st.height / EPOCH) * EPOCH;
    await waitForHeight(n, boundary + 1);
    for (let h = st.height; h <= boundary; h++) {
      assert.equal((await get(n, `/blocks/${h}`)).json.header.validatorSetHash, oldHash, `block ${h} is still signed by the old set`);
    }
    const next = await get(n, `/blocks/${boundary + 1}`);
    assert.notEqual(next.json.header.validatorSetHash, oldHash);
    assert.equal(next.json.header.validatorSetHash, n.node.validatorSet.hash);
    assert.equal(next.json.header.validatorSetHash, buildValidatorSet(n.node.validatorList()).hash);
    assert.equal((await get(n, '/status')).json.validatorSetHash, n.node.validatorSet.hash);
  });

  it('error: a work-weight tx signed by a non-governance account is included as failed FORBIDDEN, fee charged, nonce advanced', async () => {
    const sender = acct(1).address;
    const a0 = await get(n, `/accounts/${sender}`);
    const weight = (await get(n, '/validators')).json[0].workWeight;
    const { id, tx } = workWeightTx({ from: 1, nonce: a0.json.nonce, validatorId, workWeight: 1, fee: 7n });
    const r = await post(n, '/tx', tx, {});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.id, id);
    const st = await finalized(n, id);
    assert.equal(st.success, false);
    assert.equal(st.error, 'FORBIDDEN');
    const a1 = await get(n, `/accounts/${sender}`);
    assert.equal(a1.json.nonce, a0.json.nonce + 1);
    assert.equal(BigInt(a1.json.balance), BigInt(a0.json.balance) - 7n);
    assert.equal((await get(n, '/validators')).json[0].workWeight, weight);
  });

  it('error: an unknown validator id is 404 NOT_FOUND', async () => {
    assertError(await post(n, `/admin/validators/${'ab'.repeat(20)}/work-weight`, { workWeight: 20_000 }), 404, 'NOT_FOUND');
    // A public dev validator key that is not seated in this genesis.
    assertError(await post(n, `/admin/validators/${devValidator(1).address}/work-weight`, { workWeight: 20_000 }), 404, 'NOT_FOUND');
  });

  it('error: bad bodies and ids are 400 INVALID_REQUEST', async () => {
    const url = `/admin/validators/${validatorId}/work-weight`;
    for (const body of [{ workWeight: -1 }, { workWeight: 2_000_000 }, { workWeight: 1_000_001 }, { workWeight: 'x' }, { workWeight: '10000' }, { workWeight: 1.5 }, { workWeight: null }, {}, { workWeight: 10_000, extra: 1 }, [10_000]]) {
      assertError(await post(n, url, body), 400, 'INVALID_REQUEST');
    }
    assertError(await post(n, '/admin/validators/not-an-id/work-weight', { workWeight: 10_000 }), 400, 'INVALID_REQUEST');
    assertError(await post(n, `/admin/validators/${validatorId.toUpperCase()}/work-weight`, { workWeight: 10_000 }), 400, 'INVALID_REQUEST');
  });

  it('error: the route needs the admin token (401 without, 403 with a wrong one)', async () => {
    const url = `/admin/validators/${validatorId}/work-weight`;
    assertError(await post(n, url, { workWeight: 10_000 }, {}), 401, 'UNAUTHORIZED');
    assertError(await post(n, url, { workWeight: 10_000 }, { authorization: 'Bearer not-the-right-token-at-all' }), 403, 'FORBIDDEN');
  });

  it('error: a work-weight tx above the maximum is refused at admission (400 INVALID_TX)', async () => {
    const { tx } = workWeightTx({ from: 2, nonce: 0, validatorId, workWeight: 1_000_001 });
    assertError(await post(n, '/tx', tx, {}), 400, 'INVALID_TX');
  });

  it('boundary: work weights 1000000 and 0 are accepted; with all weights 0 blocks are still produced', async () => {
    const url = `/admin/validators/${validatorId}/work-weight`;
    const hi = await post(n, url, { workWeight: 1_000_000 });
    assert.equal(hi.status, 202, JSON.stringify(hi.json));
    assert.equal((await finalized(n, hi.json.id)).success, true);
    assert.equal((await get(n, '/validators')).json[0].workWeight, 1_000_000);
    const zero = await post(n, url, { workWeight: 0 });
    assert.equal(zero.status, 202, JSON.stringify(zero.json));
    const st = await finalized(n, zero.json.id);
    assert.equal(st.success, true);
    assert.equal((await get(n, '/validators')).json[0].workWeight, 0);
    await waitForHeight(n, st.height + 2);
  });
});

describe('a node without a governance key', () => {
  let n: TestNode;
  const base = defaultDevnetGenesis();
  // A governance account no public dev key controls, on a devnet chain id.
  const genesis: Genesis = { ...base, params: { ...base.params, governance: ['cd'.repeat(20)] } };

  before(async () => {
    n = await startTestNode({ config: { adminToken: TOKEN }, genesis });
  });
  after(async () => {
    await n?.dispose();
  });

  it('error: the admin route answers 403 FORBIDDEN', async () => {
    assert.equal(n.node.genesis.chainId, 'fastpos-devnet');
    assert.deepEqual(n.node.genesis.params.governance, ['cd'.repeat(20)]);
    const id = n.node.validatorList()[0]!.id;
    assertError(await post(n, `/admin/validators/${id}/work-weight`, { workWeight: 20_000 }), 403, 'FORBIDDEN');
    assert.equal((await get(n, '/validators')).json[0].workWeight, 10_000);
  });

  it('error: there, dev account 0 is not governance: its work-weight tx fails FORBIDDEN', async () => {
    const id = n.node.validatorList()[0]!.id;
    const { id: txId, tx } = workWeightTx({ from: 0, nonce: 0, validatorId: id, workWeight: 20_000 });
    assert.equal((await post(n, '/tx', tx, {})).status, 202);
    const st = await finalized(n, txId);
    assert.equal(st.success, false);
    assert.equal(st.error, 'FORBIDDEN');
  });
});

describe('concurrent admin work-weight requests (signature workers on, as by default)', () => {
  let n: TestNode;
  before(async () => {
    n = await startTestNode({ config: { adminToken: TOKEN, verifyWorkers: 2 } });
  });
  after(async () => {
    await n?.dispose();
  });

  it(
    'behavior: each of several concurrent requests is accepted with its own nonce and finalizes',
    {},
    async () => {
      const id = n.node.validatorList()[0]!.id;
      const weights = [20_000, 30_000, 40_000];
      const rs = await Promise.all(weights.map((w) => post(n, `/admin/validators/${id}/work-weight`, { workWeight: w })));
      assert.deepEqual(rs.map((r) => r.status), [202, 202, 202], JSON.stringify(rs.map((r) => r.json)));
      const sts = await Promise.all(rs.map((r) => finalized(n, r.json.id)));
      assert.deepEqual(sts.map((s) => s.success), [true, true, true]);
      assert.deepEqual(new Set(sts.map((s) => s.tx.nonce)).size, 3);
      const last = sts.reduce((a, b) => (a.tx.nonce > b.tx.nonce ? a : b));
      assert.equal((await get(n, '/validators')).json[0].workWeight, last.tx.payload.workWeight);
    },
  );
});
