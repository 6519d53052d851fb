/**
 * `fastpos backup create|list|verify|restore`: backups of a node's chain
 * store (see node/backups.ts for what a backup folder holds).
 *
 * - `create` asks a running node (`--node URL`, admin token) or copies a
 *   stopped data dir offline, holding its lock while it copies;
 * - `list` shows the backups of a backup dir;
 * - `verify DIR` checks every file against the manifest, opens the store
 *   copy, recomputes its state root and checks the latest certificate
 *   (`--full` also replays every block from genesis, as verify-chain);
 * - `restore DIR` installs a backup's store into a stopped data dir: the
 *   data dir's double-sign guard record stays as it is (a backup never holds
 *   one), a backup below what the guard says this validator signed is refused
 *   unless `--force-older-than-guard`, the old chain files are moved aside
 *   (never deleted), and the restored store must open at the manifest's
 *   state root.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type NodeConfig } from '../config/index.js';
import { verifyCommit } from '../consensus/commit.js';
import { validatorSetForHeight } from '../consensus/validatorSet.js';
import { ErrorCode, FastposError, isFastposError } from '../errors.js';
import { decodeGenesis, genesisHash } from '../state/genesis.js';
import { WorldState } from '../state/worldState.js';
import { fsyncDir } from '../storage/common.js';
import { BLOCK_LOG_FILE, HEADER_LOG_FILE, SQLITE_FILE, STATE_FILE, createChainStore, type StorageBackend } from '../storage/index.js';
import {
  BACKUP_MANIFEST_FILE,
  backupSourceOf,
  hashFile,
  inspectStoreCopy,
  listBackups,
  readBackupManifest,
  writeBackup,
  type BackupManifest,
} from '../node/backups.js';
import { lockDataDir, type DataDirLock } from '../node/dataDirLock.js';
import { loadGenesis } from '../node/run.js';
import { GUARD_FILE, loadGuardState } from '../node/signGuardFile.js';
import { explainParseError } from './args.js';
import { Progress } from './progress.js';
import { verifyChain } from './verifyChain.js';

export const BACKUP_USAGE = `  fastpos backup create [--node URL [--admin-token T]] [--data-dir DIR] [--backup-dir DIR] [--json]
                        (--node: ask a running node; without it: copy a stopped data dir)
  fastpos backup list [--backup-dir DIR | --data-dir DIR] [--json]
  fastpos backup verify BACKUP_DIR [--full] [--json]
  fastpos backup restore BACKUP_DIR --data-dir DIR [--force-older-than-guard] [--json]`;

type Usage = (message: string) => Error;

/** Files of a chain store in a data dir, both backends (what a restore replaces). */
export const CHAIN_FILES = [
  SQLITE_FILE,
  `${SQLITE_FILE}-wal`,
  `${SQLITE_FILE}-shm`,
  STATE_FILE,
  `${STATE_FILE}.tmp`,
  BLOCK_LOG_FILE,
  HEADER_LOG_FILE,
  // What an interrupted state install leaves (the store finishes or undoes it at open): never left beside restored files.
  `${STATE_FILE}.install`,
  `${BLOCK_LOG_FILE}.install`,
  `${HEADER_LOG_FILE}.install`,
] as const;

/** The config options every subcommand passes on to loadConfig. */
const CONFIG_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'state-backend': { type: 'string' },
  'backup-dir': { type: 'string' },
  'genesis-file': { type: 'string' },
} as const;

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: Usage) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true } as const);
  } catch (e) {
    throw usage(explainParseError(e as Error, args, Object.keys(options)));
  }
}

/** The node config from the config flags given (flag > env > file > default). */
function configFrom(values: Record<string, unknown>): NodeConfig {
  const argv: string[] = [];
  for (const k of Object.keys(CONFIG_OPTIONS)) {
    const v = values[k];
    if (typeof v === 'string') argv.push(`--${k}`, v);
  }
  return loadConfig({ argv, env: process.env }).config;
}

function out(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text + '\n');
}

/**
 * The backend of the chain in a data dir, from its files; the configured one
 * when the dir holds neither (or both, which a start refuses anyway).
 */
