/**
 * Requests that fail before a route runs still get the spec's error shape
 * (`{"error": {"code", "message"}}`): malformed HTTP, oversized headers, a
 * request timeout (Node's HTTP parser), an over-long or undecodable path
 * parameter (the router). Real node, real sockets on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DISCARD_MAX_BYTES } from '../../../src/api/server.js';
import { startTestNode, type TestNode } from '../../helpers/node.js';

/** Writes raw bytes on a fresh connection and reads until the server closes it. */
function raw(port: number, bytes: string | Buffer, onServerSocket?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: '127.0.0.1', port }, () => {
      s.write(bytes);
      onServerSocket?.();
    });
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', (e) => (chunks.length > 0 ? resolve(Buffer.concat(chunks).toString()) : reject(e)));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
    s.setTimeout(10_000, () => s.destroy(new Error('no answer in 10 s')));
  });
}

function parse(answer: string): { status: number; headers: string; body: any } {
  const [head, body] = [answer.slice(0, answer.indexOf('\r\n\r\n')), answer.slice(answer.indexOf('\r\n\r\n') + 4)];
  return { status: Number(head.slice(9, 12)), headers: head.toLowerCase(), body: JSON.parse(body) };
}

function assertSpecError(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body), ['error']);
  assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message']);
  assert.equal(r.body.error.code, code);
  assert.ok(r.body.error.message.length > 0);
}

describe('errors raised before a route runs', () => {
  let n: TestNode;
  let port: number;
  before(async () => {
    n = await startTestNode();
    port = Number(new URL(n.url).port);
  });
  after(async () => {
    await n.dispose();
  });

  it('error: malformed HTTP is 400 INVALID_REQUEST', async () => {
    const r = parse(await raw(port, 'THIS IS NOT HTTP\r\n\r\n'));
    assertSpecError(r, 400, 'INVALID_REQUEST');
    assert.match(r.headers, /content-type: application\/json/);
  });

  it('error: request headers larger than the server accepts are 431 HEADERS_TOO_LARGE', async () => {
    const r = parse(await raw(port, `GET /status HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(40_000)}\r\n\r\n`));
    assertSpecError(r, 431, 'HEADERS_TOO_LARGE');
  });

  it('error: a request that does not arrive in time is 408 REQUEST_TIMEOUT', async () => {
    // Node raises this through the server's clientError event (its check runs every 30 s, too slow to wait for here).
    const server = n.app.server;
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const answer = raw(port, 'GET /status HTTP/1.1\r\nhost: x\r\n');
    const socket = await accepted;
    await new Promise((r) => setTimeout(r, 50));
    server.emit('clientError', Object.assign(new Error('request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    assertSpecError(parse(await answer), 408, 'REQUEST_TIMEOUT');
  });

  it('error: a path parameter over 200 characters is 414 URI_TOO_LONG', async () => {
    const r = await n.app.inject({ method: 'GET', url: `/accounts/${'a'.repeat(201)}` });
    assertSpecError({ status: r.statusCode, body: r.json() }, 414, 'URI_TOO_LONG');
  });

  it('error: a path parameter that is not valid percent-encoding is 400 INVALID_REQUEST', async () => {
    const r = await n.app.inject({ method: 'GET', url: '/accounts/%E0%A4%A' });
    assertSpecError({ status: r.statusCode, body: r.json() }, 400, 'INVALID_REQUEST');
  });

  it('error: a body over the limit is answered 413 PAYLOAD_TOO_LARGE while it is still being sent; the rest is read and the connection stays usable', async () => {
    const size = 3_000_000; // over bodyLimitBytes (1 MiB), under DISCARD_MAX_BYTES
    const s = connect({ host: '127.0.0.1', port });
    const errors: Error[] = [];
    s.on('error', (e) => errors.push(e));
    let received = '';
    s.on('data', (d) => (received += d.toString()));
    await new Promise<void>((resolve) => s.once('connect', resolve));
    const write = (b: string | Buffer): Promise<void> =>
      new Promise((resolve) => {
        if (s.destroyed) return resolve();
        s.write(b, () => resolve());
        s.once('close', () => resolve());
      });
    await write(`POST /tx HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    await write(chunk);
    const deadline = Date.now() + 10_000;
    while (!/\r\n\r\n\{.*\}$/s.test(received) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const first = parse(received);
    assertSpecError(first, 413, 'PAYLOAD_TOO_LARGE');
    // The client goes on sending the body it announced: no reset.
    for (let sent = chunk.length; sent < size && !s.destroyed; sent += chunk.length) await write(chunk.subarray(0, Math.min(chunk.length, size - sent)));
    received = '';
    await write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    if (!s.destroyed) await new Promise((resolve) => s.once('close', resolve));
    assert.deepEqual(errors.map((e) => e.message), []);
    assert.equal(parse(received).status, 200);
  });

  it('error: a body declared over DISCARD_MAX_BYTES is answered 413 with connection: close', async () => {
    const r = parse(await raw(port, `POST /tx HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${DISCARD_MAX_BYTES + 1}\r\n\r\n{}`));
    assertSpecError(r, 413, 'PAYLOAD_TOO_LARGE');
    assert.match(r.headers, /connection: close/);
  });

  it('the node still answers normally afterwards', async () => {
    const r = parse(await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    assert.equal(r.status, 200);
  });
});

describe('connections over maxConnections', () => {
  let n: TestNode;
  let port: number;
  before(async () => {
    n = await startTestNode({ config: { maxConnections: 2 } });
    port = Number(new URL(n.url).port);
  });
  after(async () => {
    await n.dispose();
  });

  /** Opens a connection and waits until the server has accepted it. */
  async function hold(): Promise<Socket> {
    const accepted = new Promise((resolve) => n.app.server.once('connection', resolve));
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    await accepted;
    return s;
  }

  it('error: one over the limit is answered 503 TOO_MANY_CONNECTIONS with connection: close; served again once one closes', async () => {
    const held = [await hold(), await hold()];
    const r = parse(await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'));
    assertSpecError(r, 503, 'TOO_MANY_CONNECTIONS');
    assert.match(r.body.error.message, /at most 2 connections/);
    assert.match(r.headers, /connection: close/);
    assert.match(r.headers, /retry-after: 1/);
    // The answered connection was closed by the server (raw() returned on close), so the count is back at 2.
    held[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ok = parse(await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    assert.equal(ok.status, 200);
    held[1]!.destroy();
  });

  it('error: beyond twice the limit a connection is closed without an answer', async () => {
    const held = [await hold(), await hold(), await hold(), await hold()];
    assert.equal(await raw(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'), '');
    for (const s of held) s.destroy();
    const metrics = (await n.app.inject({ method: 'GET', url: '/metrics' })).body;
    // First test: one answered; this one: two answered (held) and one closed at once.
    assert.match(metrics, /fastpos_http_connections_over_limit_total\{answered="true"\} 3/);
    assert.match(metrics, /fastpos_http_connections_over_limit_total\{answered="false"\} 1/);
  });
});
