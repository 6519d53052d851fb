/**
 * The built-in block explorer (docs/explorer.md): the static files of the
 * repository's `explorer/` folder, served at `/explorer/`. The files are read
 * once when the routes are registered (a few small files, no build step) and
 * each gets a route of its own with a schema, an ETag and `cache-control:
 * no-cache` (a browser revalidates, so a node upgrade is seen at once), and
 * a strict Content-Security-Policy: scripts, styles and requests to this
 * origin only, no inline code, no frames.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as S from './schemas.js';

/** The folder next to `src/` and `dist/`: `<repo>/explorer`, from `src/api/` or `dist/api/`. */
export const EXPLORER_DIR = fileURLToPath(new URL('../../explorer/', import.meta.url));

/** What the explorer's pages may load: this origin only. */
export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Files served: plain names with a known type (so `verify.d.ts`, notes or editor files are not). */
const SERVED = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The explorer's files by name, read from `dir`. */
export function loadExplorerFiles(dir = EXPLORER_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir).sort()) {
    if (!SERVED.test(name)) continue;
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    files.set(name, { body, type: TYPES[extname(name)]!, etag });
  }
  return files;
}

function send(req: FastifyRequest, reply: FastifyReply, f: StaticFile): FastifyReply {
  reply
    .header('content-security-policy', EXPLORER_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .header('etag', f.etag);
  if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
  return reply.type(f.type).send(f.body);
}

/**
 * Registers `GET /explorer` (a redirect to `/explorer/`), `GET /explorer/`
 * (index.html) and `GET /explorer/<file>` for each file of the folder. A
 * node whose installation has no `explorer/` folder serves none of them
 * (their paths answer 404 like any unknown route).
 */
export async function registerExplorer(app: FastifyInstance, dir = EXPLORER_DIR): Promise<void> {
  const files = loadExplorerFiles(dir);
  const index = files.get('index.html');
  if (index === undefined) return;
  const schema = (summary: string) => ({ summary, querystring: S.emptyQuery });
  app.get('/explorer', { schema: schema('The block explorer: redirects to /explorer/') }, async (_req, reply) => reply.header('cache-control', 'no-cache').redirect('/explorer/', 302));
  app.get('/explorer/', { schema: schema('The block explorer (a static page)') }, async (req, reply) => send(req, reply, index));
  for (const [name, f] of files) app.get(`/explorer/${name}`, { schema: schema(`The block explorer's ${name}`) }, async (req, reply) => send(req, reply, f));
}
