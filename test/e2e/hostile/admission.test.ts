/**
 * Abuse limits of the docs/security.md table, each against a real `fastpos
 * start` child process (dist/cli/main.js) over 127.0.0.1, each asserting the
 * status and error code the docs give:
 *
 * - the per-IP request rate limit (`--rate-limit-max 5 --rate-limit-window-ms
 *   60000`): the 6th request is `429 RATE_LIMITED` with `retry-after`;
 *   `/healthz`, `/readyz` and `/metrics` are not limited;
 * - the validator network's own listener (`--p2p-port`, `--p2p-max-connections
 *   4`): the 5th connection is `503 TOO_MANY_CONNECTIONS` while the API port
 *   still answers, and the listener serves only the validator-network routes;
 * - admission to the pool: `mempoolMaxPerSender` (`429 SENDER_LIMIT`),
 *   `mempoolNonceWindow` (`409 NONCE_TOO_HIGH`) and the genesis `minFee`
 *   (`400 FEE_TOO_LOW`), on a node holding one of two equal validators (the
 *   other never starts), so that nothing is finalized and txs stay pending;
 * - `mempoolTtlBlocks`: a tx behind a nonce gap on a single-validator devnet
 *   that decides blocks fast is dropped with `EXPIRED` once the TTL has passed.
 *
 * Txs are real transfers of funded dev accounts, signed with their keys. Every
 * loop is bounded in count and every wait in time.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPorts } from '../../../src/cli/ports.js';
import { generateKeyPair } from '../../../src/client/keygen.js';
import { signTransfer } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { saveKeyFile } from '../../../src/node/keyFile.js';
import { DEVNET_CHAIN_ID, encodeGenesis } from '../../../src/state/genesis.js';
import { CHAIN_ID, makeGenesis, sleep, waitUntil } from '../../helpers/network.js';
import { openRaw } from '../../helpers/rawConn.js';
import { spawnNode, type NodeProcess } from '../../helpers/proc.js';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** One request (bounded: 5 s), its status, headers and body (JSON when it parses). */
async function call(url: string, init: { method?: string; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON (e.g. /metrics) */
  }
  return { status: res.status, headers: res.headers, body };
}

/** `status CODE` of an answer, for compact assertions: the error code, or the status only. */
function code(a: Answer): string {
  return a.body?.error?.code === undefined ? String(a.status) : `${a.status} ${a.body.error.code}`;
}

function tail(node: NodeProcess | undefined, lines = 30): string {
  return node === undefined ? '' : `\nnode log (tail):\n${node.logs.slice(-lines).join('\n')}`;
}

/**
 * A GET on a connection of its own, closed after the answer (fetch would keep it
 * open in its pool), optionally from another loopback source address (a second
 * client IP). Bounded: 5 s.
 */
