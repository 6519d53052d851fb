/**
 * The supervisor's control endpoint: a small HTTP server on 127.0.0.1 (a
 * random port) that `fastpos testnet stop|restart|status` talk to. Every
 * request carries `Authorization: Bearer <token>` (the token is in the
 * supervisor's 0600 file DIR/supervisor.json). Routes:
 *
 * - `GET /status` → `{pid, dir, stopping, nodes: [{name, index, url, pid, state, exit, restarts}]}`
 * - `POST /stop` with `{}` (all nodes: the supervisor then exits) or `{"node": N}`
 * - `POST /restart` with `{}` (every node in turn) or `{"node": N}`
 *
 * Bodies are JSON objects of at most 1 KiB whose only key is `node` (an integer);
 * anything else is a 400 with `{error}`; an unknown node a 404.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SupervisedNode } from './testnetShared.js';

const MAX_BODY = 1024;

export interface ControlHandlers {
  readonly token: string;
  readonly status: () => unknown;
  readonly stop: (node: number | undefined) => Promise<SupervisedNode[]>;
  readonly restart: (node: number | undefined) => Promise<SupervisedNode[]>;
  readonly has: (node: number) => boolean;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}

function authorized(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
  const given = Buffer.from(h.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Reads a body of at most MAX_BODY bytes; `{node?: integer}` or an error message. */
function readBody(req: IncomingMessage): Promise<{ node: number | undefined } | string> {
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // Answer at once; the rest is read and dropped, and the connection closes after the answer.
        done(`body larger than ${MAX_BODY} bytes`);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => done('body not readable'));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return done({ node: undefined });
      let j: unknown;
      try {
        j = JSON.parse(text);
      } catch {
        return done('body is not JSON');
      }
      if (typeof j !== 'object' || j === null || Array.isArray(j)) return done('body must be a JSON object');
      const keys = Object.keys(j);
      if (keys.some((k) => k !== 'node')) return done(`unknown field "${keys.find((k) => k !== 'node')}" (expected only "node")`);
      const node = (j as { node?: unknown }).node;
      if (node === undefined) return done({ node: undefined });
      if (typeof node !== 'number' || !Number.isSafeInteger(node) || node < 0) return done('"node" must be a non-negative integer');
      done({ node });
    });
  });
}

/** Starts the control endpoint on 127.0.0.1 (port chosen by the OS). */
export async function startControlServer(h: ControlHandlers): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (!authorized(req, h.token)) return send(res, 401, { error: 'missing or wrong bearer token' });
        const path = (req.url ?? '').split('?')[0];
        if (req.method === 'GET' && path === '/status') return send(res, 200, h.status());
        if (req.method === 'POST' && (path === '/stop' || path === '/restart')) {
          const body = await readBody(req);
          if (typeof body === 'string') return send(res, 400, { error: body });
          if (body.node !== undefined && !h.has(body.node)) return send(res, 404, { error: `no node${body.node} in this testnet` });
          const nodes = await (path === '/stop' ? h.stop(body.node) : h.restart(body.node));
          return send(res, 200, { nodes });
        }
        return send(res, 404, { error: `no route ${req.method ?? '?'} ${path ?? ''}` });
      } catch (e) {
        if (!res.headersSent) send(res, 500, { error: (e as Error).message });
      }
    })();
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
