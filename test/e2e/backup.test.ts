/**
 * Backups end to end, on a real `fastpos start` process: scheduled backups
 * every 5 blocks with the newest 2 kept; `backup create` through the admin
 * API; `backup verify` (and a tampered copy refused); `backup restore`
 * refused while the node runs and for a backup older than the double-sign
 * guard (unless --force-older-than-guard); a damaged store restored from the
 * newest backup, after which the node resumes with every earlier tx in place
 * and the guard record untouched.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FastposClient, signTransfer } from '../../src/client/index.js';
import { devAccount } from '../../src/crypto/keys.js';
import { runCli, spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-backup-e2e-');
const TOKEN = 'backup-test-admin-token-0123456789';

async function status(url: string): Promise<{ latestHeight: number; stateRoot: string; latestHash?: string }> {
  return (await (await fetch(`${url}/status`)).json()) as { latestHeight: number; stateRoot: string };
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function json(r: { status: number | null; stdout: string; stderr: string }): any {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('fastpos backup (e2e)', { timeout: 180_000 }, () => {
  it('behavior: scheduled backups, verify, restore refusals, and a restore after damage from which the node resumes', async () => {
    const dir = tmp();
    const flags = ['--backup-every-blocks', '5', '--backup-keep', '2', '--admin-token', TOKEN, '--idle-block-interval-ms', '100'];
    let node = await spawnNode(dir, flags);
    const txs = new Map<string, number>();
    let height: number;
    let oldest: string;
    let oldestHeight: number;
    try {
      const client = new FastposClient(node.url, { timeoutMs: 5000 });
      const st = await client.status();
      for (let i = 0; i < 6; i++) {
        const { tx } = signTransfer(devAccount(i).privateKey, { chainId: st.chainId, nonce: 0, to: devAccount(9).address, amount: 100n + BigInt(i), fee: 1n });
        const r = await client.submitTx(tx);
        txs.set(r.id, -1);
      }
      await waitFor('txs finalized', async () => {
        for (const id of txs.keys()) {
          const t = (await (await fetch(`${node.url}/tx?id=${id}`)).json()) as { status: string; height?: number };
          if (t.status !== 'finalized') return false;
          txs.set(id, t.height!);
        }
        return true;
      });
      await waitFor('height 17', async () => (await status(node.url)).latestHeight >= 17);
      // Production paused (no more rotation while the test reads the backups), and no backup being written.
      const paused = await fetch(`${node.url}/admin/production/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(paused.status, 200);
      await waitFor('no backup being written', async () => !readdirSync(join(dir, 'backups')).some((n) => n.startsWith('.tmp-')));

      // Scheduled: the newest two kept.
      const listed = json(runCli(['backup', 'list', '--data-dir', dir, '--json']));
      const scheduled = listed.backups.filter((b: any) => b.trigger === 'scheduled');
      assert.equal(scheduled.length, 2, JSON.stringify(listed));
      for (const b of scheduled) assert.equal(b.backend, 'sqlite');
      const human = runCli(['backup', 'list', '--data-dir', dir]);
      assert.equal(human.status, 0, human.stderr);
      assert.match(human.stdout, /HEIGHT\s+CREATED\s+SIZE\s+BACKEND\s+TRIGGER\s+DIR/);
      // Newest first; copied aside, since rotation removes it once two newer ones exist.
      oldest = join(tmp(), 'oldest-scheduled');
      cpSync(scheduled.at(-1).dir, oldest, { recursive: true });
      oldestHeight = scheduled.at(-1).height;

      // Restore is refused while the node runs.
      const live = runCli(['backup', 'restore', oldest, '--data-dir', dir]);
      assert.notEqual(live.status, 0);
      assert.match(live.stderr, /data dir .* is in use by a running node \(pid \d+\); stop the node first/);
      assert.equal(live.stderr.trim().split('\n').length, 1, live.stderr);

      // On demand through the admin API, production still paused: the newest backup is at the tip.
      height = (await status(node.url)).latestHeight;
      const made = json(runCli(['backup', 'create', '--node', node.url, '--admin-token', TOKEN, '--json']));
      assert.equal(made.height, height);
      assert.equal(made.manifest.trigger, 'on-demand');
      assert.equal(made.manifest.stateRoot, (await status(node.url)).stateRoot);
    } finally {
      await node.kill('SIGTERM');
    }
    const newest = json(runCli(['backup', 'list', '--data-dir', dir, '--json'])).backups[0];
    assert.equal(newest.trigger, 'on-demand');

    // verify: good, and a tampered copy refused.
    const good = json(runCli(['backup', 'verify', newest.dir, '--full', '--json']));
    assert.equal(good.height, height);
    assert.equal(good.replay.height, height);
    const tampered = join(tmp(), 'copy');
    cpSync(newest.dir, tampered, { recursive: true });
    const db = readFileSync(join(tampered, 'chain.sqlite'));
    db[db.length - 100] = db[db.length - 100]! ^ 0xff;
    writeFileSync(join(tampered, 'chain.sqlite'), db);
    const bad = runCli(['backup', 'verify', tampered]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /CORRUPT_DATA: .*chain\.sqlite differs from the backup's manifest/);

    // Damage the store: the node no longer starts on it.
    const guardBefore = readFileSync(join(dir, 'priv_validator_state.json'), 'utf8');
    writeFileSync(join(dir, 'chain.sqlite'), 'not a database');
    await assert.rejects(spawnNode(dir, flags), /CORRUPT_DATA/);

    // A backup older than what the guard signed is refused, with the reason; --force-older-than-guard installs it.
    const older = runCli(['backup', 'restore', oldest, '--data-dir', dir]);
    assert.equal(older.status, 1, older.stderr);
    assert.match(older.stderr, /already signed up to height \d+ .*--force-older-than-guard/);
    assert.equal(older.stderr.trim().split('\n').length, 1, older.stderr);
    const forced = json(runCli(['backup', 'restore', oldest, '--data-dir', dir, '--force-older-than-guard', '--json']));
    assert.equal(forced.height, oldestHeight);
    assert.ok(forced.warnings.some((w: string) => /below the guard's last signed height/.test(w)));
    assert.ok(existsSync(join(forced.replaced, 'chain.sqlite')), 'the replaced store is kept');

    // The newest backup (at the height the node stopped) restores without force.
    const restored = json(runCli(['backup', 'restore', newest.dir, '--data-dir', dir, '--json']));
    assert.equal(restored.height, height);
    assert.equal(readFileSync(join(dir, 'priv_validator_state.json'), 'utf8'), guardBefore, 'the guard record is never touched by a restore');

    node = await spawnNode(dir, flags);
    try {
      await waitFor('blocks after the restore', async () => (await status(node.url)).latestHeight >= height + 3);
      for (const [id, h] of txs) {
        const t = (await (await fetch(`${node.url}/tx?id=${id}`)).json()) as { status: string; height?: number };
        assert.equal(t.status, 'finalized', id);
        assert.equal(t.height, h);
      }
    } finally {
      await node.kill('SIGTERM');
    }
  });
});
