/**
 * The client's finality checks on a real chain built by the state machine
 * (test/helpers/chain.ts): certificates signed with the dev validator keys,
 * validator sets as `GET /validators?epoch=N` serves them, a set change at an
 * epoch boundary (a new validator bonds), and what a dishonest node could
 * serve: a tampered certificate, a set that is not the header's, a forged
 * epoch signed by keys the tracked set never vouched for.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CertificateError,
  FastposClient,
  ValidatorSetTracker,
  buildSignedTx,
  parseEpochSet,
  validatorSetHashOf,
  verifyCertificate,
  type ChainSource,
} from '../../../src/client/index.js';
import { blockHash, voteSignBytes } from '../../../src/codec/block.js';
import { decodeTx } from '../../../src/codec/tx.js';
import { verifyCommit } from '../../../src/consensus/commit.js';
import { validatorSetFromEntries } from '../../../src/consensus/validatorSet.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { devAccount, devValidator } from '../../../src/crypto/keys.js';
import { epochSet } from '../../../src/node/stakingView.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT } from '../../../src/state/genesis.js';
import type { Commit, FinalizedBlock, Genesis } from '../../../src/types/index.js';
import { TestChain } from '../../helpers/chain.js';

const CHAIN = 'fastpos-devnet';
const E = 3;
const genesis: Genesis = {
  chainId: CHAIN,
  genesisTime: 1_767_225_600_000,
  treasury: 'ab'.repeat(20),
  params: { ...DEFAULT_PARAMS, epochLengthBlocks: E, governance: [devAccount(0).address] },
  accounts: [0, 1, 2, 3].map((i) => ({ address: devAccount(i).address, balance: 1_000_000n })),
  validators: [0, 1, 2].map((i) => ({ pubKey: devValidator(i).publicKey, stake: 100n, workWeight: NEUTRAL_WORK_WEIGHT })),
};

// Height 1: dev account 3 bonds dev validator 3, which joins the set of epoch 1 (heights 4-6). Height 5 holds a transfer.
const chain = new TestChain(genesis);
const bond = buildSignedTx(devAccount(3).privateKey, { chainId: CHAIN, kind: 'validator_bond', payload: { pubKey: devValidator(3).publicKey, amount: 100n }, nonce: 0, fee: 1n });
const pay = buildSignedTx(devAccount(1).privateKey, { chainId: CHAIN, kind: 'transfer', payload: { to: devAccount(2).address, amount: 77n }, nonce: 0, fee: 1n });
for (let h = 1; h <= 9; h++) {
  const txs = h === 1 ? [decodeTx(bond.tx)] : h === 5 ? [decodeTx(pay.tx)] : [];
  const b = chain.build(txs);
  chain.append(b, chain.certify(b.hash));
}
const wireBlocks = new Map<number, any>(chain.blocks.map((fb) => [fb.block.header.height, TestChain.wire(fb)]));
const wireSets = new Map<number, any>([0, 1, 2].map((n) => [n, epochSet(chain.state, n)]));
const blockAt = (h: number): FinalizedBlock => chain.blocks[h - 1]!;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A source over the chain, with per-test replacements of what it serves. */
function source(over: { blocks?: Map<number, unknown>; sets?: Map<number, unknown> } = {}): ChainSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetchSet: async (n) => {
      calls.push(`set ${n}`);
      const s = over.sets?.get(n) ?? wireSets.get(n);
      if (s === undefined) throw new Error(`no set ${n}`);
      return clone(s);
    },
    fetchBlock: async (h) => {
      calls.push(`block ${h}`);
      const b = over.blocks?.get(h) ?? wireBlocks.get(h);
      if (b === undefined) throw new Error(`no block ${h}`);
      return clone(b);
    },
  };
}

const tracker = (src: ChainSource, trusted?: { epoch: number; setHash: string }) =>
  new ValidatorSetTracker({ chainId: CHAIN, epochLengthBlocks: E, source: src, ...(trusted === undefined ? {} : { trusted }) });

function refusedWith(code: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof CertificateError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  };
}

function signedBy(ids: readonly string[], height: number, hash: string, round = 0): Commit {
  const signatures = [...ids].sort().map((validatorId) => {
    const i = [0, 1, 2, 3, 4, 5, 6, 7].find((k) => devValidator(k).address === validatorId)!;
    return { validatorId, signature: createSigner(devValidator(i).privateKey).sign(voteSignBytes({ type: 'precommit', chainId: CHAIN, height, round, validatorId, blockHash: hash })) };
  });
  return { height, round, blockHash: hash, signatures };
}

