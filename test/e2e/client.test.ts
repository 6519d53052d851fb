/**
 * The typed client and `fastpos tx <kind>` against a real node process: txs
 * of every kind but the evidence slash built, signed, submitted and confirmed
 * by the client, each confirmation verifying its block's certificate against
 * the sets the client tracks across epoch boundaries (including one where a
 * validator joins); a product settlement submitted through a proxy that fails
 * the first attempts (one settlement, fee charged once); a proxy that tampers
 * with a certificate (refused); CLI runs of several kinds and bad flags.
 * Needs `npm run build` (the CLI runs from dist).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CertificateError, FastposClient, type SendResult } from '../../src/client/index.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import { DEFAULT_PARAMS, DEVNET_CHAIN_ID, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis } from '../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS } from '../../src/state/product.js';
import type { Genesis, TxKind } from '../../src/types/index.js';
import { waitUntil } from '../helpers/network.js';
import { runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';

const EPOCH = 10;
const V0 = devValidator(0);
const V1 = devValidator(1);
const DEV = { A: 30, C: 31, G: 32, O: 33, O2: 34, P: 35, Q: 36, B: 37 };
const [A, C, G, O, O2, P, Q, B] = [DEV.A, DEV.C, DEV.G, DEV.O, DEV.O2, DEV.P, DEV.Q, DEV.B].map((i) => devAccount(i));

/** A proxy in front of the node: scripted failures of `POST /tx` and tampering with blocks. */
interface Proxy {
  url: string;
  server: Server;
  /** What happens to the next POST /tx requests: forwarded, then the answer replaced by a 503 or the connection cut. */
  submitScript: ('503' | 'reset')[];
  posts: { url: string; body: string }[];
  tamperBlocks: boolean;
}

function startProxy(target: string): Promise<Proxy> {
  const proxy: Proxy = { url: '', server: undefined as unknown as Server, submitScript: [], posts: [], tamperBlocks: false };
  proxy.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        const url = req.url ?? '/';
        const r = await fetch(target + url, { method: req.method ?? 'GET', ...(body === '' ? {} : { body, headers: { 'content-type': 'application/json' } }) });
        let text = await r.text();
        if (req.method === 'POST' && url.startsWith('/tx')) {
          proxy.posts.push({ url, body });
          const step = proxy.submitScript.shift();
          // The node has admitted the tx; the client does not learn it.
          if (step === 'reset') {
            req.socket.destroy();
            return;
          }
          if (step === '503') {
            res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_READY', message: 'proxy: try again' } }));
            return;
          }
        }
        if (proxy.tamperBlocks && /^\/blocks\/\d+$/.test(url) && r.status === 200) {
          const b = JSON.parse(text);
          const s = b.commit.signatures[0];
          s.signature = (s.signature[0] === '0' ? '1' : '0') + s.signature.slice(1);
          text = JSON.stringify(b);
        }
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(text);
      })().catch(() => req.socket.destroy());
    });
  });
  return new Promise((resolve) =>
    proxy.server.listen(0, '127.0.0.1', () => {
      proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
      resolve(proxy);
    }),
  );
}