export function backendOfDataDir(dataDir: string, configured: StorageBackend): StorageBackend {
  const sqlite = fs.existsSync(path.join(dataDir, SQLITE_FILE));
  const snapshot = fs.existsSync(path.join(dataDir, STATE_FILE));
  if (sqlite && !snapshot) return 'sqlite';
  if (snapshot && !sqlite) return 'snapshot';
  return configured;
}

/** Takes the data dir's lock, or throws one line saying that a node runs there and what to do. */
export function lockStoppedDataDir(dataDir: string, doing: string, instead: string): DataDirLock {
  try {
    return lockDataDir(dataDir);
  } catch (e) {
    if (isFastposError(e) && e.code === ErrorCode.INVALID_CONFIG && /is in use by/.test(e.message)) {
      const pid = (e.meta as { pid?: number } | undefined)?.pid;
      throw new FastposError(
        ErrorCode.INVALID_CONFIG,
        `cannot ${doing}: data dir ${dataDir} is in use by a running node${pid === undefined ? '' : ` (pid ${pid})`}; ${instead}`,
      );
    }
    throw e;
  }
}

// ------------------------------------------------------------------ create

async function create(args: string[], usage: Usage): Promise<void> {
  const { values, positionals } = parse(args, { ...CONFIG_OPTIONS, node: { type: 'string' }, 'admin-token': { type: 'string' }, json: { type: 'boolean' } }, usage);
  if (positionals.length > 0) throw usage(`backup create takes no arguments, got "${positionals[0]}"`);
  const json = values.json === true;
  const config = configFrom(values);
  if (values.node !== undefined) {
    const token = values['admin-token'] ?? config.adminToken;
    if (token === undefined) throw usage('backup create --node needs the admin token: --admin-token T or FASTPOS_ADMIN_TOKEN');
    const url = `${values.node.replace(/\/+$/, '')}/admin/backup`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(600_000) });
    } catch (e) {
      throw new FastposError(ErrorCode.INVALID_REQUEST, `cannot reach ${url} (${(e as Error).message}); check --node, or stop the node and run backup create without --node`);
    }
    const body = (await res.json().catch(() => ({}))) as { dir?: string; height?: number; manifest?: BackupManifest; error?: { code?: string; message?: string } };
    if (!res.ok) throw new FastposError(ErrorCode.INVALID_REQUEST, `the node answered ${res.status} ${body.error?.code ?? ''}: ${body.error?.message ?? 'no message'}`);
    out(json, body, `backup written by the node: ${body.dir} (height ${body.height})`);
    return;
  }
  const dataDir = config.dataDir;
  const backupDir = config.backupDir ?? path.join(dataDir, 'backups');
  const lock = lockStoppedDataDir(dataDir, 'copy the data dir offline', 'ask it instead: fastpos backup create --node URL --admin-token T');
  try {
    const backend = backendOfDataDir(dataDir, config.stateBackend);
    if (![SQLITE_FILE, STATE_FILE].some((f) => fs.existsSync(path.join(dataDir, f)))) {
      throw new FastposError(ErrorCode.INVALID_CONFIG, `${dataDir} holds no chain store (${SQLITE_FILE} or ${STATE_FILE}); check --data-dir`);
    }
    const { genesis } = loadGenesis(config);
    const store = createChainStore(backend, dataDir, { writerThread: false });
    try {
      const loaded = store.open();
      const gh = genesisHash(genesis);
      if (loaded.genesisHash !== gh) throw new FastposError(ErrorCode.INVALID_GENESIS, `${dataDir} holds a chain of genesis ${loaded.genesisHash}, but the configured genesis hashes to ${gh}; pass --genesis-file`);
      const b = await writeBackup({
        backupDir,
        source: backupSourceOf({ genesis, genesisHash: gh, store }),
        trigger: 'offline',
        now: Date.now(),
        atHeight: loaded.height,
      });
      out(json, { dir: b.dir, height: b.manifest.height, manifest: b.manifest }, `backup written: ${b.dir} (height ${b.manifest.height}, ${backend})`);
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}

// ------------------------------------------------------------------ list

function totalBytes(m: BackupManifest | null, dir: string): number {
  if (m !== null) return m.files.reduce((s, f) => s + f.bytes, 0);
  return fs.readdirSync(dir).reduce((s, n) => s + fs.statSync(path.join(dir, n)).size, 0);
}

function human(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function list(args: string[], usage: Usage): void {
  const { values, positionals } = parse(args, { ...CONFIG_OPTIONS, json: { type: 'boolean' } }, usage);
  if (positionals.length > 0) throw usage(`backup list takes no arguments (use --backup-dir DIR), got "${positionals[0]}"`);
  const config = configFrom(values);
  const backupDir = config.backupDir ?? path.join(config.dataDir, 'backups');
  const rows = listBackups(backupDir)
    .reverse()
    .map((b) => ({
      dir: b.dir,
      height: b.height,
      created: new Date(b.manifest?.createdAt ?? b.createdAt).toISOString(),
      bytes: totalBytes(b.manifest, b.dir),
      backend: b.manifest?.backend ?? null,
      trigger: b.manifest?.trigger ?? null,
      manifest: b.manifest !== null,
    }));
  if (values.json === true) {
    out(true, { backupDir, backups: rows }, '');
    return;
  }
  if (rows.length === 0) {
    out(false, null, `no backups in ${backupDir}`);
    return;
  }
  const table = [['HEIGHT', 'CREATED', 'SIZE', 'BACKEND', 'TRIGGER', 'DIR'], ...rows.map((r) => [String(r.height), r.created, human(r.bytes), r.backend ?? '?', r.trigger ?? 'no manifest', path.basename(r.dir)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  out(false, null, `backups in ${backupDir}, newest first:\n` + table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n'));
}

// ------------------------------------------------------------------ verify

/**
 * Checks a backup folder's files against its manifest: every listed file is
 * there with its size and SHA-256, and nothing else is. Throws CORRUPT_DATA
 * naming the first file that differs.
 */
export function checkBackupFiles(dir: string, m: BackupManifest): void {
  const listed = new Set(m.files.map((f) => f.name));
  for (const name of fs.readdirSync(dir)) {
    if (name !== BACKUP_MANIFEST_FILE && !listed.has(name)) throw new FastposError(ErrorCode.CORRUPT_DATA, `${path.join(dir, name)} is not in the backup's manifest (added after the backup was made?); this backup cannot be trusted`);
  }
  for (const f of m.files) {
    const file = path.join(dir, f.name);
    if (!fs.existsSync(file)) throw new FastposError(ErrorCode.CORRUPT_DATA, `${file} is missing from the backup; this backup cannot be used, take another one`);
    const h = hashFile(file);
    if (h.bytes !== f.bytes || h.sha256 !== f.sha256) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${file} differs from the backup's manifest (${h.bytes} bytes, sha256 ${h.sha256}; expected ${f.bytes} bytes, sha256 ${f.sha256}): the file was damaged or edited; use another backup`);
    }
  }
}

export interface StoreCheck {
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
  readonly entries: number;
  readonly certificateSigners: number;
}

/**
 * Opens the store in `dir` and checks it against what is expected of it: the
 * genesis, height and block hash, the state root recomputed from every state
 * entry, and the latest block's certificate against its epoch's validator set.
 */
export async function checkStore(p: { dir: string; backend: StorageBackend; genesisJson: unknown; expect: { genesisHash: string; height: number; blockHash: string; stateRoot: string } }): Promise<StoreCheck> {
  const genesis = decodeGenesis(p.genesisJson);
  const store = createChainStore(p.backend, p.dir, { writerThread: false });
  try {
    const loaded = store.open();
    const where = `${p.dir} (${p.backend})`;
    if (loaded.genesisHash !== p.expect.genesisHash) throw new FastposError(ErrorCode.CORRUPT_DATA, `${where} holds a chain of genesis ${loaded.genesisHash}, expected ${p.expect.genesisHash}`);
    if (loaded.latest === null || loaded.height !== p.expect.height) throw new FastposError(ErrorCode.CORRUPT_DATA, `${where} is at height ${loaded.height}, expected ${p.expect.height}`);
    if (loaded.latest.hash !== p.expect.blockHash) throw new FastposError(ErrorCode.CORRUPT_DATA, `${where}: block ${loaded.height} is ${loaded.latest.hash}, expected ${p.expect.blockHash}`);
    const world = WorldState.fromEntries(loaded.entries);
    if (world.stateRoot !== p.expect.stateRoot || loaded.latest.block.header.stateRoot !== p.expect.stateRoot) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${where}: the stored state hashes to ${world.stateRoot}, block ${loaded.height} names ${loaded.latest.block.header.stateRoot}, the manifest ${p.expect.stateRoot}`);
    }
    const set = validatorSetForHeight(world, loaded.height, genesis.params);
    try {
      verifyCommit({ chainId: genesis.chainId, set, commit: loaded.latest.commit, height: loaded.height, blockHash: loaded.latest.hash });
    } catch (e) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${where}: the certificate of block ${loaded.height} does not check: ${(e as Error).message}`);
    }
    return { height: loaded.height, blockHash: loaded.latest.hash, stateRoot: world.stateRoot, entries: world.size, certificateSigners: loaded.latest.commit.signatures.length };
  } finally {
    await store.close();
  }
}

function readGenesisJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: cannot read the backup's genesis (${(e as Error).message})`);
  }
}

/** Everything `backup verify` checks, short of the full replay. */
export async function verifyBackup(dir: string): Promise<{ manifest: BackupManifest; store: StoreCheck }> {
  if (!fs.existsSync(path.join(dir, BACKUP_MANIFEST_FILE))) {
    throw new FastposError(ErrorCode.INVALID_CONFIG, `${dir} has no ${BACKUP_MANIFEST_FILE}: not a backup folder (give one of the backup-<height>-<ms> folders that fastpos backup list shows)`);
  }
  const manifest = readBackupManifest(dir);
  checkBackupFiles(dir, manifest);
  const genesisJson = readGenesisJson(path.join(dir, 'genesis.json'));
  const gh = genesisHash(decodeGenesis(genesisJson));
  if (gh !== manifest.genesisHash) throw new FastposError(ErrorCode.CORRUPT_DATA, `${dir}/genesis.json hashes to ${gh}, the manifest names ${manifest.genesisHash}`);
  const store = await checkStore({ dir, backend: manifest.backend, genesisJson, expect: manifest });
  // Opening the copy must not have changed it.
  checkBackupFiles(dir, manifest);
  return { manifest, store };
}

async function verify(args: string[], usage: Usage): Promise<void> {
  const { values, positionals } = parse(args, { full: { type: 'boolean' }, json: { type: 'boolean' } }, usage);
  if (positionals.length !== 1) throw usage('backup verify needs one backup folder: fastpos backup verify BACKUP_DIR');
  const dir = path.resolve(positionals[0]!);
  const json = values.json === true;
  const { manifest, store } = await verifyBackup(dir);
  const checked = ['manifest: every file present with its size and sha256, nothing else', 'genesis', `store opens at height ${store.height}, block ${store.blockHash}`, `state root recomputed from ${store.entries} entries`, `certificate of block ${store.height} (${store.certificateSigners} signatures) against its epoch's set`];
  let replay: unknown;
  if (values.full === true) {
    replay = await verifyChain({ dataDir: dir, genesisFile: path.join(dir, 'genesis.json'), stateBackend: manifest.backend }, { quiet: json });
    checkBackupFiles(dir, manifest);
    checked.push('full replay (verify-chain)');
  }
  out(json, { ok: true, dir, height: manifest.height, blockHash: manifest.blockHash, stateRoot: manifest.stateRoot, backend: manifest.backend, checked, ...(replay === undefined ? {} : { replay }) }, `backup ${dir} is good:\n  - ${checked.join('\n  - ')}`);
}

// ------------------------------------------------------------------ restore

/** The highest height any key of the data dir's double-sign guard record signed at (0: none, or no record). */
export function guardLastSignedHeight(dataDir: string): number {
  const state = loadGuardState(dataDir);
  return Object.values(state.last).reduce((m, r) => Math.max(m, r.height), 0);
}

/** Copies a file in 1 MiB chunks with fsync, counting bytes into `progress`. */
function copyFileDurably(from: string, to: string, progress: Progress): void {
  const src = fs.openSync(from, 'r');
  const dst = fs.openSync(to, 'wx', 0o600);
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(src, buf, 0, buf.length, null);
      if (n === 0) break;
      let off = 0;
      while (off < n) off += fs.writeSync(dst, buf, off, n - off);
      progress.tick(n);
    }
    fs.fsyncSync(dst);
  } finally {
    fs.closeSync(src);
    fs.closeSync(dst);
  }
}

