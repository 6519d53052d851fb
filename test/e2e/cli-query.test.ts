/**
 * The query commands and `tx` against a running node (real child processes,
 * loopback HTTP): after a transfer sent with an uppercase 0x address, the
 * account, the tx and its block show it, readable and as JSON; --dry-run
 * prints a signed tx the node then accepts; the devnet prints its public dev
 * accounts; SIGTERM stops the node with exit code 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import { runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-cli-query-');
const TOKEN = 'cli-query-admin-token-0123456789';
const NO_STACK = /^\s+at /m;

describe('CLI query commands against a running node', () => {
  let node: NodeProcess;
  let txId: string;
  let height: number;
  const to = devAccount(7).address;
  const validator = devValidator(0).address;
  const q = (args: string[]): ReturnType<typeof runCli> => runCli([...args, '--node', node.url]);

  before(async () => {
    node = await spawnNode(tmp(), ['--admin-token', TOKEN]);
    // The address typed as a user may paste it: 0x and uppercase.
    const r = q(['tx', 'transfer', '--dev-account', '0', '--to', '0x' + to.toUpperCase(), '--amount', '1234567', '--wait']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.status, 'finalized');
    assert.equal(out.tx.payload.to, to, 'the wire format has the address lowercase, without 0x');
    txId = out.id;
    height = out.height;
    assert.match(r.stderr.split('\n')[0]!, new RegExp(`^submitted ${txId}, waiting for finality`), 'the id is said at once');
    assert.match(r.stderr, /height \d+, tx (pending|finalized)/, 'progress lines');
    const d = q(['tx', 'delegation-delegate', '--dev-account', '2', '--validator-id', '0X' + validator.toUpperCase(), '--amount', '300', '--wait']);
    assert.equal(d.status, 0, d.stderr);
  });
  after(async () => {
    await node.kill('SIGKILL');
  });

  it('default: the devnet prints the API and explorer URLs and the dev accounts with their (public) keys', () => {
    const text = node.logs.join('\n');
    assert.ok(text.includes(`API       ${node.url}`), text);
    assert.ok(text.includes(`explorer  ${node.url}/explorer`));
    assert.match(text, /PUBLIC, for development only/);
    for (const i of [0, 9]) {
      const line = node.logs.find((l) => l.includes(devAccount(i).address) && l.includes(devAccount(i).privateKey));
      assert.ok(line !== undefined, `dev account ${i} with its key`);
      assert.match(line, /1,000,000,000,000|999,999/);
    }
  });

  it('default: account shows the balance after the transfer (text with separators, and --json)', () => {
    const t = q(['account', '0x' + to.toUpperCase()]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^balance\s+1,000,000,1,234,567$|^balance\s+1,000,001,234,567$/m);
    assert.match(t.stdout, new RegExp(`^address\\s+${to}$`, 'm'));
    const j = q(['account', to, '--json']);
    assert.equal(JSON.parse(j.stdout).balance, String(1_000_000_000_000n + 1_234_567n));
  });

  it('default: tx-status (and tx show) say finalized with the height and result', () => {
    const t = q(['tx-status', txId.toUpperCase()]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^status\s+finalized$/m);
    assert.match(t.stdout, new RegExp(`^height\\s+${height}$`, 'm'));
    assert.match(t.stdout, /^result\s+success$/m);
    const j = JSON.parse(q(['tx', 'show', '0x' + txId, '--json']).stdout);
    assert.equal(j.status, 'finalized');
    assert.equal(j.height, height);
  });

  it('default: block HEIGHT lists the tx and its signer; latest works; --json is the node\'s block', () => {
    const t = q(['block', String(height)]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, new RegExp(`^height\\s+${height}$`, 'm'));
    assert.ok(t.stdout.includes(txId), t.stdout);
    assert.match(t.stdout, /transfer/);
    assert.match(t.stdout, new RegExp(`^signed by\\s+${validator}$`, 'm'));
    const j = JSON.parse(q(['block', String(height), '--json']).stdout);
    assert.equal(j.header.height, height);
    assert.equal(j.txs[0].payload.to, to);
    const l = q(['block', 'latest', '--json']);
    assert.ok(JSON.parse(l.stdout).header.height >= height);
    assert.equal(q(['block']).status, 0);
  });

  it('default: status, validators and delegations', () => {
    const s = q(['status']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /^chain\s+fastpos-devnet$/m);
    assert.match(s.stdout, /^latest height\s+\d+$/m);
    assert.equal(JSON.parse(q(['status', '--json']).stdout).chainId, 'fastpos-devnet');
    const v = q(['validators']);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, new RegExp(`^${validator}\\s+1,000,[03]00\\s+1,000,000\\s+300\\s+10000\\s+active\\s+yes`, 'm'));
    const vj = JSON.parse(q(['validators', '--json']).stdout);
    assert.equal(vj[0].id, validator);
    const d = q(['delegations', '0x' + devAccount(2).address.toUpperCase()]);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`^${validator}\\s+300\\s+300$`, 'm'));
    const dj = JSON.parse(q(['delegations', devAccount(2).address, '--json']).stdout);
    assert.equal(dj.delegations[0].amount, '300');
  });

  it('default: evidence (an admin route) with the admin token; without it a usage error', () => {
    const e = q(['evidence', '--admin-token', TOKEN]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /^seen: 0$/m);
    const none = q(['evidence', '--json']);
    assert.equal(none.status, 2);
    assert.match(none.stderr.split('\n')[0]!, /--admin-token T or FASTPOS_ADMIN_TOKEN/);
    assert.equal(none.stdout, '');
    const j = runCli(['evidence', '--json', '--node', node.url], { FASTPOS_ADMIN_TOKEN: TOKEN });
    assert.equal(j.status, 0, j.stderr);
    assert.equal(JSON.parse(j.stdout).pending.total, 0);
    const bad = q(['evidence', '--admin-token', 'wrong-token-wrong-token']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^fastpos: node answered 403 FORBIDDEN: /);
  });

  it('behavior: --dry-run prints the signed tx without sending it; POST /tx then accepts it as it is', async () => {
    const r = q(['tx', 'transfer', '--dev-account', '5', '--to', '0x' + to, '--amount', '42', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    const tx = JSON.parse(r.stdout);
    assert.equal(tx.kind, 'transfer');
    assert.equal(tx.from, devAccount(5).address);
    assert.equal(tx.payload.to, to);
    assert.equal(typeof tx.signature, 'string');
    const before = JSON.parse(q(['account', devAccount(5).address, '--json']).stdout);
    assert.equal(before.pendingNonce, 0, 'nothing was sent');
    const res = await fetch(`${node.url}/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tx) });
    assert.equal(res.status, 202, await res.text());
    // Offline: nonce, fee and chain id given, no node asked.
    const off = runCli(['tx', 'transfer', '--dev-account', '5', '--to', to, '--amount', '1', '--dry-run', '--nonce', '1', '--fee', '1', '--chain-id', 'fastpos-devnet', '--node', 'http://127.0.0.1:9']);
    assert.equal(off.status, 0, off.stderr);
    assert.equal(JSON.parse(off.stdout).nonce, 1);
  });

  it('error: a node answering an error is one line naming the status and code', () => {
    const r = q(['block', '99999999']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^fastpos: node answered 404 NOT_FOUND: /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  it('behavior: SIGTERM stops fastpos start cleanly: exit code 0 (last, it stops the node)', async () => {
    const code = await node.kill('SIGTERM');
    assert.equal(code, 0, node.logs.slice(-5).join('\n'));
    assert.ok(node.logs.some((l) => l.includes('"msg":"node stopped"')));
  });
});