describe('typed client and fastpos tx (real node process)', () => {
  let node: NodeProcess;
  let proxy: Proxy;
  let client: FastposClient;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-client-'));

  before(async () => {
    const genesis: Genesis = {
      chainId: DEVNET_CHAIN_ID,
      genesisTime: 1_767_225_600_000,
      treasury: TREASURY_ADDRESS,
      params: { ...DEFAULT_PARAMS, governance: [G!.address], epochLengthBlocks: EPOCH },
      accounts: [A, C, G, O, O2, P, Q, B].map((k) => ({ address: k!.address, balance: 1_000_000n })),
      validators: [{ pubKey: V0.publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
      product: { oracles: [{ address: O!.address, stake: 100n }], params: { ...DEFAULT_PRODUCT_PARAMS, challengeResolveDelayBlocks: 0 } },
    };
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
    node = await spawnNode(dir, ['--allow-dev-keys', '--idle-block-interval-ms', '200', '--min-block-interval-ms', '5']);
    proxy = await startProxy(node.url);
    client = new FastposClient(proxy.url, { retry: { baseDelayMs: 50, maxDelayMs: 200 } });
    await waitUntil(async () => (await client.status()).latestHeight >= 1, 20_000, 'the first block');
  });
  after(async () => {
    await node?.kill('SIGKILL');
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ok = <K extends TxKind>(r: SendResult<K>): SendResult<K> => {
    assert.ok(r.confirmation !== undefined);
    assert.equal(r.confirmation.status.success, true, JSON.stringify(r.confirmation.status));
    assert.ok(3n * r.confirmation.signedPower >= 2n * r.confirmation.totalPower);
    return r;
  };
  const wait = { wait: { timeoutMs: 20_000 } } as const;

  it('default: staking and transfer kinds, each confirmed with a verified certificate, across a set change', async () => {
    const t = ok(await client.transfer(A!.privateKey, { to: B!.address, amount: 1_000n }, wait));
    assert.equal(t.signed.tx.fee, '1', 'the chain minimum');
    assert.equal((await client.account(B!.address)).balance, '1001000');
    ok(await client.delegate(A!.privateKey, { validatorId: V0.address, amount: 500n }, wait));
    ok(await client.undelegate(A!.privateKey, { validatorId: V0.address, amount: 200n }, wait));
    const bonded = ok(await client.bond(C!.privateKey, { pubKey: V1.publicKey, amount: 1_000n }, wait));
    ok(await client.setWorkWeight(G!.privateKey, { validatorId: V1.address, workWeight: 20_000 }, wait));
    ok(await client.jail(G!.privateKey, { validatorId: V1.address, jailBlocks: 1 }, wait));
    ok(await client.unjail(C!.privateKey, { validatorId: V1.address }, wait));
    ok(await client.slash(G!.privateKey, { validatorId: V1.address, fractionBps: 100 }, wait));
    const unbonded = ok(await client.unbond(C!.privateKey, { validatorId: V1.address, amount: 100n }, wait));
    assert.ok(bonded.confirmation!.epoch <= unbonded.confirmation!.epoch);
    // The bonded validator (active again) is in the set of the epoch after the last of these txs; the client follows the sets there.
    const joinEpoch = unbonded.confirmation!.epoch + 1;
    await waitUntil(async () => (await client.status()).latestHeight > joinEpoch * EPOCH + 1, 30_000, 'the epoch the new validator joins');
    const after = ok(await client.transfer(A!.privateKey, { to: B!.address, amount: 1n }, wait));
    assert.ok(after.confirmation!.epoch >= joinEpoch);
    const sets = await client.trackedSets();
    assert.deepEqual(sets.map((s) => s.epoch), Array.from({ length: sets.length }, (_, i) => sets[0]!.epoch + i), 'every epoch in between, one by one');
    const set = sets.find((s) => s.epoch === after.confirmation!.epoch)!;
    assert.ok(set.validators.some((v) => v.id === V1.address), 'the set holds the new validator');
    assert.equal(after.confirmation!.signedPower, set.validators.find((v) => v.id === V0.address)!.votingPower, 'signed by validator 0 alone (the new one runs no node)');
    assert.ok(after.confirmation!.totalPower > after.confirmation!.signedPower);
  });

  it('behavior: product kinds: attest, challenge, resolve, set oracles, each confirmed', async () => {
    await waitUntil(async () => (await client.status()).latestHeight > EPOCH, 30_000, 'the end of epoch 0');
    ok(await client.attest(O!.privateKey, { validatorId: V0.address, epoch: 0, score: 20_000, proofRef: 'sha256:' + 'ab'.repeat(32) }, wait));
    const proof = await client.proofOf(V0.address, 0);
    assert.equal(proof?.status, 'finalized');
    const ch = ok(await client.challenge(A!.privateKey, { proofId: proof!.id as string }, wait));
    ok(await client.resolveChallenge(O!.privateKey, { challengeId: ch.id, upheld: false }, wait));
    assert.equal((await client.challengeById(ch.id))?.status, 'rejected');
    ok(await client.setOracles(G!.privateKey, { oracles: [{ address: O!.address, stake: 100n }, { address: O2!.address, stake: 50n }] }, wait));
    const oracles = (await (await fetch(`${node.url}/product/oracles`)).json()) as { version: number; totalStake: string };
    assert.deepEqual([oracles.version, oracles.totalStake], [2, '150']);
  });

  it('behavior: a settlement through failing attempts is retried idempotently: one settlement, the fee charged once, its certificate verified', async () => {
    const quote = await client.quote(10_001n);
    assert.deepEqual([quote.protocolFee, quote.net, quote.fee, quote.total], [101n, 9_900n, 1n, 10_002n]);
    const before = BigInt((await client.account(P!.address)).balance);
    proxy.posts.length = 0;
    proxy.submitScript = ['503', 'reset'];
    const r = ok(await client.settle(P!.privateKey, { validatorId: V0.address, amount: 10_001n, reference: 'invoice-2026-0042' }, wait));
    assert.equal(r.submitted.attempts, 3);
    assert.equal(proxy.posts.length, 3);
    for (const p of proxy.posts) {
      assert.equal(p.url, '/tx?idempotent=true');
      assert.equal(JSON.parse(p.body).signature, r.signed.tx.signature, 'the same signed tx each time');
    }
    const found = await client.settlementLookup(P!.address, 'invoice-2026-0042');
    assert.equal(found?.status, 'finalized');
    assert.deepEqual([found!.settlement.id, found!.settlement.amount, found!.settlement.net], [r.id, 10_001n, 9_900n]);
    assert.equal(BigInt((await client.account(P!.address)).balance), before - quote.total, 'paid once');
    assert.equal((await client.settlementLookup(P!.address, 'no-such-invoice', { includePending: true })), undefined);
    // Resubmitting the finalized tx answers its state and charges nothing more.
    const again = await client.submitWithRetry(r.signed.tx);
    assert.deepEqual([again.status, again.attempts, again.finalized?.height], ['finalized', 1, r.confirmation!.height]);
    assert.equal(BigInt((await client.account(P!.address)).balance), before - quote.total);

    // A node (here: a proxy) that serves the block with a changed certificate signature is refused.
    proxy.tamperBlocks = true;
    try {
      await assert.rejects(client.confirmTx(r.id, { timeoutMs: 5_000 }), (e: unknown) => e instanceof CertificateError && e.code === 'CERTIFICATE_REFUSED');
      await assert.rejects(new FastposClient(proxy.url).confirmTx(r.id, { timeoutMs: 5_000 }), (e: unknown) => e instanceof CertificateError && e.code === 'CERTIFICATE_REFUSED');
    } finally {
      proxy.tamperBlocks = false;
    }
    assert.equal((await client.confirmTx(r.id)).height, r.confirmation!.height);
  });

  it('behavior: fastpos tx runs several kinds with --wait and prints the verified certificate', () => {
    const common = ['--node', node.url, '--wait', '--timeout-ms', '20000'];
    const d = runCli(['tx', 'delegation_delegate', '--dev-account', String(DEV.A), '--validator-id', V0.address, '--amount', '5', ...common]);
    assert.equal(d.status, 0, d.stderr);
    const out = JSON.parse(d.stdout);
    assert.deepEqual([out.status, out.success, out.tx.kind, out.certificate.verified], ['finalized', true, 'delegation_delegate', true]);
    assert.equal(out.certificate.height, out.height);
    const s = runCli(['tx', 'product_settle', '--dev-account', String(DEV.Q), '--validator-id', V0.address, '--amount', '700', '--reference', 'cli-inv-1', ...common]);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).tx.payload.reference, 'cli-inv-1');
    const dup = runCli(['tx', 'product_settle', '--dev-account', String(DEV.Q), '--validator-id', V0.address, '--amount', '700', '--reference', 'cli-inv-1', ...common]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /SETTLEMENT_EXISTS/);
    const u = runCli(['tx', 'validator_unbond', '--dev-account', String(DEV.C), '--validator-id', V1.address, '--amount', '1', '--node', node.url]);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(JSON.parse(u.stdout).status, 'pending');
    const wrongTrust = runCli(['tx', 'transfer', '--dev-account', String(DEV.A), '--to', B!.address, '--amount', '1', '--trust-set', `0:${'ee'.repeat(32)}`, ...common]);
    assert.equal(wrongTrust.status, 1);
    assert.match(wrongTrust.stderr, /VALIDATOR_SET_REFUSED/);
  });

  it('error: bad flags exit 2 with a message naming them', () => {
    const cases: [string[], RegExp][] = [
      [['tx', 'product_settle', '--dev-account', '0', '--validator-id', V0.address, '--amount', '10'], /--reference/],
      [['tx', 'transfer', '--dev-account', '0', '--to', B!.address, '--amount', '0'], /--amount/],
      [['tx', 'validator_jail', '--dev-account', '0', '--validator-id', V0.address, '--jail-blocks', '5', '--colour', 'red'], /--colour/],
      [['tx', 'product_resolve_challenge', '--dev-account', '0', '--challenge-id', 'ab'.repeat(32), '--upheld', 'yes'], /--upheld/],
      [['tx', 'validator_slash', '--dev-account', '0', '--validator-id', V0.address], /--fraction-bps/],
      [['tx', 'transfer', '--to', B!.address, '--amount', '5'], /--key-file/],
      [['tx', 'no_such_kind'], /unknown tx kind/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });
});