/**
 * Moves the chain files of `dataDir` aside into `aside` and puts the staged
 * store's files in their place. Each file is linked into `aside` first and
 * then replaced by a rename over it, so the data dir never lacks a chain
 * store (a start on a data dir without one would begin a new chain). A
 * SQLite write-ahead log of the old store is moved away before the new
 * database arrives (it would be applied to it otherwise).
 */
function swapChainFiles(dataDir: string, staged: string, stagedFiles: readonly string[], aside: string): string[] {
  fs.mkdirSync(aside, { recursive: true });
  const old = CHAIN_FILES.filter((f) => fs.existsSync(path.join(dataDir, f)));
  for (const f of old) {
    try {
      fs.linkSync(path.join(dataDir, f), path.join(aside, f));
    } catch {
      fs.copyFileSync(path.join(dataDir, f), path.join(aside, f));
    }
  }
  fsyncDir(aside);
  for (const f of [`${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, `${STATE_FILE}.tmp`]) fs.rmSync(path.join(dataDir, f), { force: true });
  // The block log before the state file: the state file's height is the snapshot store's commit point.
  const order = [...stagedFiles].sort((a, b) => (a === STATE_FILE ? 1 : b === STATE_FILE ? -1 : 0));
  for (const f of order) fs.renameSync(path.join(staged, f), path.join(dataDir, f));
  // Files of the other backend (a backup of the other backend): aside already, removed from the data dir last.
  for (const f of old) if (!stagedFiles.includes(f)) fs.rmSync(path.join(dataDir, f), { force: true });
  fsyncDir(dataDir);
  return old;
}

async function restore(args: string[], usage: Usage): Promise<void> {
  const { values, positionals } = parse(args, { ...CONFIG_OPTIONS, 'force-older-than-guard': { type: 'boolean' }, json: { type: 'boolean' } }, usage);
  if (positionals.length !== 1) throw usage('backup restore needs one backup folder: fastpos backup restore BACKUP_DIR --data-dir DIR');
  if (values['data-dir'] === undefined && values.config === undefined && process.env.FASTPOS_DATA_DIR === undefined) throw usage('backup restore needs --data-dir DIR (the data dir to restore into)');
  const json = values.json === true;
  const backup = path.resolve(positionals[0]!);
  const config = configFrom(values);
  const dataDir = path.resolve(config.dataDir);
  const lock = lockStoppedDataDir(dataDir, 'restore into it', 'stop the node first (SIGTERM, and wait until it exits), then run the restore again');
  const warnings: string[] = [];
  try {
    if (!fs.existsSync(path.join(backup, BACKUP_MANIFEST_FILE))) {
      throw new FastposError(ErrorCode.INVALID_CONFIG, `${backup} has no ${BACKUP_MANIFEST_FILE}: not a backup folder (see fastpos backup list)`);
    }
    const manifest = readBackupManifest(backup);
    // The chain must be this data dir's chain.
    const backupGenesis = readGenesisJson(path.join(backup, 'genesis.json'));
    const configured = loadGenesis(config);
    const configuredHash = genesisHash(configured.genesis);
    let installGenesis = false;
    if (configuredHash !== manifest.genesisHash) {
      if (configured.source !== 'built-in devnet') {
        throw new FastposError(ErrorCode.INVALID_GENESIS, `the backup is of the chain of genesis ${manifest.genesisHash}, but ${configured.source} hashes to ${configuredHash}: restore it into a data dir of its own chain`);
      }
      installGenesis = true;
    }
    // The double-sign guard record stays as it is; the backup must not be behind what the validator signed.
    const guardFile = path.join(dataDir, GUARD_FILE);
    let lastSigned = 0;
    if (fs.existsSync(guardFile)) {
      lastSigned = guardLastSignedHeight(dataDir);
    } else {
      warnings.push(`${guardFile} is missing: a validator does not start on restored chain data without its double-sign guard record; never copy an old one in (see "Disaster recovery" in docs/operations.md)`);
    }
    if (lastSigned > manifest.height + 1) {
      if (values['force-older-than-guard'] !== true) {
        throw new FastposError(
          ErrorCode.INVALID_REQUEST,
          `the backup is at height ${manifest.height}, but this data dir's validator already signed up to height ${lastSigned} (${GUARD_FILE}): restored, it would have to sign heights ${manifest.height + 1}-${lastSigned - 1} again, which its guard refuses, so a lone validator stops producing blocks; restore a backup at height ${lastSigned - 1} or above, or pass --force-older-than-guard if the node has peers to fetch those blocks from`,
        );
      }
      warnings.push(`restored to height ${manifest.height} below the guard's last signed height ${lastSigned} (--force-older-than-guard): the guard keeps refusing heights up to ${lastSigned}; the node must fetch those blocks from peers`);
    }
    checkBackupFiles(backup, manifest);

    // Stage a copy inside the data dir (same file system: the renames below are atomic), and check it opens.
    const now = Date.now();
    const staging = path.join(dataDir, `.restore-${now}`);
    const storeFiles = manifest.files.map((f) => f.name).filter((n) => (CHAIN_FILES as readonly string[]).includes(n));
    if (storeFiles.length === 0) throw new FastposError(ErrorCode.CORRUPT_DATA, `${backup} holds no chain store file`);
    fs.mkdirSync(staging);
    let aside: string | undefined;
    try {
      const bytes = manifest.files.filter((f) => storeFiles.includes(f.name)).reduce((s, f) => s + f.bytes, 0);
      const progress = new Progress({ label: 'copying the backup', total: bytes, unit: 'bytes', quiet: json });
      for (const f of storeFiles) copyFileDurably(path.join(backup, f), path.join(staging, f), progress);
      progress.finish();
      fsyncDir(staging);
      for (const f of manifest.files.filter((x) => storeFiles.includes(x.name))) {
        const h = hashFile(path.join(staging, f.name));
        if (h.sha256 !== f.sha256) throw new FastposError(ErrorCode.CORRUPT_DATA, `the copy of ${f.name} in ${staging} differs from the backup (disk error?); nothing was changed in ${dataDir}`);
      }
      const staged = await inspectStoreCopy(manifest.backend, staging);
      if (staged.height !== manifest.height || staged.blockHash !== manifest.blockHash || staged.stateRoot !== manifest.stateRoot) {
        throw new FastposError(ErrorCode.CORRUPT_DATA, `the backup's store opens at height ${staged.height} (${staged.blockHash}), not the manifest's ${manifest.height} (${manifest.blockHash}); nothing was changed in ${dataDir}`);
      }
      aside = path.join(dataDir, `replaced-${now}`);
      swapChainFiles(dataDir, staging, storeFiles, aside);
      if (installGenesis) fs.writeFileSync(path.join(dataDir, 'genesis.json'), JSON.stringify(backupGenesis, null, 2) + '\n');
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    // The restored store must open at the manifest's state root, recomputed from its entries.
    let check: StoreCheck;
    try {
      check = await checkStore({ dir: dataDir, backend: manifest.backend, genesisJson: backupGenesis, expect: manifest });
    } catch (e) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `the restored store in ${dataDir} does not check (${(e as Error).message}); the replaced files are in ${aside}: move them back to undo`);
    }
    if (manifest.backend !== config.stateBackend) warnings.push(`the backup's backend is ${manifest.backend}: set stateBackend: ${manifest.backend} (or --state-backend ${manifest.backend}) to start on this data dir`);
    const report = { ok: true, dataDir, backup, height: check.height, blockHash: check.blockHash, stateRoot: check.stateRoot, backend: manifest.backend, replaced: aside, guardLastSignedHeight: lastSigned, warnings };
    out(
      json,
      report,
      [`restored ${backup} into ${dataDir}: height ${check.height}, state root ${check.stateRoot} (checked)`, `the replaced chain files are in ${aside} (delete them once the node runs well)`, ...warnings.map((w) => `warning: ${w}`)].join('\n'),
    );
  } finally {
    lock.release();
  }
}

// ------------------------------------------------------------------ entry

export async function cmdBackup(args: string[], usage: Usage): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest, usage);
    case 'list':
      return list(rest, usage);
    case 'verify':
      return verify(rest, usage);
    case 'restore':
      return restore(rest, usage);
    default:
      throw usage('backup needs a subcommand: create, list, verify or restore');
  }
}
