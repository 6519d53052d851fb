/**
 * Backups of the chain store, scheduled and on demand, made one way:
 *
 * 1. the store copies itself (`ChainStore.backup`) into
 *    `<backupDir>/.tmp-<height>-<ms>`, with the chain's `genesis.json`;
 * 2. the copy is opened to learn what it holds (its height, block hash and
 *    state root: blocks may be committed while the copy runs, so the copy may
 *    be ahead of the height that asked for it);
 * 3. `backup.json` (the manifest: chain, height, block hash, state root,
 *    backend, time, every file with its size and SHA-256) is written and
 *    fsynced, then the folder is renamed to `backup-<height>-<ms>`.
 *
 * A folder named `backup-…` is therefore always complete; a `.tmp-…` folder
 * is an unfinished one and is removed by the next scheduler start. Keys and
 * the double-sign guard record are never part of a backup: an older guard
 * record next to a key lets that key sign positions it already signed.
 *
 * `BackupScheduler` takes the node's committed blocks and makes a backup at
 * every multiple of `everyBlocks`, one at a time, keeping the newest `keep`
 * scheduled ones. A failed backup is logged at warn and the next multiple
 * tries again; it never stops the node.
 * @module
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FastposError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../storage/common.js';
import { createChainStore, readSqliteTip, SQLITE_FILE, type StorageBackend } from '../storage/index.js';
import { LtHash } from '../state/ltHash.js';
import { encodeGenesis } from '../state/genesis.js';
import { genesisFileCopier } from './genesisFile.js';
import type { ChainStore } from '../storage/types.js';
import type { FinalizedBlock, Genesis } from '../types/index.js';
import type { Log } from './context.js';

export const BACKUP_MANIFEST_FILE = 'backup.json';
export const BACKUP_FORMAT = 1;
const BACKUP_DIR_NAME = /^backup-([0-9]+)-([0-9]+)$/;
const TMP_PREFIX = '.tmp-';

export interface BackupFileEntry {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Who asked for a backup: the scheduler (rotated by `backupKeep`), an operator through the API, or the CLI on a stopped node. */
export type BackupTrigger = 'scheduled' | 'on-demand' | 'offline';

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
  readonly backend: StorageBackend;
  /** Unix ms. */
  readonly createdAt: number;
  readonly created: string;
  readonly trigger: BackupTrigger;
  /** Every file of the backup except the manifest, sorted by name. */
  readonly files: readonly BackupFileEntry[];
}

/** What a store copy holds, found by opening it. */
export interface StoreCopyContent {
  readonly genesisHash: string;
  readonly height: number;
  readonly blockHash: string;
  /** The state root the latest block's header names (checked against the stored accumulator). */
  readonly stateRoot: string;
}

/** The chain a backup is taken of, and how to copy its store. */
export interface BackupSource {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly backend: StorageBackend;
  /** The chain's genesis as written to `genesis.json`: its text, or a copy of its file (a large genesis, read from its file). */
  readonly genesisJson: string | ((file: string) => void);
  /** Copies a consistent store backup into an empty folder (`ChainStore.backup`). */
  copy(dir: string): Promise<void>;
  /** Reads what a copy holds (default: `inspectStoreCopy`). */
  inspect?(dir: string): Promise<StoreCopyContent> | StoreCopyContent;
}

/** Writes `genesis.json` (made durable with the other files of the backup). */
function writeGenesisJson(file: string, json: string | ((file: string) => void)): void {
  if (typeof json === 'string') fs.writeFileSync(file, json);
  else json(file);
}

/** The backup source of a running node's chain: its store, genesis and backend. */
export function backupSourceOf(n: { readonly genesis: Genesis; readonly genesisHash: string; readonly store: ChainStore }): BackupSource {
  return {
    chainId: n.genesis.chainId,
    genesisHash: n.genesisHash,
    backend: n.store.backend,
    genesisJson: genesisFileCopier(n.genesis) ?? JSON.stringify(encodeGenesis(n.genesis), null, 2) + '\n',
    copy: (dir) => n.store.backup(dir),
  };
}

export interface WrittenBackup {
  readonly dir: string;
  readonly manifest: BackupManifest;
}

/** SHA-256 (hex) and size of a file, read in chunks. */
export function hashFile(file: string): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The files of a backup folder (all but the manifest), with sizes and hashes, sorted by name. */
export function listBackupFiles(dir: string): BackupFileEntry[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== BACKUP_MANIFEST_FILE)
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, ...hashFile(path.join(dir, name)) }));
}

/**
 * Opens a store copy (the store's own damage checks run), reads its tip and
 * closes it. The latest header's state root must be the digest of the stored
 * state accumulator. Throws CORRUPT_DATA when the copy does not hold a chain.
 */
