/**
 * What a running node says about its own API: `GET /openapi.json` is a valid
 * OpenAPI 3 document holding every route the node serves, `GET /` lists
 * those routes (JSON for tools, a page for browsers), and `GET /genesis` is
 * the genesis document whose hash `/status` reports.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { decodeGenesis, genesisHash } from '../../src/state/genesis.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-api-openapi-');
const ADMIN_TOKEN = 'openapi-test-admin-token';
const PKG_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface IndexRoute {
  method: string;
  path: string;
  tag: string;
  summary?: string;
}
interface RouteIndex {
  name: string;
  version: string;
  chainId: string;
  links: { openapi: string; explorer: string; docs: string };
  routes: IndexRoute[];
}
type Operation = { tags?: string[]; summary?: string; security?: Record<string, string[]>[]; parameters?: { in: string; name: string }[] };
interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; type: string | null }> {
  const r = await fetch(url, { headers });
  return { status: r.status, type: r.headers.get('content-type'), body: (await r.json()) as T };
}

/** `/sync/snapshots/:height/chunks/:index` as OpenAPI writes it: `/sync/snapshots/{height}/chunks/{index}`. */
const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('e2e: the API describes itself', () => {
  let node: NodeProcess;
  let index: RouteIndex;
  let doc: OpenApiDoc;

  before(async () => {
    // Every group of routes is registered: admin (with a token), dev, validator network, metrics.
    node = await spawnNode(tmp(), ['--admin-token', ADMIN_TOKEN, '--dev-signing', '--metrics']);
    const i = await getJson<RouteIndex>(`${node.url}/`);
    assert.equal(i.status, 200);
    index = i.body;
    const d = await getJson<OpenApiDoc>(`${node.url}/openapi.json`);
    assert.equal(d.status, 200);
    assert.match(d.type ?? '', /^application\/json/);
    doc = d.body;
  });
  after(async () => {
    await node?.kill();
  });

  it('/openapi.json: a valid OpenAPI 3 document (checked against the OpenAPI schema)', async () => {
    const v = new Validator();
    const res = await v.validate(doc as unknown as Record<string, unknown>);
    assert.equal(res.valid, true, `the document is not valid OpenAPI:\n${JSON.stringify(res.errors, null, 2)}`);
    assert.match(doc.openapi, /^3\.1\./);
    assert.equal(doc.info.title, 'fastpos');
    assert.equal(doc.info.version, PKG_VERSION);
  });

  it('/openapi.json: holds every route the node registered, each method of each path', () => {
    assert.ok(index.routes.length >= 50, `only ${index.routes.length} routes listed`);
    const missing = index.routes.filter((r) => doc.paths[openApiPath(r.path)]?.[r.method.toLowerCase()] === undefined);
    assert.deepEqual(missing, [], 'routes missing from /openapi.json');
    // …and nothing else: no HEAD twins, no hidden routes.
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${p}`));
    assert.deepEqual(documented.sort(), index.routes.map((r) => `${r.method} ${openApiPath(r.path)}`).sort());
  });

  it('/openapi.json: path parameters, tags by audience, the admin bearer scheme on admin operations', () => {
    const chunk = doc.paths['/sync/snapshots/{height}/chunks/{index}']?.get;
    assert.deepEqual(chunk?.parameters?.filter((p) => p.in === 'path').map((p) => p.name).sort(), ['height', 'index']);
    assert.deepEqual(doc.components?.securitySchemes?.adminToken, { type: 'http', scheme: 'bearer', description: "The node's adminToken (config key adminToken)." });
    const op = (method: string, path: string): Operation | undefined => doc.paths[path]?.[method];
    assert.deepEqual(op('get', '/status')?.tags, ['public']);
    assert.deepEqual(op('post', '/p2p/message')?.tags, ['validator-network']);
    assert.deepEqual(op('get', '/sync/blocks')?.tags, ['validator-network']);
    assert.deepEqual(op('post', '/dev/transfer')?.tags, ['dev']);
    for (const [method, path] of [['post', '/admin/production/pause'], ['post', '/admin/validators/{id}/jail'], ['get', '/admin/evidence'], ['post', '/p2p/peers']] as const) {
      assert.deepEqual(op(method, path)?.tags, ['admin'], `${method} ${path}`);
      assert.deepEqual(op(method, path)?.security, [{ adminToken: [] }], `${method} ${path}`);
    }
    assert.equal(op('get', '/status')?.security, undefined);
    // The main routes say what they do.
    for (const [method, path] of [['post', '/tx'], ['get', '/tx'], ['get', '/blocks/{height}'], ['get', '/accounts/{address}'], ['get', '/genesis'], ['get', '/validators']] as const) {
      assert.ok((op(method, path)?.summary ?? '').length > 0, `${method} ${path} has a summary`);
    }
  });

  it('GET /: lists every group of routes with method, path, tag and summary, and links to the document, explorer and docs', () => {
    assert.equal(index.name, 'fastpos');
    assert.equal(index.version, PKG_VERSION);
    assert.equal(index.chainId, 'fastpos-devnet');
    assert.deepEqual(index.links, { openapi: '/openapi.json', explorer: '/explorer', docs: 'docs/api.md (in the fastpos source tree)' });
    const has = (method: string, path: string): boolean => index.routes.some((r) => r.method === method && r.path === path);
    for (const [method, path] of [
      ['GET', '/'], ['GET', '/openapi.json'], ['GET', '/genesis'], ['POST', '/tx'], ['GET', '/status'], ['GET', '/metrics'],
      ['GET', '/validators/:id'], ['GET', '/product/oracles'], ['POST', '/p2p/message'], ['GET', '/sync/snapshots/:height/chunks/:index'],
      ['POST', '/admin/backup'], ['GET', '/admin/epochs/next'], ['POST', '/dev/transfer'],
    ]) {
      assert.ok(has(method!, path!), `${method} ${path} is listed`);
    }
    assert.equal(index.routes.filter((r) => r.method === 'HEAD' || r.method === 'OPTIONS').length, 0, 'no HEAD or OPTIONS twins');
    const keys = new Set(index.routes.map((r) => `${r.method} ${r.path}`));
    assert.equal(keys.size, index.routes.length, 'each route once');
    const unsummarized = index.routes.filter((r) => r.summary === undefined).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(unsummarized, [], 'every route has a summary');
  });

  it('GET /: a browser (Accept: text/html) gets a page listing the same routes', async () => {
    const r = await fetch(`${node.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const html = await r.text();
    assert.match(html, /<a href="\/openapi.json">/);
    assert.match(html, /<a href="\/explorer">/);
    for (const route of index.routes) assert.ok(html.includes(route.path), `${route.path} is on the page`);
    // Anything else (curl's */*, a JSON client) gets JSON.
    const j = await getJson<RouteIndex>(`${node.url}/`, { accept: '*/*' });
    assert.match(j.type ?? '', /^application\/json/);
    assert.deepEqual(j.body, index);
  });

  it('GET /genesis: the genesis document in its wire form; its hash is /status genesisHash', async () => {
    const g = await getJson<Record<string, unknown>>(`${node.url}/genesis`);
    assert.equal(g.status, 200);
    assert.match(g.type ?? '', /^application\/json/);
    const status = await getJson<{ genesisHash: string; chainId: string }>(`${node.url}/status`);
    const genesis = decodeGenesis(g.body);
    assert.equal(genesis.chainId, status.body.chainId);
    assert.equal(genesisHash(genesis), status.body.genesisHash);
    // Amounts are decimal strings on the wire.
    assert.equal(typeof (g.body.params as { minFee: unknown }).minFee, 'string');
  });

  it('error: the new routes take no query parameters, and say so', async () => {
    for (const path of ['/?x=1', '/genesis?x=1', '/openapi.json?x=1']) {
      const r = await getJson<{ error: { code: string; message: string } }>(`${node.url}${path}`);
      assert.equal(r.status, 400, path);
      assert.equal(r.body.error.code, 'INVALID_REQUEST', path);
      assert.match(r.body.error.message, /querystring\/x is not a parameter of this route/);
    }
  });
});
