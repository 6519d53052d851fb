/**
 * The limits of `POST /txs` against a real `fastpos start` process
 * (dist/cli/main.js) over 127.0.0.1, each with the status and code the docs
 * give: `--tx-batch-max-txs 5` (413 PAYLOAD_TOO_LARGE), `--tx-batch-max-bytes
 * 8192` (413 PAYLOAD_TOO_LARGE), a body that is
 * not JSON, not an object, without an array of txs or with an empty one
 * (400), and the per-address tx budget counted per tx
 * (`--rate-limit-max 20 --rate-limit-window-ms 3600000`: 429 RATE_LIMITED with
 * retry-after once 20 txs were sent, another client address unaffected).
 * A second node with `--rate-limit-max 3` refuses a batch larger than the
 * whole budget with 413 (it could never be let through). Every wait is
 * bounded in time. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signTransfer } from '../../src/client/sign.js';
import { devAccount } from '../../src/crypto/keys.js';
import { DEVNET_CHAIN_ID } from '../../src/state/genesis.js';
import { getJson, waitUntil } from '../helpers/network.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
}

/**
 * One POST /txs with a raw body on a connection of its own (closed after the
 * answer), optionally from another loopback address. Bounded: 5 s.
 */
function postRaw(url: string, body: string, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent: false, timeout: 5000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, ...(localAddress === undefined ? {} : { localAddress }) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function code(a: Answer): string {
  return a.body?.error?.code === undefined ? String(a.status) : `${a.status} ${a.body.error.code}`;
}

/** `count` transfers of dev account `from` from nonce `first` on. */
function transfers(from: number, first: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, k) => signTransfer(devAccount(from).privateKey, { chainId: DEVNET_CHAIN_ID, nonce: first + k, to: devAccount(19).address, amount: 1n, fee: 10n }).tx);
}

async function ready(n: NodeProcess): Promise<void> {
  // /readyz is not rate limited: waiting on it spends nothing of the budgets.
  await waitUntil(async () => (await getJson(`${n.url}/readyz`)).ready === true, 20_000, 'the node to be ready');
}

describe('POST /txs limits (real process, --tx-batch-max-txs 5 --tx-batch-max-bytes 8192 --rate-limit-max 20 --rate-limit-window-ms 3600000)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-batch-limits-'));
  const url = (): string => `${node!.url}/txs`;

  before(async () => {
    node = await spawnNode(dir, ['--tx-batch-max-txs', '5', '--tx-batch-max-bytes', '8192', '--rate-limit-max', '20', '--rate-limit-window-ms', '3600000', '--peer-discovery-interval-ms', '0']);
    await ready(node);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: more txs than txBatchMaxTxs, a body over txBatchMaxBytes, and malformed bodies are refused whole in the spec\'s shape; then the tx budget is charged per tx (429 with retry-after)', async () => {
    // Six txs when five are allowed: 413, nothing admitted, nothing charged.
    const six = await postRaw(url(), JSON.stringify({ txs: transfers(1, 0, 6) }));
    assert.equal(code(six), '413 PAYLOAD_TOO_LARGE', JSON.stringify(six.body));
    assert.match(six.body.error.message, /at most 5 txs/);
    assert.equal((await getJson(`${node!.url}/accounts/${devAccount(1).address}`)).pendingNonce, 0);

    // A body over 8192 bytes: 413 before it is parsed.
    const big = await postRaw(url(), JSON.stringify({ txs: [{ pad: 'x'.repeat(9000) }] }));
    assert.equal(code(big), '413 PAYLOAD_TOO_LARGE', JSON.stringify(big.body));

    // Malformed bodies: 400 with the spec's error shape.
    assert.equal(code(await postRaw(url(), '{"txs": [')), '400 INVALID_JSON');
    assert.equal(code(await postRaw(url(), '[]')), '400 INVALID_REQUEST');
    assert.equal(code(await postRaw(url(), '{"txs": {}}')), '400 INVALID_REQUEST');
    assert.equal(code(await postRaw(url(), '{"txs": []}')), '400 INVALID_REQUEST');
    assert.equal(code(await postRaw(url(), '{}')), '400 INVALID_REQUEST');
    const extra = await postRaw(url(), JSON.stringify({ txs: transfers(1, 0, 1), more: 1 }));
    assert.equal(code(extra), '400 INVALID_REQUEST');
    assert.deepEqual(Object.keys(extra.body), ['error']);

    // The tx budget: 20 txs per address per window, one unit per tx. Four batches of 5 pass, the fifth does not.
    for (let k = 0; k < 4; k++) {
      const r = await postRaw(url(), JSON.stringify({ txs: transfers(2, 5 * k, 5) }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.accepted, 5, JSON.stringify(r.body));
    }
    // (The bucket refills 20 txs per hour: 5 more are 15 minutes away, whatever the machine's pace.)
    const over = await postRaw(url(), JSON.stringify({ txs: transfers(2, 20, 5) }));
    assert.equal(code(over), '429 RATE_LIMITED', JSON.stringify(over.body));
    assert.match(over.body.error.message, /tx budget/);
    const retryAfter = Number(over.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3600, `retry-after within the window: ${String(over.headers['retry-after'])}`);
    // Charged before any check: the refused batch was not admitted.
    assert.equal((await getJson(`${node!.url}/accounts/${devAccount(2).address}`)).pendingNonce, 20);

    // Another client address has a budget of its own.
    const other = await postRaw(url(), JSON.stringify({ txs: transfers(3, 0, 5) }), '127.0.0.2');
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.equal(other.body.accepted, 5);
  });
});

describe('POST /txs larger than the whole tx budget (real process, --rate-limit-max 3)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-batch-budget-'));

  before(async () => {
    node = await spawnNode(dir, ['--rate-limit-max', '3', '--rate-limit-window-ms', '3600000', '--peer-discovery-interval-ms', '0']);
    await ready(node);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: a batch of more txs than one address may send per window is 413 PAYLOAD_TOO_LARGE (waiting would not help); a batch within it passes', async () => {
    const r = await postRaw(`${node!.url}/txs`, JSON.stringify({ txs: transfers(1, 0, 4) }));
    assert.equal(code(r), '413 PAYLOAD_TOO_LARGE', JSON.stringify(r.body));
    assert.match(r.body.error.message, /rateLimitMax 3/);
    const ok = await postRaw(`${node!.url}/txs`, JSON.stringify({ txs: transfers(1, 0, 3) }));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.accepted, 3);
  });
});
