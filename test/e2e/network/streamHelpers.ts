/**
 * What the peer-stream tests share: a node's /metrics as numbers, and a
 * WebSocket client of `GET /p2p/stream` that records how its stream closed.
 * Every wait is bounded in time.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';

/** The samples of a node's /metrics: `name{labels}` → value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** A sample's value (0 when absent); `labels` as they appear, e.g. `direction="out"`. */
export function sample(m: Map<string, number>, name: string, labels?: string): number {
  return m.get(labels === undefined ? name : `${name}{${labels}}`) ?? 0;
}

/** Sum of every sample of a metric whose labels contain all of `parts`. */
export function sumOf(m: Map<string, number>, name: string, ...parts: string[]): number {
  let total = 0;
  for (const [k, v] of m) {
    if (k !== name && !k.startsWith(`${name}{`)) continue;
    if (parts.every((p) => k.includes(p))) total += v;
  }
  return total;
}

/** POSTs a node received on the validator-network routes (any status). */
export function p2pPosts(m: Map<string, number>): number {
  return sumOf(m, 'fastpos_http_requests_total', 'route="/p2p/message"') + sumOf(m, 'fastpos_http_requests_total', 'route="/p2p/txs"');
}

export interface TestStream {
  readonly ws: WebSocket;
  /** Resolves with the close code and reason once the stream closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(frame: string | Buffer): Promise<void>;
}

/** Opens a stream to a node's `GET /p2p/stream` (rejects if it is not opened within 5 s). */
export async function openStream(url: string, query = '?v=1'): Promise<TestStream> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/p2p/stream${query}`, { perMessageDeflate: false, handshakeTimeout: 5000 });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered HTTP ${res.statusCode}`)));
    void closed.then(({ code }) => reject(new Error(`closed before opening: ${code}`)));
  });
  return {
    ws,
    closed,
    send: (frame) => new Promise<void>((resolve, reject) => ws.send(frame, (err) => (err ? reject(err) : resolve()))),
  };
}

/** The stream's close, or a failure if it is still open after `ms`. */
export async function closeWithin(s: TestStream, ms: number): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stream is still open after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([s.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
