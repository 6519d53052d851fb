/**
 * The product layer's attestations on a real node process: a genesis with
 * three oracles; signed product_attest txs submitted over HTTP; the pending
 * attestation, then the finalized proof and the validator's new workWeight
 * read back through /product and /validators.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FastposClient, signTx } from '../../src/client/index.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import { DEFAULT_PARAMS, DEVNET_CHAIN_ID, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis } from '../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS } from '../../src/state/product.js';
import type { Genesis } from '../../src/types/index.js';
import { waitUntil } from '../helpers/network.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';

const ORACLES = [20, 21, 22].map((i) => devAccount(i));
const VALIDATOR = devValidator(0);
const PAYER = devAccount(23);
/** Long enough for three attestations to finalize within epoch 1. */
const EPOCH = 30;

describe('product attestations (real process)', () => {
  let node: NodeProcess;
  let client: FastposClient;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-product-'));

  before(async () => {
    const genesis: Genesis = {
      chainId: DEVNET_CHAIN_ID,
      genesisTime: 1_767_225_600_000,
      treasury: TREASURY_ADDRESS,
      params: { ...DEFAULT_PARAMS, governance: [devAccount(0).address], epochLengthBlocks: EPOCH },
      accounts: [...ORACLES.map((o) => ({ address: o.address, balance: 1_000_000n })), { address: PAYER.address, balance: 1_000_000n }, { address: TREASURY_ADDRESS, balance: 1_000_000n }],
      validators: [{ pubKey: VALIDATOR.publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
      product: { oracles: ORACLES.map((o) => ({ address: o.address, stake: 100n })), params: { ...DEFAULT_PRODUCT_PARAMS, rewardPerEpoch: 1000n } },
    };
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
    node = await spawnNode(dir, ['--allow-dev-keys', '--idle-block-interval-ms', '200', '--min-block-interval-ms', '5']);
    client = new FastposClient(node.url);
    await waitUntil(async () => (await client.status()).latestHeight > EPOCH, 30_000, 'epoch 1');
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const attest = (i: number, score: number) =>
    signTx(ORACLES[i]!.privateKey, {
      chainId: DEVNET_CHAIN_ID,
      kind: 'product_attest',
      from: ORACLES[i]!.address,
      pubKey: ORACLES[i]!.publicKey,
      nonce: 0,
      fee: 1n,
      payload: { validatorId: VALIDATOR.address, epoch: 0, score, proofRef: `sha256:${'ab'.repeat(32)}` },
    });

  it('behavior: two of three equal oracles leave the attestation pending; the third finalizes the proof and moves workWeight', async () => {
    const oracles = (await (await fetch(`${node.url}/product/oracles`)).json()) as any;
    assert.equal(oracles.oracles.length, 3);
    assert.equal(oracles.totalStake, '300');
    for (const i of [0, 1]) {
      const { id, tx } = attest(i, 30_000);
      await client.submitTx(tx);
      assert.equal((await client.waitForTx(id, { timeoutMs: 20_000 })).status, 'finalized');
    }
    const q = `validatorId=${VALIDATOR.address}&epoch=0`;
    const pending = (await (await fetch(`${node.url}/product/attestations/pending?${q}`)).json()) as any;
    assert.equal(pending.reports.length, 2);
    assert.equal(pending.reportedStake, '200');
    assert.equal((await fetch(`${node.url}/product/proofs?${q}`)).status, 404);
    const { id, tx } = attest(2, 30_000);
    await client.submitTx(tx);
    const st = await client.waitForTx(id, { timeoutMs: 20_000 });
    assert.equal(st.status, 'finalized');
    assert.equal(st.success, true);
    const proof = (await (await fetch(`${node.url}/product/proofs?${q}`)).json()) as any;
    assert.equal(proof.status, 'finalized');
    assert.equal(proof.score, 30_000);
    assert.equal(proof.workWeightAfter, 20_000, '(5000 × 30000 + 5000 × 10000 + 5000) / 10000');
    assert.equal(((await (await fetch(`${node.url}/product/proofs/${proof.id}`)).json()) as any).id, proof.id);
    assert.equal((await fetch(`${node.url}/product/attestations/pending?${q}`)).status, 404);
    const validators = (await (await fetch(`${node.url}/validators`)).json()) as any;
    const list = Array.isArray(validators) ? validators : validators.items;
    assert.equal(list.find((v: { id: string }) => v.id === VALIDATOR.address).workWeight, 20_000);
    assert.equal((await fetch(`${node.url}/product/proofs?validatorId=${VALIDATOR.address}&epoch=0x0`)).status, 400);
    // At the end of epoch 1 the treasury pays for epoch 0's proofs: all of the pool to the only validator, 10 % commission.
    assert.ok((await client.status()).latestHeight < 2 * EPOCH, 'the proof was finalized within epoch 1');
    await waitUntil(async () => (await client.status()).latestHeight >= 2 * EPOCH, 60_000, 'the end of epoch 1');
    const rewards = (await (await fetch(`${node.url}/product/rewards?epoch=0`)).json()) as any;
    assert.equal(rewards.paid, '1000');
    assert.deepEqual(rewards.payouts.map((p: any) => [p.validatorId, p.amount, p.commission]), [[VALIDATOR.address, '1000', '100']]);
    assert.equal((await client.account(TREASURY_ADDRESS)).balance, String(1_000_000 - 1000));
  });

  it('behavior: a product user settles a payment with a retry, and finds it pending, then finalized, by payer and reference', async () => {
    const quote = (await (await fetch(`${node.url}/product/billing/quote?amount=10001`)).json()) as any;
    // ceil(10001 × 100 / 10000) = 101
    assert.deepEqual([quote.protocolFee, quote.net, quote.feeBps], ['101', '9900', 100]);
    const { id, tx } = signTx(PAYER.privateKey, {
      chainId: DEVNET_CHAIN_ID,
      kind: 'product_settle',
      from: PAYER.address,
      pubKey: PAYER.publicKey,
      nonce: 0,
      fee: 1n,
      payload: { validatorId: VALIDATOR.address, amount: 10_001n, reference: 'invoice-2026-0001' },
    });
    const first = await client.submitTx(tx);
    const retry = await client.submitTx(tx, { idempotent: true });
    assert.equal(retry.id, first.id, 'a retry answers the same tx');
    // Another tx for the same (payer, reference) is refused at admission: no fee is charged for it.
    const twin = (nonce: number) =>
      signTx(PAYER.privateKey, { chainId: DEVNET_CHAIN_ID, kind: 'product_settle', from: PAYER.address, pubKey: PAYER.publicKey, nonce, fee: 1n, payload: { validatorId: VALIDATOR.address, amount: 5n, reference: 'invoice-2026-0001' } }).tx;
    const dup = await fetch(`${node.url}/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(twin(1)) });
    assert.equal(dup.status, 409);
    assert.equal(((await dup.json()) as any).error.code, 'SETTLEMENT_EXISTS');
    const lookup = `${node.url}/product/settlements/lookup?payer=${PAYER.address}&reference=invoice-2026-0001`;
    const early = (await (await fetch(`${lookup}&includePending=true`)).json()) as any;
    assert.ok(early.status === 'pending' || early.status === 'finalized', JSON.stringify(early));
    assert.equal((await client.waitForTx(id, { timeoutMs: 20_000 })).status, 'finalized');
    const found = (await (await fetch(lookup)).json()) as any;
    assert.equal(found.status, 'finalized');
    assert.deepEqual([found.settlement.amount, found.settlement.protocolFee, found.settlement.net, found.settlement.id], ['10001', '101', '9900', id]);
    assert.equal((await fetch(`${node.url}/product/settlements/lookup?payer=${PAYER.address}&reference=nope`)).status, 404);
    const late = await fetch(`${node.url}/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(twin(1)) });
    assert.equal(late.status, 409, 'also once finalized');
    assert.equal((await client.account(PAYER.address)).balance, String(1_000_000 - 10_001 - 1), 'one settlement and one fee');
  });
});
