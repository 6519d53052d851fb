/**
 * Expensive reads cost their size: block ranges and snapshots are charged to
 * the client's read budget (`rateLimitReadBytes` per window), a range answer
 * ends early when the budget runs out, and a client with nothing left gets
 * 429. One real node process over 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { spawnNode, type NodeProcess } from '../../helpers/proc.js';
import { waitUntil } from '../../helpers/network.js';

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
}

describe('read budgets (real process)', () => {
  let node: NodeProcess;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-reads-'));
  before(async () => {
    node = await spawnNode(dir, ['--rate-limit-read-bytes', '8192', '--rate-limit-window-ms', '600000', '--idle-block-interval-ms', '50', '--min-block-interval-ms', '5']);
    await waitUntil(async () => Number(JSON.parse((await get(`${node.url}/status`)).text).latestHeight) >= 30, 30_000, 'height 30');
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('error: block ranges are charged by size: an answer ends when the budget does, then 429 RATE_LIMITED', async () => {
    const first = await get(`${node.url}/blocks?from=1&limit=100`);
    assert.equal(first.status, 200);
    const blocks = JSON.parse(first.text) as Array<{ header: { height: number } }>;
    // 8 KiB of budget: some blocks, far fewer than 30, and in order from 1.
    assert.ok(blocks.length >= 1 && blocks.length < 30, `${blocks.length} blocks in ${first.text.length} bytes`);
    assert.deepEqual(blocks.map((b) => b.header.height), blocks.map((_, i) => i + 1));
    assert.ok(first.text.length <= 8192 + 4096, `${first.text.length} bytes`);
    let last = first;
    for (let i = 0; i < 10 && last.status === 200; i++) last = await get(`${node.url}/sync/blocks?from=${blocks.length + 1}&limit=100`);
    assert.equal(last.status, 429, last.text);
    assert.equal(JSON.parse(last.text).error.code, 'RATE_LIMITED');
    const snap = await get(`${node.url}/sync/snapshot`);
    assert.equal(snap.status, 429, 'the snapshot is charged to the same budget');
    // Cheap routes are not.
    assert.equal((await get(`${node.url}/healthz`)).status, 200);
  });
});
