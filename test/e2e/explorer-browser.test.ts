/**
 * The built-in explorer in a real browser: a devnet node as a child process,
 * headless Chromium (the system's, through playwright-core) on its
 * /explorer/ pages. The latest blocks update live, a transfer sent meanwhile
 * appears without a reload, its tx page shows it finalized with its block's
 * certificate verified in the browser, the block page lists the signers, the
 * account page the new balance; search takes a height, a tx id and an
 * uppercase 0x address; a settlement whose reference is markup is shown as
 * text; a node that goes away is shown in a banner. No console error, no
 * failed request and no request to another origin on the way. Screenshots go
 * to test-output/explorer/. On a three-validator network, a block page checks
 * each signer of the certificate, and a page whose node restarts recovers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { FastposClient } from '../../src/client/index.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import { launchChromium, outputDir, watchPage } from '../helpers/browser.js';
import { waitForHeight, withNetwork } from '../helpers/network.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-explorer-');
const WAIT = { timeout: 20_000 };
/** A fresh account: its balance is exactly what it receives. */
const TO = '5eed'.repeat(10);
const AMOUNT = 123_456n;
const HOSTILE_REF = '<img/src=x/onerror=window.__xss=1><script>window.__xss=2</script>';

/** Height of the newest row of the latest-blocks table. */
const newestHeight = async (page: Page): Promise<number> => Number(await page.getAttribute('[data-testid=latest-blocks] tbody tr', 'data-height'));

/**
 * The little of the DOM that waits running in the page use (the tests are
 * compiled without the DOM's types). The page's CSP forbids string
 * evaluation, so waits are functions, and refer to nothing outside them.
 */
type Doc = { document: { querySelector(s: string): { dataset: Record<string, string>; textContent: string | null } | null } };