export async function inspectStoreCopy(backend: StorageBackend, dir: string): Promise<StoreCopyContent> {
  // A SQLite copy is read at its tip without loading the state (a running node writes it: no pause with the state's size).
  if (backend === 'sqlite') return readSqliteTip(dir, SQLITE_FILE);
  const store = createChainStore(backend, dir, { writerThread: false });
  try {
    const loaded = store.open();
    if (loaded.genesisHash === null || loaded.latest === null) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${dir}: the store copy holds no finalized block`);
    }
    const stateRoot = loaded.latest.block.header.stateRoot;
    if (loaded.accumulator !== null && LtHash.fromBytes(loaded.accumulator).digest() !== stateRoot) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${dir}: the stored state accumulator does not match block ${loaded.height}'s state root ${stateRoot}`);
    }
    return { genesisHash: loaded.genesisHash, height: loaded.height, blockHash: loaded.latest.hash, stateRoot };
  } finally {
    await store.close();
  }
}

/**
 * Makes one backup in `backupDir` the atomic way (see the module comment) and
 * returns its folder and manifest. `atHeight` names the temporary folder only;
 * the final name carries the height the copy holds.
 */
export async function writeBackup(p: { backupDir: string; source: BackupSource; trigger: BackupTrigger; now: number; atHeight: number }): Promise<WrittenBackup> {
  const key = path.resolve(p.backupDir);
  if (writing.has(key)) throw new FastposError(ErrorCode.NOT_READY, `a backup is being written into ${p.backupDir}; try again when it is done`);
  writing.add(key);
  try {
    return await writeBackupNow(p);
  } finally {
    writing.delete(key);
  }
}

/** Backup dirs (resolved) a backup is being written into by this process: never two at once. */
const writing = new Set<string>();

/** Whether this process is writing a backup into `backupDir`. */
export function isBackupInProgress(backupDir: string): boolean {
  return writing.has(path.resolve(backupDir));
}

