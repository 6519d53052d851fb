/**
 * A peer that opens its side of a stream and then reads nothing, against a
 * real node process: the node's send buffer for it stays within
 * `p2pStreamMaxBufferedBytes` (tx batches dropped, counted), and the node
 * goes on finalizing and admitting txs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { signTransfer } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { spawnNode } from '../../helpers/proc.js';
import { getJson, heightOf, postJson, waitUntil } from '../../helpers/network.js';
import { sample, scrape } from '../network/streamHelpers.js';

const CAP = 65_536;

describe('peer streams: a peer that reads nothing', { timeout: 120_000 }, () => {
  it('bound: the node drops tx batches for it beyond p2pStreamMaxBufferedBytes, and goes on finalizing', async () => {
    // The silent peer: takes the stream, then never reads from its socket; its other routes answer 202.
    const sockets: Socket[] = [];
    const wss = new WebSocketServer({ noServer: true });
    const http = createServer((req, res) => {
      req.resume();
      res.writeHead(req.method === 'POST' ? 202 : 404, { 'content-type': 'application/json' }).end('{}');
    });
    http.on('upgrade', (req, socket, head) => {
      sockets.push(socket as Socket);
      wss.handleUpgrade(req, socket, head, () => (socket as Socket).pause());
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const peer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'fastpos-slow-peer-'));
    const node = await spawnNode(dir, ['--peers', peer, '--p2p-stream-max-buffered-bytes', String(CAP), '--peer-discovery-interval-ms', '0', '--idle-block-interval-ms', '200']);
    try {
      await waitUntil(async () => sample(await scrape(node.url), 'fastpos_p2p_streams_open', 'direction="out"') === 1, 20_000, 'the stream to the silent peer to open');
      // Txs from six senders, 24 requests at a time, until the node drops gossip for the silent peer (bounded count:
      // the kernel takes a few MiB of what the node writes before its own buffer fills; each tx is sent about
      // three times, in a gossip batch, a proposal and a finalize message).
      const drops = async (): Promise<number> => sample(await scrape(node.url), 'fastpos_p2p_stream_drops_total', 'reason="tx_overflow"');
      let sent = 0;
      for (let round = 0; round < 300 && (await drops()) === 0; round++) {
        await Promise.all(
          Array.from({ length: 24 }, async (_, k) => {
            const from = 1 + (k % 6);
            const nonce = round * 4 + Math.floor(k / 6);
            const { tx } = signTransfer(devAccount(from).privateKey, { chainId: 'fastpos-devnet', nonce, to: devAccount(9).address, amount: 1n, fee: 1n });
            const res = await postJson(`${node.url}/tx`, tx);
            assert.equal(res.status, 202, JSON.stringify(res.body));
            sent++;
          }),
        );
      }
      const m = await scrape(node.url);
      assert.ok((await drops()) > 0, `no tx batch dropped after ${sent} txs: ${[...m].filter(([k]) => k.includes('p2p')).map(([k, v]) => `${k} ${v}`).join('; ')}`);
      // The node is not held back by the silent peer: it finalizes and answers.
      const h = await heightOf(node.url);
      await waitUntil(async () => (await heightOf(node.url)) >= h + 2, 20_000, 'two more blocks');
      assert.equal((await getJson(`${node.url}/status`)).syncing, false);
    } finally {
      await node.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      http.closeAllConnections();
      http.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
