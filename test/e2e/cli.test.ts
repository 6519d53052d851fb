import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FastposClient } from '../../src/client/index.js';
import { devAccount, devValidatorPrivateKey } from '../../src/crypto/keys.js';
import { defaultDevnetGenesis, encodeGenesis } from '../../src/state/genesis.js';
import { runCli, spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-e2e-');

describe('CLI end to end (child processes, loopback HTTP)', () => {
  it('default: the README flow on the default devnet: start, transfer with the CLI, see it finalized', async () => {
    const dir = tmp();
    const node = await spawnNode(dir);
    try {
      const to = devAccount(1).address;
      const r = runCli(['tx', 'transfer', '--dev-account', '0', '--to', to, '--amount', '1000', '--node', node.url, '--wait']);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.status, 'finalized');
      assert.equal(out.success, true);
      const acc = await new FastposClient(node.url).account(to);
      assert.equal(acc.balance, String(1_000_000_000_000n + 1000n));
    } finally {
      await node.kill();
    }
  });

  it('behavior: init writes config, genesis and keys; the node starts on them; a key-file transfer finalizes', async () => {
    const dir = tmp();
    const init = runCli(['init', '--data-dir', dir, '--chain-id', 'acme-devnet']);
    assert.equal(init.status, 0, init.stderr);
    const info = JSON.parse(init.stdout);
    const again = runCli(['init', '--data-dir', dir]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exist/);
    const shown = runCli(['keys', 'show', '--file', join(dir, 'account_key.json')]);
    assert.equal(JSON.parse(shown.stdout).address, info.account);
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    assert.equal(genesis.validators[0].rewardAddress, info.account, 'the funded account operates the validator');
    const node = await spawnNode(dir);
    try {
      const st = await new FastposClient(node.url).status();
      assert.equal(st.chainId, 'acme-devnet');
      assert.equal(st.genesisHash, info.genesisHash);
      const r = runCli(['tx', 'transfer', '--key-file', join(dir, 'account_key.json'), '--to', devAccount(3).address, '--amount', '5', '--node', node.url, '--wait']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).status, 'finalized');
    } finally {
      await node.kill();
    }
  });

  it('behavior: init and testnet init give the chain the protocol-owned treasury (a module account), funded with --treasury-balance', async () => {
    const treasury = createHash('sha256').update('fastpos/module/treasury').digest('hex').slice(0, 40);
    const dir = tmp();
    const init = runCli(['init', '--data-dir', dir, '--chain-id', 'acme-devnet', '--treasury-balance', '5000']);
    assert.equal(init.status, 0, init.stderr);
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    assert.equal(genesis.treasury, treasury);
    assert.deepEqual(genesis.accounts.find((a: { address: string }) => a.address === treasury), { address: treasury, balance: '5000' });
    const node = await spawnNode(dir);
    try {
      const a = (await (await fetch(`${node.url}/accounts/${treasury}`)).json()) as { balance: string };
      assert.equal(a.balance, '5000');
    } finally {
      await node.kill();
    }
    const net = tmp();
    const t = runCli(['testnet', 'init', '--validators', '2', '--dir', net]);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(JSON.parse(readFileSync(join(net, 'genesis.json'), 'utf8')).treasury, treasury);
    const bad = runCli(['init', '--data-dir', tmp(), '--treasury-balance', '1e9']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--treasury-balance must be a decimal string/);
  });

  it('keys generate writes a key file that keys show reads', () => {
    const dir = tmp();
    const file = join(dir, 'k.json');
    const g = runCli(['keys', 'generate', '--out', file]);
    assert.equal(g.status, 0, g.stderr);
    const s = runCli(['keys', 'show', '--file', file]);
    assert.equal(JSON.parse(s.stdout).address, JSON.parse(g.stdout).address);
    assert.ok(!s.stdout.includes('privateKey'));
  });

  it('error: bad flags, unknown config keys and bad config values exit 2 with a message naming them', () => {
    const dir = tmp();
    let r = runCli(['start', '--data-dir', dir, '--port', 'abc']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port/);
    r = runCli(['start', '--data-dir', dir, '--mempool-max-tx', '5']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /mempool-max-tx/);
    writeFileSync(join(dir, 'config.yaml'), 'prot: 5\n');
    r = runCli(['start', '--data-dir', dir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /prot/);
    r = runCli(['start', '--data-dir', tmp()], { FASTPOS_STATE_BACKEND: 'mysql' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /FASTPOS_STATE_BACKEND/);
    r = runCli(['frobnicate']);
    assert.equal(r.status, 2);
    r = runCli(['tx', 'transfer', '--to', 'xyz', '--amount', '1', '--dev-account', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--to/);
  });

  it('error: a broken genesis file is refused, naming the file and the field', () => {
    const dir = tmp();
    const g = encodeGenesis(defaultDevnetGenesis()) as any;
    g.validators[0].stake = 'lots';
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(g));
    const r = runCli(['start', '--data-dir', dir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /genesis\.json/);
    assert.match(r.stderr, /validators\[0\]\.stake/);
  });

  it('error: a non-devnet chain that funds the public dev keys needs --allow-dev-keys', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify({ ...encodeGenesis(defaultDevnetGenesis()), chainId: 'acme-mainnet' }));
    const r = runCli(['start', '--data-dir', dir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /allow-dev-keys/);
    const node = await spawnNode(dir, ['--allow-dev-keys', '--validator-key-file', writeDevValidatorKey(dir)]);
    await node.kill();
  });

  it('error: a data dir of another genesis is refused', async () => {
    const dir = tmp();
    const node = await spawnNode(dir);
    await node.kill();
    const g = encodeGenesis(defaultDevnetGenesis()) as any;
    g.genesisTime += 1;
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(g));
    const r = runCli(['start', '--data-dir', dir]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /genesis/);
    assert.ok(readFileSync(join(dir, 'genesis.json')).length > 0);
  });
});

function writeDevValidatorKey(dir: string): string {
  const f = join(dir, 'val.json');
  writeFileSync(f, JSON.stringify({ privateKey: devValidatorPrivateKey(0) }));
  return f;
}
