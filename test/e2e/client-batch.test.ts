/**
 * The client's `submitTxs` against a real `fastpos start` process
 * (dist/cli/main.js, `--tx-batch-max-txs 4`) over 127.0.0.1: a list longer
 * than `maxPerRequest` goes in several `POST /txs` requests and comes back as
 * one typed list in order (refused txs with their code), the admitted txs are
 * finalized, `idempotent` answers their state, and a request over the node's
 * limit is an ApiError with the node's code. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError, FastposClient, signTransfer } from '../../src/client/index.js';
import { devAccount } from '../../src/crypto/keys.js';
import { DEVNET_CHAIN_ID } from '../../src/state/genesis.js';
import { waitUntil } from '../helpers/network.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';

function transfer(from: number, nonce: number): { id: string; tx: Record<string, unknown> } {
  return signTransfer(devAccount(from).privateKey, { chainId: DEVNET_CHAIN_ID, nonce, to: devAccount(19).address, amount: 1n, fee: 10n });
}

describe('client submitTxs (real process, --tx-batch-max-txs 4)', { timeout: 90_000 }, () => {
  let node: NodeProcess | undefined;
  let client: FastposClient;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-client-batch-'));

  before(async () => {
    node = await spawnNode(dir, ['--tx-batch-max-txs', '4', '--peer-discovery-interval-ms', '0']);
    client = new FastposClient(node.url, { timeoutMs: 5000 });
    await waitUntil(async () => (await client.status()).latestHeight >= 1, 20_000, 'the node to finalize a block');
  });
  after(async () => {
    await node?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('behavior: ten txs in requests of 4 come back in order, typed, refused ones with their code; the admitted ones finalize; idempotent answers their state', async () => {
    const good = [...Array.from({ length: 6 }, (_, n) => transfer(1, n)), transfer(2, 0), transfer(3, 0)];
    const badSig = { ...transfer(4, 0).tx, signature: transfer(5, 0).tx.signature as string };
    const list = [good[0]!.tx, good[1]!.tx, good[2]!.tx, badSig, good[3]!.tx, good[4]!.tx, good[0]!.tx, good[5]!.tx, good[6]!.tx, good[7]!.tx];
    const results = await client.submitTxs(list, { maxPerRequest: 4 });
    assert.equal(results.length, list.length);
    const summary = results.map((r) => (r.ok ? `${r.status}${r.known ? ' (known)' : ''}` : r.error.code));
    assert.deepEqual(summary, ['pending', 'pending', 'pending', 'INVALID_SIGNATURE', 'pending', 'pending', 'DUPLICATE_TX', 'pending', 'pending', 'pending']);
    const ids = results.map((r) => r.id);
    assert.deepEqual(ids, [good[0]!.id, good[1]!.id, good[2]!.id, transfer(4, 0).id, good[3]!.id, good[4]!.id, good[0]!.id, good[5]!.id, good[6]!.id, good[7]!.id]);

    for (const g of good) {
      const st = await client.waitForFinality(g.id, { timeoutMs: 20_000, intervalMs: 50 });
      assert.equal(st.success, true);
    }

    const again = await client.submitTxs([good[0]!.tx, good[7]!.tx], { idempotent: true });
    for (const r of again) {
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.status, 'finalized');
      assert.equal(r.known, true);
      assert.equal(typeof r.height, 'number');
      assert.equal(r.success, true);
    }
  });

  it('error: a request of more txs than the node takes is an ApiError 413 PAYLOAD_TOO_LARGE', async () => {
    const list = Array.from({ length: 5 }, (_, n) => transfer(6, n).tx);
    await assert.rejects(client.submitTxs(list, { maxPerRequest: 5 }), (e: unknown) => e instanceof ApiError && e.status === 413 && e.code === 'PAYLOAD_TOO_LARGE');
    await assert.rejects(client.submitTxs(list, { maxPerRequest: 0 }), RangeError);
  });
});