describe('client: validator sets and certificates', () => {
  it('default: a set as served parses to the hash consensus computes, and a certificate verifies as verifyCommit says', () => {
    for (const n of [0, 1, 2]) {
      const set = parseEpochSet(wireSets.get(n), n);
      assert.equal(set.hash, validatorSetFromEntries(set.validators).hash);
      assert.equal(set.hash, validatorSetHashOf(set.validators));
    }
    assert.equal(parseEpochSet(wireSets.get(1)).validators.length, 4, 'the bonded validator joined at epoch 1');
    const fb = blockAt(5);
    const set = parseEpochSet(wireSets.get(1));
    const power = verifyCertificate({ chainId: CHAIN, set, commit: fb.commit, height: 5, blockHash: fb.hash });
    assert.equal(power, verifyCommit({ chainId: CHAIN, set: validatorSetFromEntries(set.validators), commit: fb.commit, height: 5, blockHash: fb.hash }));
    assert.equal(power, set.totalPower);
  });

  it('behavior: exactly 2/3 of the power is final, less is refused', () => {
    const set = parseEpochSet(wireSets.get(0));
    const fb = blockAt(2);
    const ids = set.validators.map((v) => v.id);
    assert.equal(verifyCertificate({ chainId: CHAIN, set, commit: signedBy(ids.slice(0, 2), 2, fb.hash), height: 2, blockHash: fb.hash }), 200n);
    assert.throws(() => verifyCertificate({ chainId: CHAIN, set, commit: signedBy(ids.slice(0, 1), 2, fb.hash), height: 2, blockHash: fb.hash }), refusedWith('CERTIFICATE_REFUSED'));
  });

  it('error: a tampered certificate is refused: a changed signature, a repeated signer, an outsider, another block, another chain', () => {
    const set = parseEpochSet(wireSets.get(1));
    const fb = blockAt(5);
    const check = (commit: Commit, chainId = CHAIN, hash = fb.hash) => () => verifyCertificate({ chainId, set, commit, height: 5, blockHash: hash });
    const sigs = fb.commit.signatures;
    const flipped = sigs.map((s, i) => (i === 0 ? { ...s, signature: (s.signature[0] === '0' ? '1' : '0') + s.signature.slice(1) } : s));
    assert.throws(check({ ...fb.commit, signatures: flipped }), refusedWith('CERTIFICATE_REFUSED'));
    assert.throws(check({ ...fb.commit, signatures: [sigs[0]!, sigs[0]!, sigs[1]!] }), refusedWith('CERTIFICATE_REFUSED'));
    assert.throws(check(signedBy([...sigs.map((s) => s.validatorId), devValidator(6).address], 5, fb.hash)), refusedWith('CERTIFICATE_REFUSED'));
    assert.throws(check(fb.commit, CHAIN, blockAt(4).hash), refusedWith('CERTIFICATE_REFUSED'));
    assert.throws(check(fb.commit, 'acme-devnet'), refusedWith('CERTIFICATE_REFUSED'));
    assert.throws(check({ ...fb.commit, round: 1 }), refusedWith('CERTIFICATE_REFUSED'));
  });

  it('error: a malformed set is refused: unsorted, an id that is not its key\'s address, a wrong hash or total', () => {
    const s = wireSets.get(1);
    assert.throws(() => parseEpochSet({ ...s, validators: [...s.validators].reverse(), setHash: undefined }), refusedWith('VALIDATOR_SET_REFUSED'));
    assert.throws(() => parseEpochSet({ ...s, validators: s.validators.map((v: any, i: number) => (i === 0 ? { ...v, id: devValidator(7).address } : v)) }), refusedWith('VALIDATOR_SET_REFUSED'));
    assert.throws(() => parseEpochSet({ ...s, setHash: 'ee'.repeat(32) }), refusedWith('VALIDATOR_SET_REFUSED'));
    assert.throws(() => parseEpochSet({ ...s, totalPower: '1' }), refusedWith('VALIDATOR_SET_REFUSED'));
    assert.throws(() => parseEpochSet(s, 2), refusedWith('VALIDATOR_SET_REFUSED'));
  });
});