async function writeBackupNow(p: { backupDir: string; source: BackupSource; trigger: BackupTrigger; now: number; atHeight: number }): Promise<WrittenBackup> {
  const { backupDir, source, trigger, now } = p;
  fs.mkdirSync(backupDir, { recursive: true });
  const tmp = path.join(backupDir, `${TMP_PREFIX}${p.atHeight}-${now}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    await source.copy(tmp);
    writeGenesisJson(path.join(tmp, 'genesis.json'), source.genesisJson);
    const content = source.inspect === undefined ? await inspectStoreCopy(source.backend, tmp) : await source.inspect(tmp);
    if (content.genesisHash !== source.genesisHash) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `the store copy holds a chain of genesis ${content.genesisHash}, not ${source.genesisHash}`);
    }
    const files = listBackupFiles(tmp);
    for (const f of files) fsyncFile(path.join(tmp, f.name));
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      chainId: source.chainId,
      genesisHash: source.genesisHash,
      height: content.height,
      blockHash: content.blockHash,
      stateRoot: content.stateRoot,
      backend: source.backend,
      createdAt: now,
      created: new Date(now).toISOString(),
      trigger,
      files,
    };
    writeFileAtomic(tmp, BACKUP_MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
    const dir = path.join(backupDir, `backup-${content.height}-${now}`);
    if (fs.existsSync(dir)) throw new FastposError(ErrorCode.INVALID_REQUEST, `${dir} exists already`);
    fs.renameSync(tmp, dir);
    fsyncDir(backupDir);
    return { dir, manifest };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** A backup folder found in a backup dir. `manifest` is null for a folder without a readable manifest (an older backup). */
export interface BackupListing {
  readonly dir: string;
  readonly name: string;
  readonly height: number;
  readonly createdAt: number;
  readonly manifest: BackupManifest | null;
}

/** Reads and shape-checks a backup folder's manifest; throws CORRUPT_DATA saying what is wrong. */
export function readBackupManifest(dir: string): BackupManifest {
  const file = path.join(dir, BACKUP_MANIFEST_FILE);
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: cannot read the backup manifest (${(e as Error).message})`, { file });
  }
  const m = j as Partial<BackupManifest>;
  const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const filesOk =
    Array.isArray(m.files) &&
    m.files.every((f: unknown) => {
      const e = f as Partial<BackupFileEntry>;
      return typeof f === 'object' && f !== null && isStr(e.name) && !e.name.includes('/') && !e.name.includes('\\') && e.name !== '..' && isUint(e.bytes) && isStr(e.sha256);
    });
  if (
    typeof j !== 'object' || j === null || m.format !== BACKUP_FORMAT || !isStr(m.chainId) || !isStr(m.genesisHash) || !isUint(m.height) ||
    !isStr(m.blockHash) || !isStr(m.stateRoot) || (m.backend !== 'sqlite' && m.backend !== 'snapshot') || !isUint(m.createdAt) || !filesOk
  ) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: not a backup manifest of format ${BACKUP_FORMAT}`, { file });
  }
  return m as BackupManifest;
}

/** The `backup-<height>-<ms>` folders of a backup dir, oldest first (by height, then time). */
export function listBackups(backupDir: string): BackupListing[] {
  if (!fs.existsSync(backupDir)) return [];
  const out: BackupListing[] = [];
  for (const e of fs.readdirSync(backupDir, { withFileTypes: true })) {
    const m = BACKUP_DIR_NAME.exec(e.name);
    if (!e.isDirectory() || m === null) continue;
    const dir = path.join(backupDir, e.name);
    let manifest: BackupManifest | null = null;
    try {
      manifest = readBackupManifest(dir);
    } catch {
      manifest = null;
    }
    out.push({ dir, name: e.name, height: Number(m[1]), createdAt: Number(m[2]), manifest });
  }
  return out.sort((a, b) => a.height - b.height || a.createdAt - b.createdAt);
}

/** Deletes the oldest scheduled backups beyond the newest `keep`; returns the folders removed. Other backups are never removed. */
export function pruneScheduledBackups(backupDir: string, keep: number): string[] {
  const scheduled = listBackups(backupDir).filter((b) => b.manifest?.trigger === 'scheduled');
  const old = scheduled.slice(0, Math.max(0, scheduled.length - keep));
  for (const b of old) fs.rmSync(b.dir, { recursive: true, force: true });
  if (old.length > 0) fsyncDir(backupDir);
  return old.map((b) => b.dir);
}

/** Removes unfinished backups (`.tmp-…` folders) left by an interrupted run. */
export function removeUnfinishedBackups(backupDir: string): string[] {
  if (!fs.existsSync(backupDir)) return [];
  const removed: string[] = [];
  for (const e of fs.readdirSync(backupDir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name.startsWith(TMP_PREFIX)) {
      const dir = path.join(backupDir, e.name);
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

export interface BackupSchedulerDeps {
  /** A backup at every height that is a multiple of this (0: none scheduled; on-demand backups still work). */
  readonly everyBlocks: number;
  /** Scheduled backups kept (the newest). */
  readonly keep: number;
  readonly backupDir: string;
  readonly source: BackupSource;
  readonly clock: { now(): number };
  readonly log: Log;
  /** The node's height now (names the temporary folder of an on-demand backup). */
  readonly height: () => number;
  /** A backup was written (for metrics). */
  readonly written?: (b: WrittenBackup, seconds: number) => void;
}

/**
 * Makes backups after committed blocks at every multiple of `everyBlocks`,
 * and on demand (`backupNow`), never two at once.
 */
export class BackupScheduler {
  private readonly jobs = new Set<Promise<unknown>>();

  constructor(private readonly deps: BackupSchedulerDeps) {}

  /** Removes unfinished backups of an earlier run (call once, with the data dir locked). */
  open(): void {
    for (const dir of removeUnfinishedBackups(this.deps.backupDir)) this.deps.log.warn({ dir }, 'removed an unfinished backup of an earlier run');
  }

  /** A block is committed: at a multiple of `everyBlocks`, a backup starts unless one is being written. */
  committed(fb: FinalizedBlock): void {
    const height = fb.block.header.height;
    if (this.deps.everyBlocks <= 0 || height % this.deps.everyBlocks !== 0) return;
    if (isBackupInProgress(this.deps.backupDir)) {
      this.deps.log.warn({ height }, 'scheduled backup skipped: another backup is still being written');
      return;
    }
    void this.run('scheduled', height).then(
      () => undefined,
      (e: unknown) => this.deps.log.warn({ height, err: (e as Error).message }, 'scheduled backup failed; the next one is tried at the next multiple of backupEveryBlocks'),
    );
  }

  /** An on-demand backup, through the same path; refused with NOT_READY while another is being written. */
  async backupNow(): Promise<WrittenBackup> {
    return this.run('on-demand', this.deps.height());
  }

  /** Resolves when no backup is being written. */
  async idle(): Promise<void> {
    await Promise.all([...this.jobs].map((j) => j.catch(() => undefined)));
  }

  private run(trigger: BackupTrigger, height: number): Promise<WrittenBackup> {
    const t0 = this.deps.clock.now();
    const job = writeBackup({ backupDir: this.deps.backupDir, source: this.deps.source, trigger, now: t0, atHeight: height }).then((b) => {
      const seconds = (this.deps.clock.now() - t0) / 1000;
      this.deps.log.info({ dir: b.dir, height: b.manifest.height, trigger, seconds }, 'backup written');
      this.deps.written?.(b, seconds);
      if (trigger === 'scheduled') {
        try {
          for (const dir of pruneScheduledBackups(this.deps.backupDir, this.deps.keep)) this.deps.log.info({ dir }, 'old scheduled backup removed');
        } catch (e) {
          this.deps.log.warn({ err: (e as Error).message }, 'removing old scheduled backups failed');
        }
      }
      return b;
    });
    const tracked = job.finally(() => this.jobs.delete(tracked));
    this.jobs.add(tracked);
    return tracked;
  }
}
