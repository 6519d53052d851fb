/**
 * CORS as browsers see it, on real nodes: no CORS headers unless
 * `corsOrigins` is set; with it, exactly the listed origins (or any, with
 * `*`) may read answers, preflights are answered, and no page may send
 * credentials or the admin token; a bad `corsOrigins` stops the node at
 * start with one line naming the key and the entry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-api-cors-');
const ALLOWED = 'https://explorer.example';
const ALSO_ALLOWED = 'http://127.0.0.1:5173';
const OTHER = 'https://evil.example';

/** A preflight as a browser sends it before a cross-origin JSON POST. */
function preflight(url: string, origin: string, requestHeaders = 'content-type'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders } });
}

const corsHeaders = (r: Response): string[] => [...r.headers.keys()].filter((k) => k.startsWith('access-control-'));

describe('e2e: CORS', () => {
  const nodes: NodeProcess[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
  });

  describe('default: off', () => {
    let node: NodeProcess;
    before(async () => {
      node = await spawnNode(tmp());
      nodes.push(node);
    });

    it('a request with an Origin gets no CORS headers, and a preflight is not answered', async () => {
      const r = await fetch(`${node.url}/status`, { headers: { origin: ALLOWED } });
      assert.equal(r.status, 200);
      assert.deepEqual(corsHeaders(r), []);
      const p = await preflight(`${node.url}/tx`, ALLOWED);
      assert.equal(p.status, 404);
      assert.deepEqual(corsHeaders(p), []);
    });
  });

  describe('corsOrigins: a list of origins', () => {
    let node: NodeProcess;
    before(async () => {
      node = await spawnNode(tmp(), ['--cors-origins', `${ALLOWED},${ALSO_ALLOWED}`]);
      nodes.push(node);
    });

    it('a listed origin may read answers, errors included; the answer varies by Origin', async () => {
      for (const origin of [ALLOWED, ALSO_ALLOWED]) {
        const r = await fetch(`${node.url}/status`, { headers: { origin } });
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('access-control-allow-origin'), origin);
        assert.match(r.headers.get('vary') ?? '', /origin/i);
        assert.equal(r.headers.get('access-control-allow-credentials'), null);
        assert.match(r.headers.get('access-control-expose-headers') ?? '', /x-ratelimit-remaining/);
      }
      const missing = await fetch(`${node.url}/blocks/999999`, { headers: { origin: ALLOWED } });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('access-control-allow-origin'), ALLOWED);
    });

    it('another origin gets no Access-Control-Allow-Origin (the browser keeps the answer from the page)', async () => {
      const r = await fetch(`${node.url}/status`, { headers: { origin: OTHER } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      const p = await preflight(`${node.url}/tx`, OTHER);
      assert.equal(p.headers.get('access-control-allow-origin'), null);
    });

    it('a preflight from a listed origin is answered: GET, POST and OPTIONS with content-type, no credentials', async () => {
      const p = await preflight(`${node.url}/tx`, ALLOWED);
      assert.equal(p.status, 204);
      assert.equal(p.headers.get('access-control-allow-origin'), ALLOWED);
      assert.deepEqual((p.headers.get('access-control-allow-methods') ?? '').split(/,\s*/).sort(), ['GET', 'OPTIONS', 'POST']);
      assert.equal(p.headers.get('access-control-allow-headers'), 'content-type');
      assert.equal(p.headers.get('access-control-allow-credentials'), null);
      assert.equal(p.headers.get('access-control-max-age'), '600');
    });

    it('the admin token cannot be sent from a page: authorization is not an allowed request header', async () => {
      const p = await preflight(`${node.url}/admin/production/pause`, ALLOWED, 'authorization,content-type');
      const allowed = (p.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
      assert.equal(allowed.includes('authorization'), false);
      assert.equal(p.headers.get('access-control-allow-credentials'), null);
    });

    it('GET /openapi.json and GET / are readable from a listed origin', async () => {
      for (const path of ['/openapi.json', '/', '/genesis']) {
        const r = await fetch(`${node.url}${path}`, { headers: { origin: ALSO_ALLOWED } });
        assert.equal(r.status, 200, path);
        assert.equal(r.headers.get('access-control-allow-origin'), ALSO_ALLOWED, path);
      }
    });
  });

  describe('corsOrigins: *', () => {
    let node: NodeProcess;
    before(async () => {
      node = await spawnNode(tmp(), ['--cors-origins', '*']);
      nodes.push(node);
    });

    it('any origin may read answers; the preflight allows any origin, still without credentials', async () => {
      const r = await fetch(`${node.url}/status`, { headers: { origin: OTHER } });
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      const p = await preflight(`${node.url}/tx`, OTHER);
      assert.equal(p.status, 204);
      assert.equal(p.headers.get('access-control-allow-origin'), '*');
      assert.equal(p.headers.get('access-control-allow-credentials'), null);
    });
  });

  it('error: a corsOrigins entry that is not an origin stops the node at start with one line naming the key and the entry', () => {
    for (const [value, entry] of [['https://explorer.example/app', '"https://explorer.example/app"'], [`${ALLOWED},localhost:3000`, '"localhost:3000"']] as const) {
      const r = runCli(['start', '--data-dir', tmp(), '--port', '0', '--cors-origins', value]);
      assert.notEqual(r.status, 0, `exits with an error for ${value}`);
      assert.notEqual(r.status, null, `exits at once for ${value} (not killed by the timeout)`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line:\n${r.stderr}`);
      assert.match(lines[0]!, /INVALID_CONFIG: corsOrigins: /);
      assert.ok(lines[0]!.includes(entry), lines[0]);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
