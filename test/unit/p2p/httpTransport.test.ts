/**
 * HttpTransport's requests to peers against small HTTP servers on 127.0.0.1:
 * every GET ends at its overall deadline and every answer at its byte cap,
 * whatever the peer does, with a typed error naming the peer; sync answers of
 * the wrong shape are refused; penalties reach the peer book.
 */
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { HttpTransport } from '../../../src/p2p/httpTransport.js';
import { PENALTY_LIMIT, PeerBook } from '../../../src/p2p/peers.js';

interface TestServer {
  readonly url: string;
  /** Bytes the handler wrote per answer, and whether the client closed it. */
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const transports: HttpTransport[] = [];
after(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(handler: RequestListener): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  const s: TestServer = {
    url: `http://127.0.0.1:${addr.port}`,
    close: () => {
      for (const x of sockets) x.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(s);
  return s;
}

function transport(opts: { requestTimeoutMs?: number; maxResponseBytes?: number; book?: PeerBook } = {}): HttpTransport {
  const t = new HttpTransport({ book: opts.book ?? new PeerBook(10), ...opts });
  transports.push(t);
  return t;
}

/** The FastposError `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<FastposError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FastposError, `a FastposError, got ${String(e)}`);
    return e;
  }
  assert.fail('the request succeeded');
}

/** Writes `200 [` and then one byte every `everyMs` until the client goes (bounded: 600 bytes). */
const trickle =
  (everyMs: number, written: { bytes: number; closed: boolean }): RequestListener =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
    let n = 0;
    const t = setInterval(() => {
      if (res.destroyed || ++n > 600) {
        clearInterval(t);
        if (!res.destroyed) res.end(']');
        return;
      }
      res.write(' ');
      written.bytes++;
    }, everyMs);
    res.on('close', () => {
      written.closed = true;
      clearInterval(t);
    });
  };

/** Writes `200 [` and then spaces as fast as the client takes them, up to `limit` bytes. */
const flood =
  (limit: number, written: { bytes: number; closed: boolean }, headers: Record<string, string> = {}): RequestListener =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    res.on('close', () => (written.closed = true));
    const pump = (): void => {
      while (!res.destroyed && written.bytes < limit) {
        written.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    res.write('[');
    pump();
  };

describe('HttpTransport: bounded requests to peers', () => {
  it('error: an answer that trickles one byte at a time ends at the overall deadline: REQUEST_TIMEOUT naming the peer', async () => {
    const written = { bytes: 0, closed: false };
    const s = await serve(trickle(50, written));
    const t = transport({ requestTimeoutMs: 600 });
    const t0 = Date.now();
    const e = await failure(t.syncBlocks(s.url, 1, 50));
    const took = Date.now() - t0;
    assert.equal(e.code, ErrorCode.REQUEST_TIMEOUT);
    assert.ok(e.message.includes(s.url), e.message);
    assert.ok(took >= 550 && took < 2000, `took ${took} ms`);
    assert.ok(written.bytes >= 3, 'bytes kept coming (an idle timeout alone would not end it)');
    for (let i = 0; i < 50 && !written.closed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(written.closed, true, 'the connection was closed');
  });

  it('error: headers that never come end at the deadline too', async () => {
    const s = await serve(() => undefined);
    const t = transport({ requestTimeoutMs: 300 });
    const t0 = Date.now();
    const e = await failure(t.syncStatus(s.url));
    assert.equal(e.code, ErrorCode.REQUEST_TIMEOUT);
    assert.ok(Date.now() - t0 < 1500);
  });

  it('error: an answer that grows past the cap is cut there: PAYLOAD_TOO_LARGE naming the peer, the rest never read', async () => {
    const cap = 256 * 1024;
    const limit = 64 * 1024 * 1024;
    const written = { bytes: 0, closed: false };
    const s = await serve(flood(limit, written));
    const t = transport({ maxResponseBytes: cap, requestTimeoutMs: 10_000 });
    const e = await failure(t.syncBlocks(s.url, 1, 50));
    assert.equal(e.code, ErrorCode.PAYLOAD_TOO_LARGE);
    assert.ok(e.message.includes(s.url) && e.message.includes(String(cap)), e.message);
    for (let i = 0; i < 100 && !written.closed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(written.closed, true, 'the connection was closed');
    // What the server wrote beyond the cap sat in loopback socket buffers at most.
    assert.ok(written.bytes < limit / 2, `the server wrote ${written.bytes} bytes`);
  });

  it('error: an answer that declares more than the cap is refused before its body is read', async () => {
    const written = { bytes: 0, closed: false };
    const s = await serve(flood(4 * 1024 * 1024, written, { 'content-length': String(4 * 1024 * 1024 + 1) }));
    const t = transport({ maxResponseBytes: 1024 * 1024 });
    const e = await failure(t.syncBlocks(s.url, 1, 50));
    assert.equal(e.code, ErrorCode.PAYLOAD_TOO_LARGE);
  });

  it('error: /sync/status is capped far below the blocks cap', async () => {
    const written = { bytes: 0, closed: false };
    const s = await serve(flood(8 * 1024 * 1024, written));
    const t = transport({ maxResponseBytes: 64 * 1024 * 1024 });
    const e = await failure(t.syncStatus(s.url));
    assert.equal(e.code, ErrorCode.PAYLOAD_TOO_LARGE);
    assert.match(e.message, /65536/);
  });

  it('error: statuses, bad JSON, wrong shapes and unreachable peers give typed errors naming the peer', async () => {
    const s = await serve((req, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/sync/status')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"height":"many","genesisHash":"x"}');
      } else if (path.includes('from=1&')) res.writeHead(500).end('{}');
      else if (path.includes('from=2&')) res.writeHead(404).end('{}');
      else if (path.includes('from=3&')) res.writeHead(200).end('[{"header":');
      else if (path.includes('from=4&')) res.writeHead(200).end('[1,2,3]');
      else if (path.includes('from=5&')) res.writeHead(200).end('[{"header":{}}]');
      else res.writeHead(200).end('{}');
    });
    const t = transport();
    const cases: [() => Promise<unknown>, string][] = [
      [() => t.syncStatus(s.url), ErrorCode.INVALID_MESSAGE],
      [() => t.syncBlocks(s.url, 1, 2), ErrorCode.NOT_READY],
      [() => t.syncBlocks(s.url, 2, 2), ErrorCode.INVALID_MESSAGE],
      [() => t.syncBlocks(s.url, 3, 2), ErrorCode.INVALID_JSON],
      [() => t.syncBlocks(s.url, 4, 2), ErrorCode.INVALID_MESSAGE], // more blocks than asked
      [() => t.syncBlocks(s.url, 5, 2), ErrorCode.INVALID_BLOCK],
      [() => t.syncBlocks(s.url, 6, 2), ErrorCode.INVALID_MESSAGE], // not an array
    ];
    for (const [request, code] of cases) {
      const e = await failure(request());
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.includes(s.url), e.message);
    }
    const gone = await serve(() => undefined);
    await gone.close();
    const e = await failure(t.syncStatus(gone.url));
    assert.equal(e.code, ErrorCode.NOT_READY);
    assert.ok(e.message.includes(gone.url), e.message);
  });

  it('default: a well-formed /sync/status answer is read', async () => {
    const genesisHash = 'ab'.repeat(32);
    const answer = { chainId: 'x', genesisHash, height: 7, hash: 'cd'.repeat(32), syncing: false };
    const s = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
    assert.deepEqual(await transport().syncStatus(s.url), { height: 7, genesisHash, earliestBlockHeight: 1 }, 'a peer that does not say keeps every block');
    const pruned = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...answer, earliestBlockHeight: 5, earliestHeaderHeight: 1, progress: null })));
    assert.deepEqual(await transport().syncStatus(pruned.url), { height: 7, genesisHash, earliestBlockHeight: 5 });
  });

  it('error: a /sync/blocks answer of HTTP 410 is PRUNED (the peer no longer keeps those blocks)', async () => {
    const s = await serve((_req, res) => res.writeHead(410, { 'content-type': 'application/json' }).end('{"error":{"code":"PRUNED","message":"pruned"}}'));
    const e = await failure(transport().syncBlocks(s.url, 1, 50));
    assert.equal(e.code, 'PRUNED');
  });

  it('behavior: close() ends a request in flight at once', async () => {
    const written = { bytes: 0, closed: false };
    const s = await serve(trickle(100, written));
    const t = new HttpTransport({ book: new PeerBook(10), requestTimeoutMs: 60_000 });
    const p = failure(t.syncBlocks(s.url, 1, 50));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await t.close();
    const e = await p;
    assert.equal(e.code, ErrorCode.NOT_READY);
    assert.ok(Date.now() - t0 < 2000, 'closing did not wait for the peer');
  });

  it('behavior: penalize backs a peer off in the book and drops a discovered one at the limit', () => {
    const book = new PeerBook(10);
    const t = transport({ book });
    book.addDiscovered('http://127.0.0.1:30101', 'ab'.repeat(20), 0);
    book.add('http://127.0.0.1:30102', 'config');
    for (let i = 1; i < PENALTY_LIMIT; i++) assert.equal(t.penalize('http://127.0.0.1:30101', 'slow'), 'backedOff');
    assert.deepEqual(t.syncPeers(), ['http://127.0.0.1:30102']);
    assert.equal(t.penalize('http://127.0.0.1:30101', 'slow'), 'dropped');
    assert.equal(book.has('http://127.0.0.1:30101'), false);
    for (let i = 0; i < PENALTY_LIMIT; i++) t.penalize('http://127.0.0.1:30102', 'slow');
    assert.equal(book.has('http://127.0.0.1:30102'), true);
    t.served('http://127.0.0.1:30102');
    assert.deepEqual(t.syncPeers(), ['http://127.0.0.1:30102']);
  });
});