describe('client: the set tracker', () => {
  it('default: from the first set it needs, it walks forward epoch by epoch across a set change', async () => {
    const src = source();
    const t = tracker(src);
    const first = await t.verifyBlock(2);
    assert.equal(first.set.epoch, 0);
    const later = await t.verifyBlock(8);
    assert.equal(later.set.epoch, 2);
    assert.equal(later.signedPower, 400n);
    assert.deepEqual(t.tracked().map((s) => [s.epoch, s.validators.length]), [[0, 3], [1, 4], [2, 4]]);
    // Each step forward reads the last block of the epoch before, the first block of the new one, and its set.
    assert.ok(src.calls.includes('block 3') && src.calls.includes('block 4') && src.calls.includes('block 6') && src.calls.includes('block 7'), src.calls.join(', '));
  });

  it('behavior: from a trusted later set it walks backward through the hash links', async () => {
    const trusted = { epoch: 2, setHash: wireSets.get(2).setHash as string };
    const t = tracker(source(), trusted);
    const v = await t.verifyBlock(1);
    assert.equal(v.set.epoch, 0);
    assert.equal(v.block.hash, blockAt(1).hash);
    assert.deepEqual(t.tracked().map((s) => s.epoch), [0, 1, 2]);
  });

  it('error: the node serves another set than the trusted one', async () => {
    const t = tracker(source(), { epoch: 0, setHash: wireSets.get(1).setHash as string });
    await assert.rejects(t.verifyBlock(2), refusedWith('VALIDATOR_SET_REFUSED'));
  });

  it('error: the node serves a set that is not the one the epoch\'s first block names', async () => {
    const other = clone(wireSets.get(1));
    other.validators = other.validators.map((v: any, i: number) => (i === 0 ? { ...v, votingPower: '1000' } : v));
    delete other.setHash;
    delete other.totalPower;
    const t = tracker(source({ sets: new Map([[1, other]]) }));
    await t.verifyBlock(2);
    await assert.rejects(t.verifyBlock(5), refusedWith('VALIDATOR_SET_REFUSED'));
  });

  it('error: a forged epoch (its first block names a set of other keys, which sign it) is not vouched for by the tracked set', async () => {
    // Epoch 1 as a dishonest node could make it: block 4 re-headed to name a set of dev validators 5 and 6, certified by them.
    const fakeEntries = [5, 6].map((i) => ({ id: devValidator(i).address, pubKey: devValidator(i).publicKey, votingPower: '100', proposerWeight: '100' })).sort((a, b) => (a.id < b.id ? -1 : 1));
    const fakeSet = { epoch: 1, startHeight: 4, validators: fakeEntries };
    const forged = clone(wireBlocks.get(4));
    forged.header.validatorSetHash = parseEpochSet(fakeSet).hash;
    forged.hash = blockHash(forged.header);
    forged.commit = signedBy(fakeEntries.map((e) => e.id), 4, forged.hash);
    const t = tracker(source({ blocks: new Map([[4, forged]]), sets: new Map([[1, fakeSet]]) }));
    await t.verifyBlock(3);
    await assert.rejects(t.verifyBlock(4), (e: unknown) => refusedWith('VALIDATOR_SET_REFUSED')(e) && /vouched for by 0 of 300/.test((e as Error).message));
  });

  it('error: a block that does not follow the certified chain at the boundary is refused', async () => {
    const moved = clone(wireBlocks.get(4));
    moved.header.prevHash = 'ee'.repeat(32);
    moved.hash = blockHash(moved.header);
    moved.commit = signedBy(wireSets.get(1).validators.map((v: any) => v.id), 4, moved.hash);
    const t = tracker(source({ blocks: new Map([[4, moved]]) }));
    await t.verifyBlock(3);
    await assert.rejects(t.verifyBlock(5), refusedWith('VALIDATOR_SET_REFUSED'));
  });

  it('error: a tampered certificate in a tracked epoch is refused', async () => {
    const bad = clone(wireBlocks.get(5));
    bad.commit.signatures = bad.commit.signatures.slice(0, 2);
    const t = tracker(source({ blocks: new Map([[5, bad]]) }));
    await assert.rejects(t.verifyBlock(5), refusedWith('CERTIFICATE_REFUSED'));
    const body = clone(wireBlocks.get(5));
    body.results = [{ success: true }];
    body.txs = [clone(wireBlocks.get(1)).txs[0]];
    await assert.rejects(tracker(source({ blocks: new Map([[5, body]]) })).verifyBlock(5), refusedWith('CERTIFICATE_REFUSED'));
  });
});

