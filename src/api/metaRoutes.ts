/**
 * Routes that describe the node and its chain to browsers and tools:
 * `GET /`, the index of every route served (from the routes as registered,
 * never a list kept by hand), and `GET /genesis`, the chain's genesis
 * document in its wire form.
 * @module
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode, FastposError } from '../errors.js';
import { checkGenesisFile } from '../node/genesisFile.js';
import type { FastposNode } from '../node/node.js';
import { encodeGenesis, genesisJsonPieces } from '../state/genesis.js';
import { packageVersion } from './openapi.js';
import type { RouteCatalog, RouteEntry } from './routeCatalog.js';
import * as M from './metaSchemas.js';
import * as S from './schemas.js';

export const LINKS = { openapi: '/openapi.json', explorer: '/explorer', docs: 'docs/api.md (in the fastpos source tree)' } as const;

/** Whether the client asked for a page (a browser's navigation) rather than data. */
function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A plain page listing the routes, for a browser pointed at the node. */
function indexHtml(chainId: string, version: string, routes: readonly RouteEntry[]): string {
  const rows = routes
    .map((r) => {
      const path = escapeHtml(r.path);
      // Only parameterless reads open in a browser as they are.
      const shown = r.method === 'GET' && !r.path.includes(':') ? `<a href="${path}">${path}</a>` : path;
      return `<tr><td>${r.method}</td><td><code>${shown}</code></td><td>${escapeHtml(r.tag)}</td><td>${escapeHtml(r.summary ?? '')}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fastpos ${escapeHtml(version)}: ${escapeHtml(chainId)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td{padding:.15em .8em .15em 0;vertical-align:top}code{font-size:.95em}</style></head>
<body><h1>fastpos ${escapeHtml(version)}</h1>
<p>Chain <code>${escapeHtml(chainId)}</code>. <a href="${LINKS.explorer}">Explorer</a> · <a href="${LINKS.openapi}">OpenAPI document</a> · routes described in ${escapeHtml(LINKS.docs)}</p>
<table><thead><tr><th>method</th><th>path</th><th>tag</th><th>summary</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

export function registerMetaRoutes(app: FastifyInstance, node: FastposNode, catalog: RouteCatalog): void {
  const version = packageVersion();
  const chainId = node.genesis.chainId;

  app.get('/', {
    schema: {
      summary: 'This index: every route with its summary, and links to the OpenAPI document, the explorer and the docs',
      description: 'JSON, or a plain HTML page when the request prefers text/html (a browser).',
      querystring: S.emptyQuery,
      response: { 200: M.routeIndexResponse },
    },
  }, async (req, reply) => {
    // Read at request time: by then every route is registered.
    const routes = catalog.routes;
    if (wantsHtml(req)) return reply.type('text/html; charset=utf-8').send(indexHtml(chainId, version, routes));
    return { name: 'fastpos', version, chainId, links: LINKS, routes };
  });

  // The genesis never changes while the node runs: serialized once when its accounts are in memory; a large
  // genesis (its accounts read from its file again) is streamed in pieces, to one client at a time.
  let genesisText: string | undefined;
  let streaming = false;
  app.get('/genesis', {
    schema: {
      summary: 'The chain\'s genesis document in its wire form (its hash is /status genesisHash)',
      querystring: S.emptyQuery,
      response: { 200: M.genesisResponse },
    },
  }, async (_req, reply) => {
    const g = node.genesis;
    reply.type('application/json; charset=utf-8');
    if (Array.isArray(g.accounts)) {
      genesisText ??= JSON.stringify(encodeGenesis(g));
      return reply.send(genesisText);
    }
    if (streaming) throw new FastposError(ErrorCode.RATE_LIMITED, 'the genesis is being sent to another client: try again when that is done');
    try {
      checkGenesisFile(g);
    } catch (e) {
      // The node's own file, changed under it: a fault of the node, not of the request.
      throw e instanceof FastposError ? new FastposError(ErrorCode.CORRUPT_DATA, e.message) : e;
    }
    streaming = true;
    // One piece (a few hundred KiB) made ahead of the socket at a time.
    const body = Readable.from(genesisJsonPieces(g), { highWaterMark: 1 });
    body.once('close', () => {
      streaming = false;
    });
    return reply.send(body);
  });
}
