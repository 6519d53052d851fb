/**
 * Read routes of the validator economics on a real single-node devnet (dev
 * validator 0; epochs of 5 blocks so that a set change is seen quickly):
 * GET /validators (with ?epoch), /validators/:id, /delegations,
 * /epochs/current and /status's epoch, after real signed staking txs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { devValidator } from '../../../src/crypto/keys.js';
import { epochStartHeight } from '../../../src/state/epochs.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';
import { acct } from '../../helpers/fixtures.js';
import { assertApiError, txSubmitter, waitFinalized } from '../../helpers/api.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const TOKEN = 'staking-read-test-admin-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const E = 5;
const base = defaultDevnetGenesis();
// No downtime jail during the test: the bonded validator's key is not held by this node, so it never signs.
const genesis: Genesis = { ...base, params: { ...base.params, epochLengthBlocks: E, downtimeWindowBlocks: 10_000, downtimeMaxMissed: 10_000 } };
const VAL0 = devValidator(0).address;
const VAL1 = devValidator(1);
const P = genesis.params.unbondingPeriodBlocks;

let n: TestNode;
before(async () => {
  n = await startTestNode({ genesis, config: { adminToken: TOKEN } });
});
after(async () => {
  await n.dispose();
});

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await n.app.inject({ method: 'GET', url, headers });
  return { status: r.statusCode, json: r.json() as any };
}
const assertError = assertApiError;

const submit = txSubmitter(() => n);

/** Polls GET /tx until finalized; asserts success and returns the height. */
const finalized = (id: string, timeoutMs?: number): Promise<number> => waitFinalized(n, id, timeoutMs);