function getOnce(url: string, localAddress?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { ...(localAddress === undefined ? {} : { localAddress }), agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

const open = openRaw;

/** Head and parsed body of the first HTTP answer in `raw`. */
function parseAnswer(raw: string): { status: number; head: string; body: any } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(raw.startsWith('HTTP/1.1 ') && end > 0, `an HTTP answer: ${JSON.stringify(raw.slice(0, 300))}`);
  const head = raw.slice(0, end);
  const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
  assert.ok(Number.isInteger(len), `an answer with content-length: ${head}`);
  return { status: Number(raw.slice(9, 12)), head, body: JSON.parse(raw.slice(end + 4, end + 4 + len)) };
}

/** A transfer of 1 unit from dev account `from` to dev account 9, signed with the account's key. */
function transfer(chainId: string, from: number, nonce: number, fee: bigint): { id: string; tx: Record<string, unknown> } {
  return signTransfer(devAccount(from).privateKey, { chainId, nonce, to: devAccount(9).address, amount: 1n, fee });
}

// ---------------------------------------------------------------------------

describe('per-IP request rate limit (real process, --rate-limit-max 5 --rate-limit-window-ms 60000)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-ratelimit-'));

  before(async () => {
    node = await spawnNode(dir, ['--rate-limit-max', '5', '--rate-limit-window-ms', '60000', '--peer-discovery-interval-ms', '0']);
    // /readyz is not limited: waiting on it spends nothing of the budget.
    await waitUntil(async () => (await call(`${node!.url}/readyz`)).status === 200, 20_000, 'the node to be ready', 100);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: the 6th request from one client in the window is 429 RATE_LIMITED with retry-after; /healthz, /readyz and /metrics stay 200; another client address is not limited', async (t) => {
    const results: string[] = [];
    for (let i = 0; i < 5; i++) results.push(code(await call(`${node!.url}/status`)));
    assert.deepEqual(results, ['200', '200', '200', '200', '200'], `the first 5 requests${tail(node)}`);

    const sixth = await call(`${node!.url}/status`);
    assert.equal(code(sixth), '429 RATE_LIMITED', JSON.stringify(sixth.body));
    assert.deepEqual(Object.keys(sixth.body), ['error']);
    assert.equal(typeof sixth.body.error.message, 'string');
    const retryAfter = sixth.headers.get('retry-after');
    assert.ok(retryAfter !== null, `a retry-after header: ${JSON.stringify([...sixth.headers])}`);
    const seconds = Number(retryAfter);
    assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `retry-after within the 60 s window: ${retryAfter}`);

    // Every route counts, POST /tx included (refused before its body is looked at).
    assert.equal(code(await call(`${node!.url}/tx/pending`)), '429 RATE_LIMITED');
    assert.equal(code(await call(`${node!.url}/tx`, { method: 'POST', body: transfer(DEVNET_CHAIN_ID, 1, 0, 10n).tx })), '429 RATE_LIMITED');

    // Not limited, however often asked while over the limit.
    for (let i = 0; i < 10; i++) {
      const h = await call(`${node!.url}/healthz`);
      assert.equal(code(h), '200', `/healthz ${i + 1}: ${JSON.stringify(h.body)}`);
      assert.deepEqual(h.body, { status: 'ok' });
      const r = await call(`${node!.url}/readyz`);
      assert.equal(code(r), '200', `/readyz ${i + 1}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.ready, true);
      const m = await call(`${node!.url}/metrics`);
      assert.equal(code(m), '200', `/metrics ${i + 1}`);
      assert.match(String(m.body), /^# HELP /m);
    }
    // Still over the limit for a limited route.
    assert.equal(code(await call(`${node!.url}/status`)), '429 RATE_LIMITED');

    // The limit is per client address: 127.0.0.2 has a budget of its own.
    const other = await getOnce(`${node!.url}/status`, '127.0.0.2');
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.equal(other.body.chainId, DEVNET_CHAIN_ID);
    t.diagnostic(`6th request: 429 RATE_LIMITED, retry-after ${retryAfter}`);
  });
});

// ---------------------------------------------------------------------------

describe('validator network listener (real process, --p2p-port, --p2p-max-connections 4)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  let p2pPort: number;
  let p2pUrl: string;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-p2pconn-'));

  before(async () => {
    [p2pPort] = (await freeLoopbackPorts(1)) as [number];
    p2pUrl = `http://127.0.0.1:${p2pPort}`;
    node = await spawnNode(dir, ['--p2p-port', String(p2pPort), '--p2p-max-connections', '4', '--peer-discovery-interval-ms', '0']);
    // On connections closed after each answer: none is left open to count against the 4.
    await waitUntil(async () => (await getOnce(`${p2pUrl}/healthz`)).status === 200, 10_000, 'the p2p listener to answer');
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: with 4 idle connections held on the p2p port, the 5th is answered 503 TOO_MANY_CONNECTIONS (connection: close, retry-after) and closed; the API port still answers /healthz', async (t) => {
    const held = await Promise.all(Array.from({ length: 4 }, () => open(p2pPort)));
    try {
      await sleep(200);
      assert.ok(held.every((c) => !c.isClosed()), 'the 4 held connections are open');
      const extra = await open(p2pPort);
      extra.s.write('GET /sync/status HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
      const ms = await Promise.race([extra.closedAt.then((at) => at - extra.connectedAt), sleep(8000).then(() => -1)]);
      extra.s.destroy();
      assert.ok(ms >= 0, `the 5th connection was still open 8 s later: ${JSON.stringify(extra.received().slice(0, 300))}`);
      assert.ok(ms <= 6000, `the 5th connection closed ${ms} ms after it opened (at most 5 s, plus slack)`);
      const a = parseAnswer(extra.received());
      assert.equal(a.status, 503, a.head);
      assert.equal(a.body.error.code, 'TOO_MANY_CONNECTIONS');
      assert.match(a.body.error.message, /at most 4 connections/);
      assert.match(a.head, /\r\nconnection: *close/i, a.head);
      assert.match(a.head, /\r\nretry-after: *1\b/i, a.head);
      assert.equal(extra.received().lastIndexOf('HTTP/1.1 '), 0, 'one answer only');

      // Meanwhile the API port, with its own budget, answers.
      const h = await call(`${node!.url}/healthz`);
      assert.equal(code(h), '200');
      assert.deepEqual(h.body, { status: 'ok' });
      assert.equal(code(await call(`${node!.url}/status`)), '200');

      // The held connections themselves are served.
      const c = held[0]!;
      c.s.write('GET /sync/status HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
      const got = await waitUntil(() => (c.received().includes('\r\n\r\n') ? parseAnswer(c.received()) : undefined), 5000, 'an answer on a held connection', 10);
      assert.equal(got.status, 200, got.head);
      assert.equal(got.body.chainId, DEVNET_CHAIN_ID);
      t.diagnostic(`5th connection answered 503 and closed ${ms} ms after it opened`);
    } finally {
      for (const c of held) c.s.destroy();
    }
  });

  it('behavior: the p2p port serves the validator-network routes only: GET /status is 404 NOT_FOUND, GET /sync/status is 200', async () => {
    // The held connections were just closed: the node may take a moment to count them out.
    const sync = await waitUntil(
      async () => {
        const r = await call(`${p2pUrl}/sync/status`);
        return r.status === 200 ? r : undefined;
      },
      5000,
      'GET /sync/status on the p2p port',
      100,
    );
    assert.equal(sync.body.chainId, DEVNET_CHAIN_ID);
    assert.equal(typeof sync.body.height, 'number');
    assert.equal(typeof sync.body.genesisHash, 'string');
    const st = await call(`${p2pUrl}/status`);
    assert.equal(code(st), '404 NOT_FOUND', JSON.stringify(st.body));
    assert.equal(code(await call(`${p2pUrl}/tx/pending`)), '404 NOT_FOUND');
    assert.equal(code(await call(`${p2pUrl}/accounts/${devAccount(1).address}`)), '404 NOT_FOUND');
    // And the API port serves /status.
    assert.equal(code(await call(`${node!.url}/status`)), '200');
  });
});

// ---------------------------------------------------------------------------

const MIN_FEE = 10n;

describe('mempool admission limits (real process holding one of two equal validators: nothing finalizes; --mempool-max-per-sender 2 --mempool-nonce-window 3, genesis minFee 10)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-admission-'));

  const submit = (t: { tx: Record<string, unknown> }): Promise<Answer> => call(`${node!.url}/tx`, { method: 'POST', body: t.tx });
  const txStatus = async (id: string): Promise<Answer> => call(`${node!.url}/tx?id=${id}`);
  const pendingOf = async (account: number): Promise<number> =>
    (await call(`${node!.url}/tx/pending?from=${devAccount(account).address}&withMeta=true`)).body.meta.total;

  before(async () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const g = makeGenesis([a, b]);
    const genesis = { ...g, params: { ...g.params, minFee: MIN_FEE } };
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
    saveKeyFile(join(dir, 'validator_key.json'), a.privateKey);
    node = await spawnNode(dir, ['--mempool-max-per-sender', '2', '--mempool-nonce-window', '3', '--peer-discovery-interval-ms', '0']);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: a third pending tx of one sender is 429 SENDER_LIMIT; another sender is not affected', async () => {
    const txs = [0, 1, 2].map((nonce) => transfer(CHAIN_ID, 1, nonce, MIN_FEE));
    for (const t of txs.slice(0, 2)) {
      const r = await submit(t);
      assert.equal(r.status, 202, `${JSON.stringify(r.body)}${tail(node)}`);
      assert.deepEqual(r.body, { id: t.id, status: 'pending' });
    }
    const third = await submit(txs[2]!);
    assert.equal(code(third), '429 SENDER_LIMIT', JSON.stringify(third.body));
    assert.deepEqual(Object.keys(third.body), ['error']);
    assert.equal(typeof third.body.error.message, 'string');
    assert.equal(code(await txStatus(txs[2]!.id)), '404 NOT_FOUND', 'the refused tx is not known to the node');
    for (const t of txs.slice(0, 2)) assert.equal((await txStatus(t.id)).body.status, 'pending');
    assert.equal(await pendingOf(1), 2);
    // Refused again while the two are pending.
    assert.equal(code(await submit(transfer(CHAIN_ID, 1, 2, MIN_FEE + 5n))), '429 SENDER_LIMIT');

    // The cap is per sender.
    const other = transfer(CHAIN_ID, 3, 0, MIN_FEE);
    assert.equal((await submit(other)).status, 202);
    const st = (await call(`${node!.url}/status`)).body;
    assert.equal(st.latestHeight, 0, 'nothing was finalized: the txs stay pending');
  });

  it('error: a nonce beyond the account nonce + mempoolNonceWindow is 409 NONCE_TOO_HIGH; one inside the window is admitted', async (t) => {
    const account = (await call(`${node!.url}/accounts/${devAccount(2).address}`)).body;
    assert.equal(account.nonce, 0);
    for (const nonce of [4, 5, 1000]) {
      const r = await submit(transfer(CHAIN_ID, 2, nonce, MIN_FEE));
      assert.equal(code(r), '409 NONCE_TOO_HIGH', `nonce ${nonce}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.error.message, 'string');
    }
    assert.equal(await pendingOf(2), 0, 'no tx of the refused nonces entered the pool');
    // Nonce 2: two ahead of the account nonce, inside a window of 3 (a gap before it: it waits).
    const inside = transfer(CHAIN_ID, 2, 2, MIN_FEE);
    const r = await submit(inside);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((await txStatus(inside.id)).body.status, 'pending');
    // What the node does at exactly account nonce + window (recorded, not asserted: see the report).
    const edge = await submit(transfer(CHAIN_ID, 2, 3, MIN_FEE));
    t.diagnostic(`nonce 3 (account nonce 0 + window 3): ${code(edge)} ${JSON.stringify(edge.body?.error?.message ?? '')}`);
  });

  it('error: a fee below the genesis minFee is 400 FEE_TOO_LOW; minFee itself is admitted', async () => {
    for (const fee of [MIN_FEE - 1n, 1n, 0n]) {
      const t = transfer(CHAIN_ID, 4, 0, fee);
      const r = await submit(t);
      assert.equal(code(r), '400 FEE_TOO_LOW', `fee ${fee}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.error.message, 'string');
      assert.equal(code(await txStatus(t.id)), '404 NOT_FOUND');
    }
    assert.equal(await pendingOf(4), 0);
    const ok = transfer(CHAIN_ID, 4, 0, MIN_FEE);
    const r = await submit(ok);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body, { id: ok.id, status: 'pending' });
    assert.ok((await call(`${node!.url}/healthz`)).status === 200);
  });
});

