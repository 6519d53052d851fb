/**
 * BackupScheduler and the backup folder's life: a backup at each multiple of
 * everyBlocks, written under a temporary name and renamed whole, with a
 * manifest of every file; the newest `keep` scheduled backups kept; one at a
 * time; a failure logged and retried at the next multiple. Then the same on
 * a real node's store.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BACKUP_MANIFEST_FILE,
  BackupScheduler,
  hashFile,
  inspectStoreCopy,
  listBackups,
  readBackupManifest,
  type BackupSource,
  type StoreCopyContent,
} from '../../../src/node/backups.js';
import type { Log } from '../../../src/node/context.js';
import type { FinalizedBlock } from '../../../src/types/index.js';
import { startTestNode, waitForHeight } from '../../helpers/node.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-backups-');

interface Logged {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function logger(): { log: Log; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (fields: Record<string, unknown> | string, msg?: string) => {
    lines.push(typeof fields === 'string' ? { level, msg: fields, fields: {} } : { level, msg: msg ?? '', fields });
  };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') } as never, lines };
}

function blockAt(height: number): FinalizedBlock {
  return { block: { header: { height } }, hash: `h${height}` } as unknown as FinalizedBlock;
}

/** A source whose "store" is one file holding the height; `fail` makes the next copies throw; `gate` holds copies until opened. */
function fakeSource(heightNow: () => number) {
  const ctl = { fail: 0, gate: null as Promise<void> | null, copies: 0 };
  const source: BackupSource = {
    chainId: 'fastpos-devnet',
    genesisHash: 'g'.repeat(64),
    backend: 'snapshot',
    genesisJson: '{"chainId":"fastpos-devnet"}\n',
    copy: async (dir) => {
      ctl.copies++;
      await ctl.gate;
      if (ctl.fail > 0) {
        ctl.fail--;
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'state.json'), 'partial');
        throw new Error('disk full');
      }
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'state.json'), JSON.stringify({ height: heightNow() }));
    },
    inspect: (dir): StoreCopyContent => {
      const { height } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { height: number };
      return { genesisHash: 'g'.repeat(64), height, blockHash: `h${height}`, stateRoot: `r${height}` };
    },
  };
  return { source, ctl };
}

async function settle(s: BackupScheduler): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await s.idle();
}