describe('GET /validators, /epochs/current, /status', () => {
  it('default: lists every validator with its current-epoch power and the new fields', async () => {
    await waitForHeight(n, 1);
    const r = await get('/validators');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, [
      {
        id: VAL0, pubKey: devValidator(0).publicKey, address: VAL0, rewardAddress: VAL0, stake: '1000000', delegated: '0', delegatorShares: '0',
        votingPower: '1000000', workWeight: 10_000, status: 'active', jailedUntil: 0, inSet: true,
      },
    ]);
  });

  it('default: ?epoch=0 is the stored genesis set', async () => {
    const r = await get('/validators?epoch=0');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      epoch: 0, startHeight: 1, totalPower: '1000000', setHash: n.node.setAt(1).hash,
      validators: [{ id: VAL0, pubKey: devValidator(0).publicKey, votingPower: '1000000', proposerWeight: '1000000' }],
    });
  });

  it('default: /epochs/current and /status agree with the node', async () => {
    const c = await get('/epochs/current');
    assert.equal(c.status, 200);
    const epoch = n.node.currentEpoch;
    assert.equal(c.json.epoch, epoch);
    assert.equal(c.json.startHeight, epoch * E + 1);
    assert.equal(c.json.endHeight, (epoch + 1) * E);
    assert.equal(c.json.epochLengthBlocks, E);
    assert.ok(c.json.height >= 1 && c.json.height >= c.json.startHeight - 1 && c.json.height < c.json.endHeight);
    assert.equal(c.json.validators, 1);
    assert.equal(c.json.totalPower, '1000000');
    assert.equal(c.json.setHash, n.node.validatorSet.hash);
    assert.deepEqual(Object.keys(c.json).sort(), ['endHeight', 'epoch', 'epochLengthBlocks', 'height', 'setHash', 'startHeight', 'totalPower', 'validators']);
    await waitForHeight(n, E + 1);
    const s = await get('/status');
    assert.ok(s.json.epoch >= 1);
    assert.equal(s.json.epoch, n.node.currentEpoch);
  });

  it('error: a bad epoch is 400 naming the field; an epoch without a record is 404', async () => {
    for (const q of ['-1', '1.5', 'abc', '', '1e400', '9007199254740992']) assertError(await get(`/validators?epoch=${q}`), 400, 'INVALID_REQUEST', 'epoch');
    assertError(await get('/validators?epoch=1&epoch=2'), 400, 'INVALID_REQUEST', 'epoch');
    assertError(await get('/validators?bogus=1'), 400, 'INVALID_REQUEST');
    assertError(await get(`/validators?epoch=${n.node.currentEpoch + 2}`), 404, 'NOT_FOUND');
    assertError(await get('/validators?epoch=999999999'), 404, 'NOT_FOUND');
    assertError(await get('/epochs/current?epoch=1'), 400, 'INVALID_REQUEST');
  });

  it('error: a malformed id is 400, an unknown one 404', async () => {
    for (const id of ['xyz', 'A'.repeat(40), 'a'.repeat(39), 'a'.repeat(41), '0x' + 'a'.repeat(38)]) assertError(await get(`/validators/${id}`), 400, 'INVALID_REQUEST', 'id');
    assertError(await get(`/validators/${'e'.repeat(40)}`), 404, 'NOT_FOUND');
    assertError(await get(`/validators/${VAL0}?x=1`), 400, 'INVALID_REQUEST');
  });

  it('error: /delegations needs a well-formed delegator; an unknown one has empty lists', async () => {
    assertError(await get('/delegations'), 400, 'INVALID_REQUEST', 'delegator');
    for (const d of ['zz', 'A'.repeat(40), 'a'.repeat(41), '']) assertError(await get(`/delegations?delegator=${d}`), 400, 'INVALID_REQUEST', 'delegator');
    assertError(await get(`/delegations?delegator=${'a'.repeat(40)}&extra=1`), 400, 'INVALID_REQUEST');
    const r = await get(`/delegations?delegator=${'e'.repeat(40)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { delegator: 'e'.repeat(40), delegations: [], unbonding: [] });
  });
});

describe('after staking txs', () => {
  it('behavior: a bonded validator is listed at once, joins the set at the next epoch, and records its misses', async () => {
    // Submit right after a boundary, so that the bond is not finalized in a boundary block.
    await waitForHeight(n, (Math.floor(n.node.height / E) + 1) * E + 1);
    const bondedAt = await finalized(await submit(1, 'validator_bond', { pubKey: VAL1.publicKey, amount: '1000' }));
    assert.notEqual(bondedAt % E, 0, 'bond landed in a boundary block: the test timing is off');

    const v = await get(`/validators/${VAL1.address}`);
    assert.equal(v.status, 200);
    assert.deepEqual(v.json, {
      id: VAL1.address, pubKey: VAL1.publicKey, address: VAL1.address, rewardAddress: acct(1).address, operator: acct(1).address,
      stake: '1000', delegated: '0', delegatorShares: '0', votingPower: '0', workWeight: 10_000, status: 'active', jailedUntil: 0, inSet: false,
      missed: [], slashes: [], doubleSignPunishment: null, unbonding: [],
    });
    const list = await get('/validators');
    assert.deepEqual(list.json.map((x: any) => x.id), [VAL0, VAL1.address].sort());
    const next = await get('/admin/epochs/next', AUTH);
    assert.equal(next.status, 200);
    assert.equal(next.json.epoch, n.node.currentEpoch + 1);
    assert.equal(next.json.startHeight, epochStartHeight(n.node.currentEpoch + 1, genesis.params));
    assert.deepEqual(next.json.changes, { joining: [VAL1.address], leaving: [] });
    assert.equal(next.json.totalPower, '1001000');

    // The end of the epoch's last height writes the next set.
    const start = epochStartHeight(n.node.currentEpoch + 1, genesis.params);
    await waitForHeight(n, start - 1);
    const joined = (await get('/validators')).json.find((x: any) => x.id === VAL1.address);
    assert.equal(joined.inSet, true);
    assert.equal(joined.votingPower, '1000');
    const cur = await get('/epochs/current');
    assert.equal(cur.json.startHeight, start);
    assert.equal(cur.json.validators, 2);
    assert.equal(cur.json.totalPower, '1001000');
    const stored = await get(`/validators?epoch=${cur.json.epoch}`);
    assert.equal(stored.json.startHeight, start);
    assert.equal(stored.json.setHash, cur.json.setHash);
    assert.equal((await get('/status')).json.validatorSetHash, cur.json.setHash);
    assert.deepEqual(stored.json.validators.map((x: any) => x.id), [VAL0, VAL1.address].sort());
    assert.deepEqual((await get('/admin/epochs/next', AUTH)).json.changes, { joining: [], leaving: [] });

    // Its key is not held here: it misses every height from the start of the epoch.
    await waitForHeight(n, start + 2);
    const missed = (await get(`/validators/${VAL1.address}`)).json.missed as number[];
    assert.ok(missed.length >= 1 && missed.every((h) => h >= start), JSON.stringify(missed));
  });

  it('behavior: a delegation shows shares and their token value; an undelegation a pending unbonding entry', async () => {
    await finalized(await submit(2, 'delegation_delegate', { validatorId: VAL0, amount: '500' }));
    assert.deepEqual((await get(`/delegations?delegator=${acct(2).address}`)).json, {
      delegator: acct(2).address, delegations: [{ validatorId: VAL0, shares: '500', amount: '500' }], unbonding: [],
    });
    const v0 = (await get(`/validators/${VAL0}`)).json;
    assert.equal(v0.delegated, '500');
    assert.equal(v0.delegatorShares, '500');
    assert.equal(v0.stake, '1000000');

    const undelegate = await submit(2, 'delegation_undelegate', { validatorId: VAL0, amount: '200' });
    const selfUnbond = await submit(1, 'validator_unbond', { validatorId: VAL1.address, amount: '100' });
    const hu = await finalized(undelegate);
    const hs = await finalized(selfUnbond);
    const d = (await get(`/delegations?delegator=${acct(2).address}`)).json;
    assert.deepEqual(d.delegations, [{ validatorId: VAL0, shares: '300', amount: '300' }]);
    assert.deepEqual(d.unbonding, [{ validatorId: VAL0, amount: '200', creationHeight: hu, completionHeight: hu + P }]);
    assert.deepEqual((await get(`/validators/${VAL0}`)).json.unbonding, [{ delegator: acct(2).address, amount: '200', creationHeight: hu, completionHeight: hu + P }]);
    // A self-unbond is the operator's pending entry and the validator's.
    const v1 = (await get(`/validators/${VAL1.address}`)).json;
    assert.equal(v1.stake, '900');
    assert.deepEqual(v1.unbonding, [{ delegator: acct(1).address, amount: '100', creationHeight: hs, completionHeight: hs + P }]);
    assert.deepEqual((await get(`/delegations?delegator=${acct(1).address}`)).json, {
      delegator: acct(1).address, delegations: [], unbonding: [{ validatorId: VAL1.address, amount: '100', creationHeight: hs, completionHeight: hs + P }],
    });
  });
});
