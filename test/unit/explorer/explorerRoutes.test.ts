/**
 * The explorer's static routes (src/api/explorerRoutes.ts) on a bare Fastify
 * app: which files of the folder are served, with what headers, and that a
 * folder without index.html serves nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { EXPLORER_CSP, EXPLORER_DIR, loadExplorerFiles, registerExplorer } from '../../../src/api/explorerRoutes.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-explorer-files-');

function folder(files: Record<string, string>): string {
  const dir = tmp();
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

describe('explorer routes', () => {
  it('default: the repository folder holds the pages, and only servable names are loaded', () => {
    const names = [...loadExplorerFiles(EXPLORER_DIR).keys()];
    for (const f of ['index.html', 'app.js', 'verify.js', 'style.css', 'favicon.svg']) assert.ok(names.includes(f), f);
    assert.ok(!names.includes('verify.d.ts'));
  });

  it('behavior: each file by its own route, with its type, CSP, ETag and revalidation; other names are not served', async () => {
    const dir = folder({ 'index.html': '<!doctype html><title>x</title>', 'app.js': 'export {};', 'notes.txt': 'no', 'types.d.ts': 'no', '.hidden.js': 'no' });
    const app = Fastify();
    await registerExplorer(app, dir);
    const index = await app.inject('/explorer/');
    assert.equal(index.statusCode, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['content-security-policy'], EXPLORER_CSP);
    assert.match(EXPLORER_CSP, /^default-src 'self';/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    const js = await app.inject('/explorer/app.js');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.body, 'export {};');
    const again = await app.inject({ url: '/explorer/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const redirect = await app.inject('/explorer');
    assert.equal(redirect.statusCode, 302);
    assert.equal(redirect.headers.location, '/explorer/');
    for (const name of ['notes.txt', 'types.d.ts', '.hidden.js', '../package.json']) {
      assert.equal((await app.inject(`/explorer/${name}`)).statusCode, 404, name);
    }
    await app.close();
  });

  it('behavior: a folder without index.html (or no folder) serves no explorer', async () => {
    for (const dir of [folder({ 'app.js': 'x' }), join(tmp(), 'missing')]) {
      const app = Fastify();
      await registerExplorer(app, dir);
      assert.equal((await app.inject('/explorer/')).statusCode, 404);
      assert.equal((await app.inject('/explorer/app.js')).statusCode, 404);
      await app.close();
    }
  });
});
