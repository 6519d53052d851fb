/**
 * The client's typed builders: every kind builds, signs for real and decodes
 * with the node's own codec to the same id; amounts are bigint in the API and
 * decimal strings on the wire; what the node would refuse at decoding throws
 * before anything is sent; `buildTx` fills the nonce (pendingNonce) and the fee
 * (the chain's minimum) from the node.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FastposClient, buildSignedTx, type TxPayloadOf } from '../../../src/client/index.js';
import { voteSignBytes } from '../../../src/codec/block.js';
import { decodeTx, txSignBytes } from '../../../src/codec/tx.js';
import { createSigner, verifySignature } from '../../../src/crypto/ed25519.js';
import { devAccount, devValidator } from '../../../src/crypto/keys.js';
import { FastposError } from '../../../src/errors.js';
import { TX_KINDS, type SignedMessage, type TxKind } from '../../../src/types/index.js';

const CHAIN = 'fastpos-devnet';
const A = devAccount(0);
const V = devValidator(0);
const HASH = 'cd'.repeat(32);

function prevote(blockHash: string): SignedMessage {
  const bytes = voteSignBytes({ type: 'prevote', chainId: CHAIN, height: 5, round: 0, validatorId: V.address, blockHash });
  return { type: 'prevote', chainId: CHAIN, height: 5, round: 0, validatorId: V.address, payload: { blockHash }, signature: createSigner(V.privateKey).sign(bytes) };
}

/** One payload of every kind (and both forms of validator_slash). */
const SAMPLES: { [K in TxKind]: TxPayloadOf<K>[] } = {
  transfer: [{ to: devAccount(1).address, amount: 1000n }],
  validator_set_work_weight: [{ validatorId: V.address, workWeight: 20_000 }],
  validator_bond: [{ pubKey: devValidator(1).publicKey, amount: 5_000n }],
  validator_unbond: [{ validatorId: V.address, amount: 7n }],
  validator_slash: [{ validatorId: V.address, fractionBps: 100 }, { evidence: { a: prevote('aa'.repeat(32)), b: prevote('bb'.repeat(32)) } }],
  validator_jail: [{ validatorId: V.address, jailBlocks: 10 }],
  validator_unjail: [{ validatorId: V.address }],
  delegation_delegate: [{ validatorId: V.address, amount: 300n }],
  delegation_undelegate: [{ validatorId: V.address, amount: 100n }],
  product_attest: [{ validatorId: V.address, epoch: 3, score: 12_500, proofRef: 'sha256:' + HASH }],
  product_challenge: [{ proofId: HASH }],
  product_resolve_challenge: [{ challengeId: HASH, upheld: false }],
  product_settle: [{ validatorId: V.address, amount: 10_001n, reference: 'invoice-2026-0001' }],
  product_set_oracles: [{ oracles: [{ address: devAccount(2).address, stake: 100n }] }],
  upgrade_schedule: [{ name: 'evidence-once-per-spell', height: 120 }, { name: 'a-later-rule', height: 0 }],
};

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof FastposError) return e.code;
    throw e;
  }
  return 'OK';
};

