/**
 * `fastpos migrate-state --data-dir DIR --from sqlite|snapshot --to snapshot|sqlite`:
 * moves a stopped data dir's chain to the other storage backend.
 *
 * The source store is opened where it is; the target backend's files are
 * built in a folder of their own inside the data dir (`.migrate-<ms>`) by
 * `copyChain` (storage/migrate.ts: every header, block and state entry); the
 * copy must reopen at the same height, latest block and state root
 * (recomputed from its entries). Only then are the source files moved aside
 * (`migrated-from-<backend>-<ms>`, not deleted) and the new files put in
 * their place. The node must then be started with `stateBackend` set to the
 * new backend, which the command prints.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { ErrorCode, FastposError } from '../errors.js';
import { fsyncDir } from '../storage/common.js';
import { BLOCK_LOG_FILE, HEADER_LOG_FILE, SQLITE_FILE, STATE_FILE, createChainStore, type StorageBackend } from '../storage/index.js';
import { copyChain } from '../storage/migrate.js';
import { WorldState } from '../state/worldState.js';
import { lockStoppedDataDir } from './backup.js';
import { explainParseError } from './args.js';
import { Progress } from './progress.js';

type Usage = (message: string) => Error;

/** The files each backend keeps in a data dir. */
const FILES: Record<StorageBackend, readonly string[]> = {
  sqlite: [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`],
  snapshot: [STATE_FILE, `${STATE_FILE}.tmp`, BLOCK_LOG_FILE, HEADER_LOG_FILE],
};
/** The file that holds a backend's chain (the others may be absent). */
const MAIN_FILE: Record<StorageBackend, string> = { sqlite: SQLITE_FILE, snapshot: STATE_FILE };

function backendArg(v: string | undefined, name: string, usage: Usage): StorageBackend {
  if (v === 'sqlite' || v === 'snapshot') return v;
  throw usage(`--${name} must be sqlite or snapshot${v === undefined ? '' : `, got "${v}"`}`);
}

export interface MigrateReport {
  readonly ok: true;
  readonly dataDir: string;
  readonly from: StorageBackend;
  readonly to: StorageBackend;
  readonly height: number;
  readonly latestHash: string;
  readonly stateRoot: string;
  readonly stateEntries: number;
  readonly movedAside: string;
  readonly seconds: number;
}

/** The store's tip and its state root recomputed from every entry. */
async function tipOf(backend: StorageBackend, dir: string): Promise<{ height: number; hash: string | null; stateRoot: string; entries: number; genesisHash: string | null; headerRoot: string | null }> {
  const store = createChainStore(backend, dir, { writerThread: false });
  try {
    const loaded = store.open();
    const world = WorldState.fromEntries(loaded.entries);
    return { height: loaded.height, hash: loaded.latest?.hash ?? null, stateRoot: world.stateRoot, entries: world.size, genesisHash: loaded.genesisHash, headerRoot: loaded.latest?.block.header.stateRoot ?? null };
  } finally {
    await store.close();
  }
}

export async function migrateState(p: { dataDir: string; from: StorageBackend; to: StorageBackend; quiet: boolean }): Promise<MigrateReport> {
  const t0 = performance.now();
  const { from, to } = p;
  const dataDir = path.resolve(p.dataDir);
  if (from === to) throw new FastposError(ErrorCode.INVALID_CONFIG, `--from and --to are both ${from}: nothing to migrate`);
  const lock = lockStoppedDataDir(dataDir, 'migrate its state', 'stop the node first (SIGTERM, and wait until it exits), then run migrate-state again');
  try {
    if (!fs.existsSync(path.join(dataDir, MAIN_FILE[from]))) {
      throw new FastposError(ErrorCode.INVALID_CONFIG, `${path.join(dataDir, MAIN_FILE[from])} does not exist: ${dataDir} holds no ${from} chain (check --data-dir and --from)`);
    }
    const present = FILES[to].filter((f) => fs.existsSync(path.join(dataDir, f)));
    if (present.length > 0) {
      throw new FastposError(ErrorCode.INVALID_CONFIG, `${dataDir} already holds ${present.join(', ')} of the ${to} backend: move them out of the data dir first (a migration never overwrites a chain)`);
    }
    const source = await tipOf(from, dataDir);
    if (source.genesisHash === null || source.hash === null) throw new FastposError(ErrorCode.INVALID_CONFIG, `${dataDir} holds no finalized block yet: nothing to migrate (start the node on the ${to} backend instead)`);
    if (source.stateRoot !== source.headerRoot) throw new FastposError(ErrorCode.CORRUPT_DATA, `${dataDir}: the stored ${from} state hashes to ${source.stateRoot}, block ${source.height} names ${source.headerRoot}; restore from a backup first`);

    const now = Date.now();
    const staging = path.join(dataDir, `.migrate-${now}`);
    fs.mkdirSync(staging);
    let aside: string;
    try {
      // Entries, then headers and blocks (together at most the height): copyChain reports every 10,000 of each.
      const progress = new Progress({ label: `copying the chain to ${to}`, total: source.entries + source.height, unit: 'items', quiet: p.quiet });
      const done = { entries: 0, headers: 0, blocks: 0 };
      const src = createChainStore(from, dataDir, { writerThread: false });
      const dst = createChainStore(to, staging, { writerThread: false });
      try {
        src.open();
        dst.open();
        await copyChain(src, dst, (x) => {
          done[x.phase] = x.done;
          progress.update(done.entries + done.headers + done.blocks);
        });
        progress.update(source.entries + source.height);
      } finally {
        await dst.close();
        await src.close();
      }
      progress.finish();
      // Reopened on its own, its state root recomputed from every entry.
      const target = await tipOf(to, staging);
      if (target.genesisHash !== source.genesisHash || target.height !== source.height || target.hash !== source.hash || target.stateRoot !== source.stateRoot) {
        throw new FastposError(
          ErrorCode.CORRUPT_DATA,
          `the ${to} copy is at height ${target.height} (${target.hash}, state root ${target.stateRoot}), the ${from} source at ${source.height} (${source.hash}, state root ${source.stateRoot}); nothing was changed in ${dataDir}`,
        );
      }
      // Switch: the source files aside (kept), the copy's files in their place.
      aside = path.join(dataDir, `migrated-from-${from}-${now}`);
      fs.mkdirSync(aside);
      for (const f of FILES[from]) if (fs.existsSync(path.join(dataDir, f))) fs.renameSync(path.join(dataDir, f), path.join(aside, f));
      fsyncDir(aside);
      const made = FILES[to].filter((f) => fs.existsSync(path.join(staging, f)));
      // The block log before the state file: the state file's height is the snapshot store's commit point.
      for (const f of made.sort((a, b) => (a === STATE_FILE ? 1 : b === STATE_FILE ? -1 : 0))) fs.renameSync(path.join(staging, f), path.join(dataDir, f));
      fsyncDir(dataDir);
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    return {
      ok: true,
      dataDir,
      from,
      to,
      height: source.height,
      latestHash: source.hash,
      stateRoot: source.stateRoot,
      stateEntries: source.entries,
      movedAside: aside,
      seconds: Math.round((performance.now() - t0) / 10) / 100,
    };
  } finally {
    lock.release();
  }
}

const MIGRATE_OPTIONS = { config: { type: 'string' }, 'data-dir': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } } as const;

export async function cmdMigrateState(args: string[], usage: Usage): Promise<void> {
  let values: { [k: string]: string | boolean | undefined };
  try {
    values = parseArgs({ args, options: MIGRATE_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw usage(explainParseError(e as Error, args, Object.keys(MIGRATE_OPTIONS)));
  }
  const from = backendArg(values.from as string | undefined, 'from', usage);
  const to = backendArg(values.to as string | undefined, 'to', usage);
  const argv: string[] = [];
  if (typeof values.config === 'string') argv.push('--config', values.config);
  if (typeof values['data-dir'] === 'string') argv.push('--data-dir', values['data-dir']);
  const { config } = loadConfig({ argv, env: process.env });
  const json = values.json === true;
  const r = await migrateState({ dataDir: config.dataDir, from, to, quiet: json });
  process.stdout.write(
    json
      ? JSON.stringify(r, null, 2) + '\n'
      : [
          `migrated ${r.dataDir} from ${from} to ${to}: height ${r.height}, state root ${r.stateRoot} (${r.stateEntries} entries, equal on both)`,
          `the ${from} files are in ${r.movedAside} (delete them once the node runs well)`,
          `now set stateBackend: ${to} in config.yaml (or --state-backend ${to}, FASTPOS_STATE_BACKEND=${to}) before starting the node`,
        ].join('\n') + '\n',
  );
}