describe('explorer in headless Chromium (child node, loopback HTTP)', () => {
  let node: NodeProcess;
  before(async () => {
    node = await spawnNode(tmp());
  });
  after(async () => {
    await node?.kill();
  });

  it('default: /explorer/ serves the static files with a strict CSP, ETags and no other file', async () => {
    const redirect = await fetch(`${node.url}/explorer`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/explorer/');
    const index = await fetch(`${node.url}/explorer/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await index.text(), /<script type="module" src="app.js"><\/script>/);
    const app = await fetch(`${node.url}/explorer/app.js`);
    assert.match(app.headers.get('content-type') ?? '', /^text\/javascript/);
    const etag = app.headers.get('etag');
    assert.ok(etag !== null);
    const again = await fetch(`${node.url}/explorer/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    for (const path of ['/explorer/verify.d.ts', '/explorer/..%2fpackage.json', '/explorer/nope.js']) {
      const r = await fetch(`${node.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
    const q = await fetch(`${node.url}/explorer/app.js?x=1`);
    assert.equal(q.status, 400);
  });

  it('behavior: live blocks and txs, tx and block pages verified in the browser, account, validators, search, product, hostile text, node gone', async () => {
    const shots = outputDir('explorer');
    const origin = new URL(node.url).origin;
    const client = new FastposClient(node.url);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      const page = await context.newPage();
      const watch = watchPage(page, origin);

      // Home: the latest blocks grow without a reload.
      const res = await page.goto(`${node.url}/explorer`);
      assert.match(res?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
      await page.waitForSelector('[data-testid=latest-blocks] tbody tr', WAIT);
      assert.equal(await page.textContent('[data-testid=chain-id]'), 'fastpos-devnet');
      const first = await newestHeight(page);
      await page.waitForFunction((h) => Number((globalThis as unknown as Doc).document.querySelector('[data-testid=latest-blocks] tbody tr')?.dataset.height) > h, first, WAIT);

      // A transfer appears in the latest txs without a reload.
      const sent = await client.transfer(devAccount(0).privateKey, { to: TO, amount: AMOUNT });
      await page.waitForSelector(`[data-testid=latest-txs] tr[data-id="${sent.id}"]`, WAIT);
      await page.screenshot({ path: join(shots, 'home.png') });

      // Its page: finalized, and the proof that its block is certified, checked here.
      await page.click(`[data-testid=latest-txs] tr[data-id="${sent.id}"] a[href="#/tx/${sent.id}"]`);
      await page.waitForSelector('[data-testid=verify-result][data-ok=true]', WAIT);
      const verdict = (await page.textContent('[data-testid=verify-result]')) ?? '';
      assert.match(verdict, /certified: 1 of 1 validators, 100% of power ≥ 2\/3 — signatures verified in your browser/);
      assert.match((await page.textContent('[data-testid=tx-fields]')) ?? '', /finalized/);
      await page.click('details summary');
      assert.match((await page.textContent('.checks')) ?? '', /tx in block/);
      await page.screenshot({ path: join(shots, 'tx.png'), fullPage: true });

      // Its block: header and signers.
      const st = await client.waitForTx(sent.id);
      assert.equal(st.status, 'finalized');
      const height = st.height!;
      await page.click(`[data-testid=tx-fields] a[href="#/block/${height}"]`);
      await page.waitForSelector('[data-testid=signers] tbody tr[data-ok=true]', WAIT);
      assert.equal(await page.textContent('h1'), `Block #${height}`);
      assert.equal(await page.getAttribute('[data-testid=signers] tbody tr', 'data-validator'), devValidator(0).address);
      await page.waitForSelector(`[data-testid=block-txs] tr[data-id="${sent.id}"]`, WAIT);
      await page.waitForSelector('[data-testid=verify-result][data-ok=true]', WAIT);
      await page.screenshot({ path: join(shots, 'block.png'), fullPage: true });

      // Search: an uppercase 0x address opens the account page with the new balance and the tx.
      await page.fill('#q', `0x${TO.toUpperCase()}`);
      await page.press('#q', 'Enter');
      await page.waitForSelector(`[data-testid=account-txs] tr[data-id="${sent.id}"]`, WAIT);
      assert.equal(await page.textContent('[data-testid=balance]'), '123,456');
      assert.equal(page.url().split('#')[1], `/account/${TO}`);
      await page.screenshot({ path: join(shots, 'account.png'), fullPage: true });

      // Search by height and by tx id (uppercase).
      await page.fill('#q', String(height));
      await page.press('#q', 'Enter');
      await page.waitForFunction((h) => (globalThis as unknown as Doc).document.querySelector('h1')?.textContent === `Block #${h}`, height, WAIT);
      await page.fill('#q', sent.id.toUpperCase());
      await page.press('#q', 'Enter');
      await page.waitForSelector(`[data-testid=verify-result][data-ok=true]`, WAIT);
      assert.equal(page.url().split('#')[1], `/tx/${sent.id}`);
      await page.fill('#q', 'not-a-thing');
      await page.press('#q', 'Enter');
      await page.waitForSelector('#search-msg:not([hidden])', WAIT);

      // Validators: power, work weight, status, missed blocks.
      await page.click('nav a[data-nav=validators]');
      await page.waitForSelector(`[data-testid=validators] tr[data-id="${devValidator(0).address}"]`, WAIT);
      const row = (await page.textContent(`[data-testid=validators] tr[data-id="${devValidator(0).address}"]`)) ?? '';
      assert.match(row, /active/);
      assert.match(row, /1\.00×/);
      await page.screenshot({ path: join(shots, 'validators.png'), fullPage: true });

      // A settlement whose reference is markup: shown as text, nothing runs.
      const settle = await client.settle(devAccount(2).privateKey, { validatorId: devValidator(0).address, amount: 1000n, reference: HOSTILE_REF });
      await client.waitForTx(settle.id, { timeoutMs: 20_000 });
      await page.goto(`${node.url}/explorer/#/tx/${settle.id}`);
      await page.waitForSelector('[data-testid=tx-fields]', WAIT);
      assert.ok(((await page.textContent('[data-testid=tx-fields]')) ?? '').includes(HOSTILE_REF));
      assert.equal(await page.$$eval('main img, main script', (els) => els.length), 0);
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);

      // Product pages: the oracle set and the lists.
      await page.click('nav a[data-nav=product]');
      await page.waitForSelector('[data-testid=product-settlements]', WAIT);
      assert.ok(((await page.textContent('[data-testid=product-settlements]')) ?? '').includes(HOSTILE_REF));
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
      await page.screenshot({ path: join(shots, 'product.png'), fullPage: true });

      // A node that serves a block with a forged signature: the block page says it is not verified, and which signer fails.
      const blockPath = `/blocks/${height}`;
      await page.route((u) => u.pathname === blockPath, async (route) => {
        const answer = await route.fetch();
        const b = (await answer.json()) as { commit: { signatures: { signature: string }[] } };
        const sig = b.commit.signatures[0]!;
        sig.signature = (sig.signature.startsWith('0') ? '1' : '0') + sig.signature.slice(1);
        await route.fulfill({ response: answer, json: b });
      });
      await page.fill('#q', String(height));
      await page.press('#q', 'Enter');
      await page.waitForSelector('[data-testid=verify-result][data-ok=false]', WAIT);
      assert.match((await page.textContent('[data-testid=verify-result]')) ?? '', /NOT verified: signatures/);
      assert.match((await page.textContent('[data-testid=signers] tbody tr[data-ok=false]')) ?? '', /bad signature/);
      await page.screenshot({ path: join(shots, 'block-forged.png') });
      await page.unrouteAll();

      assert.deepEqual(watch.problems, [], 'no console error, failed request, error answer or other origin');
      assert.ok(watch.requests.every((u) => u.startsWith(origin)));

      // The node goes away: the page says so instead of failing.
      watch.stop();
      await node.kill();
      await page.waitForSelector('#banner:not([hidden])', WAIT);
      assert.match((await page.textContent('#banner')) ?? '', /does not answer/);
      await page.screenshot({ path: join(shots, 'node-gone.png') });
      console.log(`explorer screenshots: ${shots}`);
    } finally {
      await browser?.close();
    }
  });
});

describe('explorer in headless Chromium on a three-validator network', () => {
  it('behavior: a block certified by the three validators, verified signer by signer; the page recovers when its node restarts', async () => {
    await withNetwork({ n: 3 }, async (net) => {
      const n0 = net.nodes[0]!;
      const origin = new URL(n0.url).origin;
      await waitForHeight(net.nodes, 3, 20_000);
      let browser: Browser | undefined;
      try {
        browser = await launchChromium();
        const page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
        const watch = watchPage(page, origin);
        await page.goto(`${n0.url}/explorer/#/block/2`);
        await page.waitForSelector('[data-testid=verify-result][data-ok=true]', WAIT);
        // Every signer of the certificate verified; at least 2/3 of the power signed (a late precommit may be missing).
        assert.match((await page.textContent('[data-testid=verify-result]')) ?? '', /certified: [23] of 3 validators, (66\.7|100)% of power ≥ 2\/3/);
        await page.screenshot({ path: join(outputDir('explorer'), 'block-3-validators.png'), fullPage: true });
        const signers = await page.$$eval('[data-testid=signers] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-ok')));
        assert.ok(signers.length >= 2 && signers.every((ok) => ok === 'true'), JSON.stringify(signers));
        await page.click('nav a[data-nav=validators]');
        await page.waitForSelector('[data-testid=validators] tbody tr:nth-child(3)', WAIT);
        for (const v of net.nodes) assert.ok(await page.$(`[data-testid=validators] tr[data-id="${v.validatorId}"]`), v.validatorId);
        assert.deepEqual(watch.problems, []);

        // The node behind the page stops, then comes back on the same port: the banner comes and goes, the page goes on.
        await page.click('nav a[data-nav=""]');
        await page.waitForSelector('[data-testid=latest-blocks] tbody tr', WAIT);
        watch.stop();
        await n0.kill('SIGKILL');
        await page.waitForSelector('#banner:not([hidden])', WAIT);
        const before = await newestHeight(page);
        await n0.restart();
        await page.waitForSelector('#banner', { state: 'hidden', timeout: 30_000 });
        await page.waitForFunction((h) => Number((globalThis as unknown as Doc).document.querySelector('[data-testid=latest-blocks] tbody tr')?.dataset.height) > h, before, { timeout: 30_000 });
      } finally {
        await browser?.close();
      }
    });
  });
});