// ---------------------------------------------------------------------------

describe('mempoolTtlBlocks (real process, single-validator devnet, --mempool-ttl-blocks 3, fast blocks)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-ttl-'));
  const TTL = 3;

  before(async () => {
    node = await spawnNode(dir, [
      '--mempool-ttl-blocks', String(TTL),
      '--idle-block-interval-ms', '50',
      '--min-block-interval-ms', '5',
      '--peer-discovery-interval-ms', '0',
    ]);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: a tx behind a nonce gap stays pending while blocks are decided and is dropped EXPIRED once mempoolTtlBlocks blocks have passed since its admission', async (t) => {
    const height = async (): Promise<number> => (await call(`${node!.url}/status`)).body.latestHeight as number;
    // Blocks are being decided.
    const start = await height();
    await waitUntil(async () => (await height()) >= start + 2, 15_000, 'two blocks to be decided');

    // Dev account 1 has account nonce 0: nonce 1 waits behind the gap.
    const gapped = transfer(DEVNET_CHAIN_ID, 1, 1, 10n);
    // A tx that can execute, from another account: it is finalized meanwhile.
    const fine = transfer(DEVNET_CHAIN_ID, 2, 0, 10n);
    const h0 = await height();
    const r = await call(`${node!.url}/tx`, { method: 'POST', body: gapped.tx });
    const h1 = await height();
    assert.equal(r.status, 202, `${JSON.stringify(r.body)}${tail(node)}`);
    assert.deepEqual(r.body, { id: gapped.id, status: 'pending' });
    assert.equal((await call(`${node!.url}/tx`, { method: 'POST', body: fine.tx })).status, 202);

    const dropped = await waitUntil(
      async () => {
        const s = await call(`${node!.url}/tx?id=${gapped.id}`);
        assert.equal(s.status, 200, JSON.stringify(s.body));
        assert.ok(s.body.status === 'pending' || s.body.status === 'dropped', JSON.stringify(s.body));
        return s.body.status === 'dropped' ? s.body : undefined;
      },
      20_000,
      'the gapped tx to be dropped',
      20,
    );
    assert.equal(dropped.status, 'dropped');
    assert.equal(dropped.error, 'EXPIRED', JSON.stringify(dropped));
    assert.equal(typeof dropped.message, 'string');
    assert.equal(dropped.id, gapped.id);
    assert.equal(dropped.tx.nonce, 1);
    // Admitted while the chain was at a height in [h0, h1]. Dropped only after TTL blocks were decided
    // with it pending, never earlier; at most one block later, since the node does not count the block
    // in progress when the tx arrived (src/node/admission.ts: counted from the next height).
    assert.ok(dropped.height >= h0 + TTL && dropped.height <= h1 + TTL + 1, `dropped at height ${dropped.height}, admitted between ${h0} and ${h1}, ttl ${TTL}`);
    assert.match(dropped.message, new RegExp(`still pending ${TTL} blocks after admission at height \\d+ \\(ttl ${TTL}\\)`));

    // Gone from the pool; the other tx was finalized meanwhile; the account nonce never reached the gapped tx.
    const pending = (await call(`${node!.url}/tx/pending?from=${devAccount(1).address}&withMeta=true`)).body;
    assert.equal(pending.meta.total, 0);
    const fineStatus = await waitUntil(
      async () => {
        const s = (await call(`${node!.url}/tx?id=${fine.id}`)).body;
        return s.status === 'finalized' ? s : undefined;
      },
      10_000,
      'the executable tx to be finalized',
    );
    assert.equal(fineStatus.success, true);
    assert.equal((await call(`${node!.url}/accounts/${devAccount(1).address}`)).body.nonce, 0);
    t.diagnostic(`admitted between heights ${h0} and ${h1}; dropped at ${dropped.height}: ${dropped.message}`);
  });
});