describe('client builders', () => {
  it('default: the transfer test vector of docs/api.md', () => {
    const s = buildSignedTx(A.privateKey, { chainId: CHAIN, kind: 'transfer', payload: { to: devAccount(1).address, amount: 1000n }, nonce: 0, fee: 10n });
    assert.equal(s.id, 'f5bb864437bb4355559b85830e1da3bfd08958dc0141f447e4831fe8086853ad');
    assert.equal(s.tx.signature, '40491efa31e7135358e709e4f9a98c03e25651031c5b7f188b8ef7d5ac974c9f5d3e0bf8cf6e581014fa3646b5b5e215091747bd699478080597808f6fb5ba00');
    assert.deepEqual(s.tx.payload, { to: devAccount(1).address, amount: '1000' });
    assert.equal(s.tx.fee, '10');
  });

  it('behavior: every kind builds, signs and decodes with the node codec to the same id; amounts are decimal strings on the wire', () => {
    const kinds = new Set<string>();
    for (const kind of TX_KINDS) {
      for (const payload of SAMPLES[kind] as TxPayloadOf<TxKind>[]) {
        const s = buildSignedTx(A.privateKey, { chainId: CHAIN, kind, payload, nonce: 4, fee: 2n });
        const d = decodeTx(s.tx);
        assert.equal(d.id, s.id, kind);
        assert.equal(d.tx.kind, kind);
        assert.equal(s.tx.from, A.address);
        assert.equal(s.tx.nonce, 4);
        assert.equal(s.tx.fee, '2');
        assert.ok(verifySignature(A.publicKey, txSignBytes(s.unsigned), s.tx.signature as string), `${kind}: the signature verifies`);
        const wire = s.tx.payload as Record<string, unknown>;
        if ('amount' in payload) assert.equal(wire.amount, (payload as { amount: bigint }).amount.toString());
        kinds.add(kind);
      }
    }
    assert.equal(kinds.size, TX_KINDS.length, 'every kind');
    const oracles = buildSignedTx(A.privateKey, { chainId: CHAIN, kind: 'product_set_oracles', payload: SAMPLES.product_set_oracles[0]!, nonce: 0, fee: 1n });
    assert.deepEqual(oracles.tx.payload, { oracles: [{ address: devAccount(2).address, stake: '100' }] });
  });

  it('error: what the node would refuse at decoding throws with its code, before any request', () => {
    const build = <K extends TxKind>(kind: K, payload: TxPayloadOf<K>) => () => buildSignedTx(A.privateKey, { chainId: CHAIN, kind, payload, nonce: 0, fee: 1n });
    assert.equal(codeOf(build('transfer', { to: devAccount(1).address, amount: 0n })), 'INVALID_AMOUNT');
    assert.equal(codeOf(build('transfer', { to: devAccount(1).address, amount: -5n })), 'INVALID_AMOUNT');
    assert.equal(codeOf(build('delegation_delegate', { validatorId: 'XYZ', amount: 5n })), 'INVALID_TX');
    assert.equal(codeOf(build('product_attest', { validatorId: V.address, epoch: 0, score: 1_000_001, proofRef: 'x' })), 'INVALID_TX');
    assert.equal(codeOf(build('product_settle', { validatorId: V.address, amount: 5n, reference: 'has space' })), 'INVALID_TX');
    assert.equal(codeOf(build('validator_slash', { evidence: { a: prevote(HASH), b: prevote(HASH) } })), 'INVALID_EVIDENCE');
    assert.equal(codeOf(() => buildSignedTx(A.privateKey, { chainId: CHAIN, kind: 'transfer', payload: { to: devAccount(1).address, amount: 1n }, nonce: -1, fee: 1n })), 'INVALID_TX');
  });
});

describe('client buildTx against a node', () => {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = req.url ?? '';
    if (url === '/status') return send({ chainId: CHAIN, nodeId: V.address, genesisHash: HASH, latestHeight: 3, latestHash: HASH, minFee: '3' });
    if (url === '/epochs/current') return send({ epoch: 0, startHeight: 1, endHeight: 100, epochLengthBlocks: 100, height: 3, validators: 1, totalPower: '1', setHash: HASH });
    if (url.startsWith('/accounts/')) return send({ address: url.slice(10), balance: '100', nonce: 5, pendingNonce: 7 });
    return res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: url } }));
  });
  let client: FastposClient;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new FastposClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('default: chain id from /status, nonce from pendingNonce, fee from the chain minimum', async () => {
    const s = await client.buildTx(A.privateKey, 'product_settle', { validatorId: V.address, amount: 10n, reference: 'inv-1' });
    assert.equal(s.tx.chainId, CHAIN);
    assert.equal(s.tx.nonce, 7);
    assert.equal(s.tx.fee, '3');
    assert.equal(decodeTx(s.tx).id, s.id);
    assert.deepEqual(await client.chainInfo(), { chainId: CHAIN, minFee: 3n, epochLengthBlocks: 100 });
  });

  it('behavior: a given nonce and fee are used as they are, without asking for the account', async () => {
    seen.length = 0;
    const s = await client.buildTx(A.privateKey, 'transfer', { to: devAccount(1).address, amount: 9n }, { nonce: 2, fee: 50n });
    assert.equal(s.tx.nonce, 2);
    assert.equal(s.tx.fee, '50');
    assert.ok(!seen.some((u) => u.startsWith('/accounts/')));
  });

  it('error: a payload the node would refuse throws before its nonce is asked for', async () => {
    seen.length = 0;
    await assert.rejects(client.buildTx(A.privateKey, 'transfer', { to: devAccount(1).address, amount: 0n }), (e: unknown) => e instanceof FastposError && e.code === 'INVALID_AMOUNT');
    assert.ok(!seen.some((u) => u.startsWith('/accounts/')), seen.join(' '));
  });

  it('error: a node of another chain than the one expected is refused', async () => {
    const other = new FastposClient(client.baseUrl, { chainId: 'acme-devnet' });
    await assert.rejects(other.chainInfo(), (e: unknown) => (e as { code?: string }).code === 'INVALID_RESPONSE');
  });
});
