/**
 * Outbound peer streams against real WebSocket servers on 127.0.0.1: the
 * messages of one turn go in one frame; a peer that does not read fills the
 * bounded send buffer, and then the oldest tx batches are dropped before any
 * envelope; a peer without streams (404) is posted to; a peer that closes the
 * stream as a violation is reported, and what was queued is handed back.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { envelopeItem, txBatchItem, type StreamItem } from '../../../src/p2p/streamFrame.js';
import { StreamLinks, type StreamLinksOptions } from '../../../src/p2p/streamLink.js';
import { NO_TRAFFIC, type P2pTraffic } from '../../../src/p2p/traffic.js';

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A WebSocket server on a free loopback port; `onConnection` gets each stream. */
async function wsServer(onConnection: (ws: WebSocket) => void, status404 = false): Promise<string> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  http.on('upgrade', (req, socket, head) => {
    if (status404) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  servers.push(http);
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

function counting(): P2pTraffic & { drops: Map<string, number> } {
  const drops = new Map<string, number>();
  return { ...NO_TRAFFIC, drops, dropped: (reason, n) => void drops.set(reason, (drops.get(reason) ?? 0) + n) };
}

function links(extra: Partial<StreamLinksOptions> = {}): StreamLinks {
  return new StreamLinks({ maxBufferedBytes: 16 * 1_048_576, pingEveryMs: 10_000, traffic: NO_TRAFFIC, fallback: () => undefined, ...extra });
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('peer streams: outbound links', () => {
  it('default: the first send opens the stream (and says to post); then the messages of one turn go in one frame', async () => {
    const frames: string[] = [];
    const url = await wsServer((ws) => ws.on('message', (d) => frames.push(d.toString())));
    let opened = 0;
    const l = links({ onOpen: () => opened++ });
    try {
      assert.equal(l.send(url, envelopeItem('prevote', '{"a":1}')), false);
      await until(() => l.isOpen(url), 'the stream to open');
      assert.equal(opened, 1);
      assert.equal(l.send(url, envelopeItem('prevote', '{"a":2}')), true);
      assert.equal(l.send(url, txBatchItem(['{"t":1}', '{"t":2}'])), true);
      assert.equal(l.send(url, envelopeItem('precommit', '{"a":3}')), true);
      await until(() => frames.length === 1, 'one frame');
      assert.deepEqual(JSON.parse(frames[0]!), { envelopes: [{ a: 2 }, { a: 3 }], txs: [{ t: 1 }, { t: 2 }] });
    } finally {
      l.close();
    }
  });

  it('bound: a peer that reads nothing fills the send buffer; then the oldest tx batches are dropped first, envelopes only when no tx batch is left', async () => {
    const sockets: WebSocket[] = [];
    const received: string[] = [];
    const url = await wsServer((ws) => {
      sockets.push(ws);
      ws.pause();
      ws.on('message', (d) => received.push(d.toString()));
    });
    const traffic = counting();
    const cap = 512 * 1024;
    const l = links({ maxBufferedBytes: cap, traffic });
    const big = 'x'.repeat(60 * 1024);
    try {
      l.send(url, envelopeItem('prevote', '"open"'));
      await until(() => l.isOpen(url), 'the stream to open');
      // Tx batches until the buffer is full and batches are dropped (bounded: the kernel takes a few MiB at most).
      for (let i = 0; i < 1000 && (traffic.drops.get('tx_overflow') ?? 0) === 0; i++) {
        l.send(url, txBatchItem([`"${i}${big}"`]));
        await new Promise((r) => setImmediate(r));
      }
      assert.ok((traffic.drops.get('tx_overflow') ?? 0) > 0, 'tx batches were dropped');
      // Envelopes push out the queued tx batches before any envelope goes.
      const txDrops = traffic.drops.get('tx_overflow')!;
      for (let i = 0; i < 2; i++) l.send(url, envelopeItem('proposal', `"p${i}${big}"`));
      assert.ok(traffic.drops.get('tx_overflow')! > txDrops);
      assert.equal(traffic.drops.get('envelope_overflow') ?? 0, 0);
      // A tx batch does not push out an envelope: it is dropped itself once only envelopes wait.
      for (let i = 0; i < 20; i++) l.send(url, envelopeItem('proposal', `"q${i}${big}"`));
      const envDrops = traffic.drops.get('envelope_overflow') ?? 0;
      assert.ok(envDrops > 0, 'envelopes are dropped once no tx batch is left');
      const before = traffic.drops.get('tx_overflow')!;
      l.send(url, txBatchItem([`"late${big}"`]));
      assert.equal(traffic.drops.get('tx_overflow'), before + 1);
      assert.equal(traffic.drops.get('envelope_overflow') ?? 0, envDrops);
      // The reader wakes up: the newest envelope arrives, the late tx batch does not.
      sockets[0]!.resume();
      await until(() => received.some((f) => f.includes('"q19')), 'the newest envelope', 20_000);
      assert.ok(!received.some((f) => f.includes('"late')));
    } finally {
      l.close();
      for (const ws of sockets) ws.terminate();
    }
  });

  it('behavior: a peer that answers the upgrade with 404 is posted to, and not asked for a stream again soon', async () => {
    let upgrades = 0;
    const url = await wsServer(() => upgrades++, true);
    const l = links();
    try {
      assert.equal(l.send(url, envelopeItem('prevote', '{}')), false);
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 5; i++) assert.equal(l.send(url, envelopeItem('prevote', '{}')), false);
      assert.equal(l.isOpen(url), false);
      assert.equal(upgrades, 0);
    } finally {
      l.close();
    }
  });

  it('error: a peer that closes the stream as a violation (1008) is reported; what was queued is handed back to be posted', async () => {
    const sockets: WebSocket[] = [];
    const url = await wsServer((ws) => {
      sockets.push(ws);
      ws.pause();
    });
    const violations: string[] = [];
    const handedBack: StreamItem[] = [];
    const l = links({ maxBufferedBytes: 64 * 1_048_576, onViolation: (_u, why) => violations.push(why), fallback: (_u, items) => handedBack.push(...items) });
    try {
      l.send(url, envelopeItem('prevote', '"open"'));
      await until(() => l.isOpen(url), 'the stream to open');
      // Enough that some waits in the queue (the socket holds about HIGH_WATER_BYTES plus what the kernel takes).
      const big = 'y'.repeat(256 * 1024);
      for (let i = 0; i < 200 && handedBack.length === 0; i++) {
        l.send(url, envelopeItem('proposal', `"${i}${big}"`));
        if (i === 100) sockets[0]!.close(1008, 'you flood');
        await new Promise((r) => setImmediate(r));
      }
      sockets[0]!.resume();
      await until(() => violations.length === 1, 'the violation to be reported');
      assert.match(violations[0]!, /1008 you flood/);
      await until(() => !l.isOpen(url), 'the stream to be closed');
      assert.ok(handedBack.length > 0, 'queued envelopes handed back');
      assert.ok(handedBack.every((it) => it.kind === 'proposal'));
    } finally {
      l.close();
      for (const ws of sockets) ws.terminate();
    }
  });
});
