/**
 * Cheap resource attacks on one real node process over 127.0.0.1: bodies and
 * headers that trickle in, many connections from one address, tx batches
 * that try to get around the request rate limit, and oversized bodies that
 * common clients must read as 413. Every loop is bounded in count and time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { spawnNode, type NodeProcess } from '../../helpers/proc.js';
import { openRaw, type RawConn } from '../../helpers/rawConn.js';

const run = promisify(execFile);

/** Opens a connection; `closed` resolves with the ms from connecting to its close. */
async function open(port: number): Promise<{ s: RawConn['s']; received: () => string; closed: Promise<number> }> {
  const c = await openRaw(port);
  return { s: c.s, received: c.received, closed: c.closedAt.then((at) => at - c.connectedAt) };
}

function statusOf(answer: string): number {
  return Number(answer.slice(9, 12));
}

function bodyOf(answer: string): any {
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
}

describe('hostile clients against one node process', () => {
  let node: NodeProcess;
  let port: number;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-'));

  before(async () => {
    node = await spawnNode(dir, [
      '--request-timeout-ms', '2000',
      '--headers-timeout-ms', '1000',
      '--max-connections-per-ip', '8',
      '--rate-limit-max', '20',
      '--rate-limit-window-ms', '60000',
      '--body-limit-bytes', '500000',
    ]);
    port = Number(new URL(node.url).port);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: a body that trickles in is answered 408 REQUEST_TIMEOUT once requestTimeoutMs has passed, and closed', async () => {
    const c = await open(port);
    c.s.write('POST /tx HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n');
    const drip = setInterval(() => !c.s.destroyed && c.s.write(' '), 200);
    const ms = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
    clearInterval(drip);
    c.s.destroy();
    assert.ok(ms > 0, 'the connection was still open after 15 s');
    assert.ok(ms >= 1900 && ms < 6000, `closed after ${ms} ms`);
    assert.equal(statusOf(c.received()), 408, c.received());
    assert.equal(bodyOf(c.received()).error.code, 'REQUEST_TIMEOUT');
  });

  it('error: headers that trickle in are answered 408 once headersTimeoutMs has passed', async () => {
    const c = await open(port);
    c.s.write('GET /status HTTP/1.1\r\nhost: x\r\n');
    let i = 0;
    const drip = setInterval(() => !c.s.destroyed && c.s.write(`x-h${i++}: y\r\n`), 150);
    const ms = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
    clearInterval(drip);
    c.s.destroy();
    assert.ok(ms > 0, 'the connection was still open after 15 s');
    assert.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms`);
    assert.equal(statusOf(c.received()), 408, c.received());
  });

  it('error: connections from one address beyond maxConnectionsPerIp get 503 TOO_MANY_CONNECTIONS', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => open(port)));
    try {
      await new Promise((r) => setTimeout(r, 100));
      const extra = await open(port);
      extra.s.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
      await Promise.race([extra.closed, new Promise((r) => setTimeout(r, 8000))]);
      assert.equal(statusOf(extra.received()), 503, extra.received());
      const body = bodyOf(extra.received());
      assert.equal(body.error.code, 'TOO_MANY_CONNECTIONS');
      assert.match(body.error.message, /at most 8 connections at once from one address/);
    } finally {
      for (const h of held) h.s.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    const res = await request(`${node.url}/healthz`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });

  it('error: POST /p2p/txs is charged one unit of the rate limit per tx (a batch cannot carry more txs than the limit)', async () => {
    // --rate-limit-max 20: a batch of 21 forged txs is refused before any signature is checked.
    const tx = (i: number) => ({ chainId: 'x', kind: 'transfer', from: 'ab'.repeat(20), pubKey: 'cd'.repeat(32), nonce: i, fee: '1', payload: { to: 'ef'.repeat(20), amount: '1' }, signature: '00'.repeat(64) });
    const post = async (n: number) => {
      const res = await request(`${node.url}/p2p/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs: Array.from({ length: n }, (_, i) => tx(i)) }) });
      return { status: res.statusCode, body: (await res.body.json()) as any };
    };
    const big = await post(21);
    assert.equal(big.status, 429, JSON.stringify(big.body));
    assert.equal(big.body.error.code, 'RATE_LIMITED');
    const first = await post(8);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await post(8);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    // 16 txs (and 3 requests) spent of 20: a third batch of 8 is over the budget.
    const third = await post(8);
    assert.equal(third.status, 429, JSON.stringify(third.body));
  });
});

describe('oversized bodies: common clients read the 413', () => {
  let node: NodeProcess;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-413-'));
  before(async () => {
    node = await spawnNode(dir, ['--body-limit-bytes', '500000']);
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mb of [1, 8]) {
    const body = JSON.stringify({ pad: 'x'.repeat(mb * 1_000_000) });

    it(`error: a ${mb} MB body: undici's request reads 413 PAYLOAD_TOO_LARGE`, async () => {
      const res = await request(`${node.url}/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.statusCode, 413);
      assert.equal(((await res.body.json()) as any).error.code, 'PAYLOAD_TOO_LARGE');
    });

    it(`error: a ${mb} MB body: Node's fetch reads 413 PAYLOAD_TOO_LARGE`, async () => {
      const res = await fetch(`${node.url}/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(20_000) });
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as any).error.code, 'PAYLOAD_TOO_LARGE');
    });

    it(`error: a ${mb} MB body: curl reads 413 PAYLOAD_TOO_LARGE`, async () => {
      const file = join(dir, `body-${mb}.json`);
      await import('node:fs').then((fs) => fs.writeFileSync(file, body));
      const { stdout } = await run('curl', ['-sS', '--max-time', '20', '-H', 'content-type: application/json', '--data-binary', `@${file}`, '-w', '\n%{http_code}', `${node.url}/tx`]);
      const [json, code] = [stdout.slice(0, stdout.lastIndexOf('\n')), stdout.slice(stdout.lastIndexOf('\n') + 1)];
      assert.equal(code, '413', stdout);
      assert.equal(JSON.parse(json).error.code, 'PAYLOAD_TOO_LARGE');
    });
  }
});
