/** The supervisor's control endpoint against hostile requests: wrong token, bad bodies, unknown nodes and routes. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControlServer } from '../../src/cli/testnetControlServer.js';
import type { SupervisedNode } from '../../src/cli/testnetShared.js';

const TOKEN = 'a'.repeat(64);
const calls: string[] = [];
const nodes: SupervisedNode[] = [{ name: 'node0', index: 0, url: 'http://127.0.0.1:1', pid: 123, state: 'running', exit: null, restarts: 0 }];
let server: { url: string; close: () => Promise<void> };

before(async () => {
  server = await startControlServer({
    token: TOKEN,
    status: () => ({ pid: 1, nodes }),
    stop: (n) => (calls.push(`stop ${n}`), Promise.resolve(nodes)),
    restart: (n) => (calls.push(`restart ${n}`), Promise.resolve(nodes)),
    has: (n) => n === 0,
  });
});
after(() => server.close());

async function req(method: string, path: string, body?: string, token: string | null = TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

describe('testnet control endpoint', () => {
  it('listens on 127.0.0.1 only', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('default: status, stop and restart of one node or all', async () => {
    assert.deepEqual((await req('GET', '/status')).json, { pid: 1, nodes });
    assert.equal((await req('POST', '/stop', '{"node":0}')).status, 200);
    assert.equal((await req('POST', '/restart', '')).status, 200);
    assert.equal((await req('POST', '/restart', '{}')).status, 200);
    assert.deepEqual(calls.splice(0), ['stop 0', 'restart undefined', 'restart undefined']);
  });

  it('error: no token or a wrong one is 401, and nothing is done', async () => {
    assert.equal((await req('GET', '/status', undefined, null)).status, 401);
    assert.equal((await req('POST', '/stop', '{}', 'b'.repeat(64))).status, 401);
    assert.equal((await req('POST', '/stop', '{}', 'short')).status, 401);
    assert.deepEqual(calls, []);
  });

  it('error: bad bodies are 400 with a message, unknown nodes 404, unknown routes 404; nothing is done', async () => {
    for (const body of ['{', '[]', '"x"', 'null', '{"node":-1}', '{"node":1.5}', '{"node":"0"}', '{"node":0,"x":1}', 'x'.repeat(5000)]) {
      const r = await req('POST', '/restart', body);
      assert.equal(r.status, 400, body.slice(0, 20));
      assert.equal(typeof r.json.error, 'string');
    }
    assert.equal((await req('POST', '/stop', '{"node":7}')).status, 404);
    assert.equal((await req('GET', '/nope')).status, 404);
    assert.equal((await req('DELETE', '/status')).status, 404);
    assert.deepEqual(calls, []);
  });
});
