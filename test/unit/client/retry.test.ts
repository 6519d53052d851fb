/**
 * Submissions with retries against a scripted HTTP server: network errors,
 * 5xx and 429 are retried with backoff (and `retry-after`), always with
 * `?idempotent=true` and the same signed body; other answers are not; attempts
 * and time are bounded.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiError, ClientError, DEFAULT_RETRY_POLICY, FastposClient, backoffDelay, buildSignedTx, isRetryable } from '../../../src/client/index.js';
import { devAccount } from '../../../src/crypto/keys.js';

type Step = (req: IncomingMessage, res: ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Step => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};
const unavailable = json(503, { error: { code: 'NOT_READY', message: 'stopping' } });
const accepted = (id: string) => json(202, { id, status: 'pending' });
/** The connection is cut without an answer: a network error for the client. */
const reset: Step = (req) => req.socket.destroy();
/** No answer at all (the client's request timeout fires). */
const hang: Step = () => undefined;

const signed = buildSignedTx(devAccount(0).privateKey, { chainId: 'fastpos-devnet', kind: 'transfer', payload: { to: devAccount(1).address, amount: 5n }, nonce: 0, fee: 1n });

describe('client retries', () => {
  let script: Step[] = [];
  const requests: { url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', body });
      const step = script.shift() ?? unavailable;
      step(req, res);
    });
  });
  let url = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    requests.length = 0;
  });
  const fast = { baseDelayMs: 5, maxDelayMs: 20 };

  it('default: 503 twice, then accepted: three attempts, each idempotent with the same signed tx', async () => {
    script = [unavailable, unavailable, accepted(signed.id)];
    const r = await new FastposClient(url).submitWithRetry(signed.tx, fast);
    assert.deepEqual([r.id, r.status, r.attempts], [signed.id, 'pending', 3]);
    assert.equal(requests.length, 3);
    for (const q of requests) {
      assert.equal(q.url, '/tx?idempotent=true');
      assert.deepEqual(JSON.parse(q.body), signed.tx);
    }
  });

  it('behavior: a cut connection is retried; an answer with the finalized status is returned as such', async () => {
    const final = { id: signed.id, status: 'finalized', height: 9, index: 0, blockHash: 'ab'.repeat(32), success: true, tx: signed.tx };
    script = [reset, json(200, final)];
    const r = await new FastposClient(url).submitWithRetry(signed.tx, fast);
    assert.deepEqual([r.status, r.attempts, r.finalized?.height], ['finalized', 2, 9]);
  });

  it('behavior: a request that gets no answer times out and is retried', async () => {
    script = [hang, accepted(signed.id)];
    const t0 = Date.now();
    const r = await new FastposClient(url, { timeoutMs: 200 }).submitWithRetry(signed.tx, fast);
    assert.equal(r.attempts, 2);
    assert.ok(Date.now() - t0 >= 190);
  });

  it('behavior: 429 is retried after the node\'s retry-after', async () => {
    script = [json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, { 'retry-after': '1' }), accepted(signed.id)];
    const t0 = Date.now();
    const r = await new FastposClient(url).submitWithRetry(signed.tx, fast);
    assert.equal(r.attempts, 2);
    assert.ok(Date.now() - t0 >= 990, 'waited the retry-after asked for');
  });

  it('error: a 4xx verdict is not retried', async () => {
    script = [json(400, { error: { code: 'INVALID_SIGNATURE', message: 'bad' } })];
    await assert.rejects(new FastposClient(url).submitWithRetry(signed.tx, fast), (e: unknown) => e instanceof ApiError && e.code === 'INVALID_SIGNATURE' && e.status === 400);
    assert.equal(requests.length, 1);
  });

  it('error: attempts run out: RETRY_EXHAUSTED with the last error as its cause', async () => {
    script = [unavailable, unavailable, unavailable, unavailable];
    await assert.rejects(new FastposClient(url).submitWithRetry(signed.tx, { ...fast, attempts: 3 }), (e: unknown) => {
      assert.ok(e instanceof ClientError);
      assert.equal(e.code, 'RETRY_EXHAUSTED');
      assert.equal(e.meta?.attempts, 3);
      assert.ok(e.cause instanceof ApiError && e.cause.status === 503);
      return true;
    });
    assert.equal(requests.length, 3);
  });

  it('error: time runs out before the attempts do', async () => {
    script = Array.from({ length: 100 }, () => unavailable);
    const t0 = Date.now();
    await assert.rejects(new FastposClient(url).submitWithRetry(signed.tx, { attempts: 100, baseDelayMs: 40, maxDelayMs: 40, totalTimeoutMs: 300 }), (e: unknown) => e instanceof ClientError && e.code === 'RETRY_EXHAUSTED');
    assert.ok(Date.now() - t0 < 1000);
    assert.ok(requests.length < 20, `${requests.length} requests`);
  });

  it('boundary: backoff doubles within [d/2, d], is capped, and never undercuts retry-after', () => {
    const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(1, p, undefined, () => 0), 50);
    assert.equal(backoffDelay(1, p, undefined, () => 1), 100);
    assert.equal(backoffDelay(3, p, undefined, () => 1), 400);
    assert.equal(backoffDelay(10, p, undefined, () => 1), 1000);
    assert.equal(backoffDelay(1, p, 2000, () => 1), 2000);
    assert.ok(isRetryable(new ApiError(502, 'HTTP_502', 'bad gateway')));
    assert.ok(isRetryable(new ApiError(429, 'MEMPOOL_FULL', 'full')));
    assert.ok(!isRetryable(new ApiError(409, 'NONCE_TOO_LOW', 'low')));
    assert.ok(isRetryable(new TypeError('fetch failed')));
    assert.ok(!isRetryable(new RangeError('bug')));
  });
});
