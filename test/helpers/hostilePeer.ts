/**
 * A hostile peer for sync tests: an HTTP server on 127.0.0.1 that claims a
 * chain far ahead (`GET /sync/status`: a high height and the genesis hash it
 * is given) and then answers `GET /sync/blocks` badly: `200 [` followed by
 * one byte every `trickleMs` (a slow peer), or `200 [` followed by as many
 * bytes as the client takes (an oversized answer). Every other request gets a
 * quick, empty answer, so the peer looks alive to consensus traffic.
 *
 * Bounded: a flood stops at `floodBytes`, and after `lifetimeMs` every answer
 * is cut and the server closes.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface HostilePeerOptions {
  /** How `GET /sync/blocks` is answered. */
  readonly blocks: 'trickle' | 'flood';
  /** Time between two bytes of a trickled answer (default 2000 ms). */
  readonly trickleMs?: number;
  /** Most bytes of one flooded answer (default 64 MiB). */
  readonly floodBytes?: number;
  /** After this long every answer is cut and the server closes. */
  readonly lifetimeMs: number;
  /** The height `/sync/status` claims (default 1,000,000). */
  readonly height?: number;
}

export interface BlocksAnswer {
  /** The `from` the client asked for. */
  from: number;
  /** Bytes written to the answer's connection (the kernel may hold some that the client never read). */
  bytes: number;
  /** When the answer ended (the client went away, or the server cut it), ms since the request came. */
  closedAfterMs: number | null;
}

export interface HostilePeer {
  readonly url: string;
  /** The genesis hash `/sync/status` reports; while null, `/sync/status` answers 503. */
  genesisHash: string | null;
  readonly stats: { status: number; other: number; readonly blocks: BlocksAnswer[] };
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x20);

export async function startHostilePeer(opts: HostilePeerOptions): Promise<HostilePeer> {
  const trickleMs = opts.trickleMs ?? 2000;
  const floodBytes = opts.floodBytes ?? 64 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const peer: HostilePeer = {
    url: '',
    genesisHash: null,
    stats: { status: 0, other: 0, blocks: [] },
    close: async () => {
      if (closed) return;
      closed = true;
      clearTimeout(lifetime);
      for (const t of timers) clearInterval(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const blocks = (req: IncomingMessage, res: ServerResponse): void => {
    const from = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('from'));
    const answer: BlocksAnswer = { from, bytes: 0, closedAfterMs: null };
    peer.stats.blocks.push(answer);
    const t0 = Date.now();
    res.on('close', () => {
      answer.closedAfterMs = Date.now() - t0;
    });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.write('[');
    answer.bytes = 1;
    if (opts.blocks === 'trickle') {
      const t = setInterval(() => {
        if (res.destroyed || res.writableEnded) {
          clearInterval(t);
          timers.delete(t);
          return;
        }
        res.write(' ');
        answer.bytes++;
      }, trickleMs);
      timers.add(t);
      return;
    }
    const pump = (): void => {
      while (!res.destroyed && answer.bytes < floodBytes) {
        answer.bytes += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end(']');
    };
    pump();
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/sync/status') {
      peer.stats.status++;
      if (peer.genesisHash === null) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"NOT_READY","message":"starting"}');
        return;
      }
      const height = opts.height ?? 1_000_000;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ chainId: 'fastpos-localnet', genesisHash: peer.genesisHash, height, hash: 'ab'.repeat(32), syncing: false }),
      );
      return;
    }
    if (req.method === 'GET' && path === '/sync/blocks') {
      blocks(req, res);
      return;
    }
    peer.stats.other++;
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && path === '/p2p/peers') res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      else res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('hostile peer: no TCP address');
  (peer as { url: string }).url = `http://127.0.0.1:${addr.port}`;
  const lifetime = setTimeout(() => void peer.close(), opts.lifetimeMs);
  return peer;
}