describe('BackupScheduler', () => {
  it('default: a backup at each multiple of everyBlocks, renamed whole, with a manifest; the newest `keep` kept', async () => {
    const dir = tmp();
    let height = 0;
    let now = 1_700_000_000_000;
    const { source } = fakeSource(() => height);
    const { log } = logger();
    const s = new BackupScheduler({ everyBlocks: 5, keep: 2, backupDir: dir, source, clock: { now: () => now++ }, log, height: () => height });
    s.open();
    for (height = 1; height <= 17; height++) {
      s.committed(blockAt(height));
      await settle(s);
    }
    const list = listBackups(dir);
    assert.deepEqual(list.map((b) => b.height), [10, 15]);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.tmp-')), []);
    const m = readBackupManifest(list[1]!.dir);
    assert.equal(m.height, 15);
    assert.equal(m.blockHash, 'h15');
    assert.equal(m.stateRoot, 'r15');
    assert.equal(m.backend, 'snapshot');
    assert.equal(m.trigger, 'scheduled');
    assert.equal(m.chainId, 'fastpos-devnet');
    assert.deepEqual(m.files.map((f) => f.name), ['genesis.json', 'state.json']);
    for (const f of m.files) assert.deepEqual(hashFile(join(list[1]!.dir, f.name)), { bytes: f.bytes, sha256: f.sha256 });
  });

  it('behavior: an on-demand backup takes the same path and is never rotated away', async () => {
    const dir = tmp();
    let height = 3;
    const { source } = fakeSource(() => height);
    const { log } = logger();
    const s = new BackupScheduler({ everyBlocks: 2, keep: 1, backupDir: dir, source, clock: { now: () => 1000 + height }, log, height: () => height });
    const b = await s.backupNow();
    assert.equal(b.manifest.trigger, 'on-demand');
    assert.equal(b.manifest.height, 3);
    assert.ok(existsSync(join(b.dir, BACKUP_MANIFEST_FILE)));
    for (height = 4; height <= 8; height++) {
      s.committed(blockAt(height));
      await settle(s);
    }
    assert.deepEqual(listBackups(dir).map((x) => [x.height, x.manifest?.trigger]), [[3, 'on-demand'], [8, 'scheduled']]);
  });

  it('behavior: a failed backup is logged at warn, leaves nothing behind, and the next multiple tries again', async () => {
    const dir = tmp();
    let height = 0;
    const { source, ctl } = fakeSource(() => height);
    const { log, lines } = logger();
    const s = new BackupScheduler({ everyBlocks: 3, keep: 5, backupDir: dir, source, clock: { now: () => 5000 + height }, log, height: () => height });
    ctl.fail = 1;
    for (height = 1; height <= 6; height++) {
      s.committed(blockAt(height));
      await settle(s);
    }
    const warn = lines.find((l) => l.level === 'warn');
    assert.ok(warn !== undefined && /scheduled backup failed/.test(warn.msg), JSON.stringify(lines));
    assert.equal(warn.fields.height, 3);
    assert.equal(warn.fields.err, 'disk full');
    assert.deepEqual(readdirSync(dir).sort(), ['backup-6-5006']);
  });

  it('behavior: never two at once: a multiple reached while a backup is written is skipped (warn), and on demand is refused', async () => {
    const dir = tmp();
    let height = 0;
    const { source, ctl } = fakeSource(() => height);
    const { log, lines } = logger();
    const s = new BackupScheduler({ everyBlocks: 2, keep: 5, backupDir: dir, source, clock: { now: () => 9000 + height }, log, height: () => height });
    let open!: () => void;
    ctl.gate = new Promise((r) => (open = r));
    height = 2;
    s.committed(blockAt(2));
    height = 4;
    s.committed(blockAt(4));
    await assert.rejects(s.backupNow(), (e: Error & { code?: string }) => e.code === 'NOT_READY');
    assert.equal(ctl.copies, 1);
    assert.ok(lines.some((l) => l.level === 'warn' && /skipped/.test(l.msg) && l.fields.height === 4));
    open();
    await settle(s);
    assert.deepEqual(listBackups(dir).map((b) => b.height), [4]);
  });

  it('behavior: open() removes unfinished backups of an earlier run', () => {
    const dir = tmp();
    mkdirSync(join(dir, '.tmp-10-123'), { recursive: true });
    writeFileSync(join(dir, '.tmp-10-123', 'chain.sqlite'), 'half');
    const { source } = fakeSource(() => 0);
    const { log, lines } = logger();
    new BackupScheduler({ everyBlocks: 1, keep: 1, backupDir: dir, source, clock: { now: () => 0 }, log, height: () => 0 }).open();
    assert.deepEqual(readdirSync(dir), []);
    assert.ok(lines.some((l) => l.level === 'warn'));
  });

  for (const backend of ['sqlite', 'snapshot'] as const) {
    it(`default: a running node (${backend}) writes scheduled backups whose copies open at the manifest's height and root`, async () => {
      const backupDir = tmp();
      const n = await startTestNode({ config: { stateBackend: backend, backupEveryBlocks: 3, backupKeep: 2, backupDir } });
      try {
        await waitForHeight(n, 13, 20_000);
      } finally {
        await n.dispose();
      }
      const list = listBackups(backupDir);
      assert.equal(list.length, 2, JSON.stringify(list));
      for (const b of list) {
        const m = b.manifest!;
        assert.equal(m.backend, backend);
        assert.equal(m.trigger, 'scheduled');
        const content = await inspectStoreCopy(backend, b.dir);
        assert.equal(content.height, m.height);
        assert.equal(content.blockHash, m.blockHash);
        assert.equal(content.stateRoot, m.stateRoot);
        assert.ok(m.files.some((f) => f.name === 'genesis.json'));
        // Opening the copy to read it leaves its bytes as the manifest recorded them.
        for (const f of m.files) assert.deepEqual(hashFile(join(b.dir, f.name)), { bytes: f.bytes, sha256: f.sha256 }, f.name);
        assert.deepEqual(readdirSync(b.dir).sort(), [...m.files.map((f) => f.name), BACKUP_MANIFEST_FILE].sort());
      }
    });
  }
});