describe('client: confirmTx against a node that serves this chain', () => {
  let tamper: ((url: string, body: any) => any) | undefined;
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(tamper?.(url, clone(body)) ?? body));
    const tip = chain.blocks.length;
    if (url === '/status') return send(200, { chainId: CHAIN, nodeId: devValidator(0).address, genesisHash: 'aa'.repeat(32), latestHeight: tip, latestHash: blockAt(tip).hash, minFee: '1' });
    if (url === '/epochs/current') return send(200, { epoch: 3, startHeight: 10, endHeight: 12, epochLengthBlocks: E, height: tip, validators: 4, totalPower: '400', setHash: 'aa'.repeat(32) });
    let m = /^\/validators\?epoch=(\d+)$/.exec(url);
    if (m !== null && wireSets.has(Number(m[1]))) return send(200, wireSets.get(Number(m[1])));
    m = /^\/blocks\/(\d+)$/.exec(url);
    if (m !== null && wireBlocks.has(Number(m[1]))) return send(200, wireBlocks.get(Number(m[1])));
    if (url === `/tx?id=${pay.id}`) return send(200, { id: pay.id, status: 'finalized', height: 5, index: 0, blockHash: blockAt(5).hash, success: true, tx: pay.tx });
    return send(404, { error: { code: 'NOT_FOUND', message: url } });
  });
  let url = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('default: the tx\'s block verifies against the set of its epoch', async () => {
    tamper = undefined;
    const c = await new FastposClient(url).confirmTx(pay.id, { timeoutMs: 2000 });
    assert.deepEqual([c.height, c.epoch, c.blockHash, c.signedPower, c.totalPower], [5, 1, blockAt(5).hash, 400n, 400n]);
    assert.equal(c.setHash, wireSets.get(1).setHash);
    assert.equal(c.status.success, true);
  });

  it('error: a certificate with a changed signature is refused with a typed error', async () => {
    tamper = (u, body) => {
      if (u !== '/blocks/5') return undefined;
      const s = body.commit.signatures[1];
      s.signature = s.signature.slice(0, 10) + (s.signature[10] === 'f' ? 'e' : 'f') + s.signature.slice(11);
      return body;
    };
    await assert.rejects(new FastposClient(url).confirmTx(pay.id, { timeoutMs: 2000 }), refusedWith('CERTIFICATE_REFUSED'));
  });

  it('error: a status that names another block, or a block without the tx at its index, is refused', async () => {
    tamper = (u, body) => (u.startsWith('/tx?id=') ? { ...body, blockHash: blockAt(4).hash } : undefined);
    await assert.rejects(new FastposClient(url).confirmTx(pay.id, { timeoutMs: 2000 }), refusedWith('CERTIFICATE_REFUSED'));
    tamper = (u, body) => (u.startsWith('/tx?id=') ? { ...body, index: 1 } : undefined);
    await assert.rejects(new FastposClient(url).confirmTx(pay.id, { timeoutMs: 2000 }), refusedWith('CERTIFICATE_REFUSED'));
    tamper = (u, body) => (u.startsWith('/tx?id=') ? { ...body, success: false, error: 'INSUFFICIENT_FUNDS' } : undefined);
    await assert.rejects(new FastposClient(url).confirmTx(pay.id, { timeoutMs: 2000 }), refusedWith('CERTIFICATE_REFUSED'));
    tamper = undefined;
  });

  it('error: a dropped tx and a tx that never finalizes have their own codes', async () => {
    tamper = (u, body) => (u.startsWith('/tx?id=') ? { id: pay.id, status: 'dropped', error: 'EXPIRED', tx: pay.tx } : undefined);
    await assert.rejects(new FastposClient(url).confirmTx(pay.id, { timeoutMs: 2000 }), (e: unknown) => (e as { code?: string }).code === 'TX_DROPPED');
    tamper = (u, body) => (u.startsWith('/tx?id=') ? { id: pay.id, status: 'pending', tx: pay.tx } : undefined);
    await assert.rejects(new FastposClient(url).confirmTx(pay.id, { timeoutMs: 300, intervalMs: 50 }), (e: unknown) => (e as { code?: string }).code === 'TX_TIMEOUT');
    tamper = undefined;
  });
});
