// The world state of a SQLite node read from the store's rows (DiskState):
// the same roots, reads and sizes as the in-memory state over random blocks;
// reads between a block's durable commit and its `apply` give the previous
// height's state; the damage check of an open without entries; the walk of
// the state at one height while later blocks commit. Real SQLite files, the
// real writer thread, real LtHash.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { BLOCK_VERSION, blockHash, commitHash, evidenceListHash } from '../../../src/codec/block.js';
import { txRoot } from '../../../src/codec/merkle.js';
import { accountKey, encodeStateValue, type StateValue } from '../../../src/codec/state.js';
import { addressFromPubKey, createSigner, devValidatorPrivateKey, sha256Hex } from '../../../src/crypto/index.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { SnapshotMaker } from '../../../src/node/snapshotMaker.js';
import type { SnapshotManifest } from '../../../src/state/snapshot.js';
import { WorldState, type StateChanges, type StateDiff } from '../../../src/state/worldState.js';
import { SqliteChainStore } from '../../../src/storage/index.js';
import type { BlockCommit } from '../../../src/storage/types.js';
import type { Account, Commit, FinalizedBlock } from '../../../src/types/index.js';
import { chunkEntries } from '../../helpers/snapshot.js';
import { tempDir } from './fixtures.js';

const CHAIN_ID = 'fastpos-disk-state-test';
const GENESIS_HASH = sha256Hex('genesis-' + CHAIN_ID);
const signer = createSigner(devValidatorPrivateKey(0));
const validatorId = addressFromPubKey(signer.publicKey);

const dirs: string[] = [];
/** Every store opened here: closed at the end even when a test failed half way (a writer thread would keep the process alive). */
const stores: SqliteChainStore[] = [];
after(async () => {
  for (const st of stores) await st.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const addr = (i: number): string => sha256Hex(`account ${i}`).slice(0, 40);
const key = (i: number): string => accountKey(addr(i));

/** An empty block at `height` whose header names `stateRoot`, with a certificate by one validator. */
function emptyBlock(height: number, prev: FinalizedBlock | null, stateRoot: string): FinalizedBlock {
  const header = {
    version: BLOCK_VERSION,
    chainId: CHAIN_ID,
    height,
    round: 0,
    timestamp: 1_767_225_600_000 + height * 1000,
    prevHash: prev?.hash ?? GENESIS_HASH,
    proposer: validatorId,
    txRoot: txRoot([]),
    txCount: 0,
    stateRoot,
    validatorSetHash: sha256Hex('validator-set'),
    lastCommitHash: commitHash(prev?.commit ?? null),
    evidenceHash: evidenceListHash([]),
  };
  const hash = blockHash(header);
  const commit: Commit = { height, round: 0, blockHash: hash, signatures: [{ validatorId, signature: signer.sign(Buffer.from(hash, 'hex')) }] };
  return { block: { header, txs: [], lastCommit: prev?.commit ?? null, evidence: [] }, hash, results: [], commit };
}

/** A chain on a SQLite store whose state is read through the store's source, next to the same state in memory. */
class TwoStates {
  readonly dir = tempDir('disk-state');
  readonly store = new SqliteChainStore(this.dir);
  readonly memory: WorldState;
  readonly disk: WorldState;
  latest: FinalizedBlock | null = null;

  constructor(genesis: [string, StateValue][], cacheEntries: number) {
    dirs.push(this.dir);
    stores.push(this.store);
    this.memory = WorldState.fromEntries(genesis);
    this.store.openWithoutEntries();
    this.store.initGenesisRows(GENESIS_HASH, genesis.map(([k, v]) => [k, encodeStateValue(k, v)] as const), this.memory.accumulatorBytes);
    this.disk = WorldState.fromSource(this.store.stateSource(cacheEntries), this.memory.accumulatorBytes);
  }

  /** The commit of the next block with `d`'s changes. */
  commitOf(d: StateDiff): BlockCommit {
    const block = emptyBlock((this.latest?.block.header.height ?? 0) + 1, this.latest, d.stateRoot);
    this.latest = block;
    return { block, changes: d.encoded, accumulator: d.accumulator.toBytes() };
  }
}

const account = (balance: number, nonce: number): Account => ({ balance: BigInt(balance), nonce });
const KEYS = 24;

/** A block's changes: keys from a small universe set to an account or deleted. */
const changesArb = fc
  .array(fc.record({ k: fc.integer({ min: 0, max: KEYS - 1 }), del: fc.boolean(), balance: fc.integer({ min: 0, max: 1_000_000 }), nonce: fc.integer({ min: 0, max: 50 }) }), { minLength: 1, maxLength: 6 })
  .map((xs) => {
    const m = new Map<string, StateValue | null>();
    for (const x of xs) m.set(key(x.k), x.del ? null : account(x.balance, x.nonce));
    return m as StateChanges;
  });

function assertSameReads(a: WorldState, b: WorldState, what: string): void {
  for (let i = 0; i < KEYS; i++) assert.deepEqual(b.get(key(i)), a.get(key(i)), `${what}: key ${i}`);
  assert.equal(b.size, a.size, `${what}: size`);
  assert.equal(b.stateRoot, a.stateRoot, `${what}: root`);
}

describe('WorldState over the SQLite store', () => {
  it('property: the same roots, reads and sizes as the in-memory state over random blocks; reads before apply give the previous height', async () => {
    const genesis: [string, StateValue][] = Array.from({ length: KEYS / 2 }, (_, i) => [key(i), account(1000 + i, 0)]);
    // A cache smaller than the keys used, so that reads go to the rows too.
    const s = new TwoStates(genesis, 5);
    const blocks = fc.sample(fc.array(changesArb, { minLength: 300, maxLength: 300 }), { numRuns: 1, seed: 20_261_203 })[0]!;
    let height = 0;
    for (const changes of blocks) {
      height++;
      const dm = s.memory.diff(changes);
      const dd = s.disk.diff(changes);
      assert.equal(dd.stateRoot, dm.stateRoot, `block ${height}: diff root`);
      assert.deepEqual([...dd.encoded], [...dm.encoded], `block ${height}: encoded changes`);
      await s.store.commitBlock(s.commitOf(dd));
      // Durable, not applied: the head still reads the previous height.
      assertSameReads(s.memory, s.disk, `block ${height} committed, not applied`);
      s.memory.apply(dm);
      s.disk.apply(dd);
      assertSameReads(s.memory, s.disk, `block ${height} applied`);
    }
    const sorted = (w: WorldState): [string, StateValue][] => [...w.allEntries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    assert.deepEqual(sorted(s.disk), sorted(s.memory));
    const acc = s.memory.accumulatorBytes;
    await s.store.close();
    // Reopened without entries: the streamed damage check passes and the source reads the same state.
    const again = new SqliteChainStore(s.dir);
    stores.push(again);
    const loaded = again.openWithoutEntries();
    assert.deepEqual(loaded.entries, []);
    assert.equal(loaded.height, 300);
    assert.ok(loaded.accumulator?.equals(acc));
    assertSameReads(s.memory, WorldState.fromSource(again.stateSource(), loaded.accumulator!), 'reopened');
    await again.close();
  });

  it('behavior: between the durable commit and apply, a key created reads absent, a key deleted and a key changed read their old values', async () => {
    const s = new TwoStates([[key(0), account(100, 0)], [key(1), account(200, 0)]], 1000);
    // Warm the cache with the old values, as a node's reads would.
    assert.deepEqual(s.disk.get(key(0)), account(100, 0));
    assert.equal(s.disk.get(key(2)), undefined);
    const changes: StateChanges = new Map<string, StateValue | null>([
      [key(0), null],
      [key(1), account(150, 1)],
      [key(2), account(50, 0)],
    ]);
    const d = s.disk.diff(changes);
    const commit = s.store.commitBlock(s.commitOf(d));
    const before = (): void => {
      assert.deepEqual(s.disk.get(key(0)), account(100, 0), 'deleted key');
      assert.deepEqual(s.disk.get(key(1)), account(200, 0), 'changed key');
      assert.equal(s.disk.get(key(2)), undefined, 'created key');
      assert.equal(s.disk.size, 2);
      assert.deepEqual([...s.disk.allEntries()].map(([k]) => k), [key(0), key(1)].sort());
    };
    before();
    await commit;
    // The rows say the new height now; the head does not.
    const db = new Database(`${s.dir}/chain.sqlite`, { readonly: true });
    assert.equal(db.prepare('SELECT COUNT(*) FROM state WHERE key = ?').pluck().get(key(0)), 0);
    db.close();
    before();
    s.disk.apply(d);
    assert.equal(s.disk.get(key(0)), undefined);
    assert.deepEqual(s.disk.get(key(1)), account(150, 1));
    assert.deepEqual(s.disk.get(key(2)), account(50, 0));
    assert.equal(s.disk.size, 2);
    await s.store.close();
  });

  it('behavior: two commits durable before either is applied: each apply moves the reads one height', async () => {
    const s = new TwoStates([[key(0), account(1, 0)]], 1000);
    const d1 = s.disk.diff(new Map([[key(0), account(2, 0)]]));
    const next = WorldState.fromEntries([[key(0), account(2, 0)]]);
    const d2 = next.diff(new Map<string, StateValue | null>([[key(0), null], [key(1), account(3, 0)]]));
    await s.store.commitBlock(s.commitOf(d1));
    await s.store.commitBlock(s.commitOf(d2));
    assert.deepEqual([s.disk.get(key(0)), s.disk.get(key(1))], [account(1, 0), undefined]);
    s.disk.apply(d1);
    assert.deepEqual([s.disk.get(key(0)), s.disk.get(key(1))], [account(2, 0), undefined]);
    s.disk.apply(d2);
    assert.deepEqual([s.disk.get(key(0)), s.disk.get(key(1))], [undefined, account(3, 0)]);
    assert.equal(s.disk.stateRoot, d2.stateRoot);
    await s.store.close();
  });

  for (const [mode, writerThread] of [['writer thread', true], ['inline commits', false]] as const) {
    it(`behavior: a failing commit leaves no pinned values behind; the next good commit and its apply read right (${mode})`, async () => {
      const s = new TwoStates([[key(0), account(1, 0)]], 1000);
      await s.store.close();
      const store = new SqliteChainStore(s.dir, { writerThread });
      stores.push(store);
      const loaded = store.openWithoutEntries();
      const world = WorldState.fromSource(store.stateSource(), loaded.accumulator!);
      const d = world.diff(new Map([[key(0), account(2, 0)]]));
      const good = s.commitOf(d);
      // A state row without a key: the transaction aborts after the block rows were written.
      const bad: BlockCommit = { ...good, changes: new Map([...good.changes, [null as unknown as string, '{"balance":"1","nonce":0}']]) };
      await assert.rejects(store.commitBlock(bad), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INTERNAL);
      assert.deepEqual(world.get(key(0)), account(1, 0));
      await store.commitBlock(good);
      assert.deepEqual(world.get(key(0)), account(1, 0), 'durable, not applied');
      world.apply(d);
      assert.deepEqual(world.get(key(0)), account(2, 0));
      const d2 = world.diff(new Map([[key(0), account(3, 0)]]));
      await store.commitBlock(s.commitOf(d2));
      world.apply(d2);
      assert.deepEqual(world.get(key(0)), account(3, 0));
      await store.close();
    });
  }

  it('behavior: a walk of the state keeps its height while later blocks commit', async () => {
    const genesis: [string, StateValue][] = Array.from({ length: 10 }, (_, i) => [key(i), account(i, 0)]);
    const s = new TwoStates(genesis, 1000);
    const walk = s.store.walkState();
    assert.equal(walk.height, 0);
    const first = walk.rows.next();
    for (let h = 1; h <= 3; h++) {
      const d = s.disk.diff(new Map<string, StateValue | null>([[key(h), null], [key(100 + h), account(h, h)]]));
      await s.store.commitBlock(s.commitOf(d));
      s.disk.apply(d);
    }
    const rows = [first.value as [string, string], ...(function* () {
      for (let r = walk.rows.next(); r.done !== true; r = walk.rows.next()) yield r.value;
    })()];
    walk.close();
    assert.deepEqual(rows, genesis.map(([k, v]) => [k, encodeStateValue(k, v)]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    const later = s.store.walkState();
    assert.equal(later.height, 3);
    later.close();
    await s.store.close();
  });
});

describe('SqliteChainStore.openWithoutEntries: damage detection', () => {
  async function storedChain(): Promise<string> {
    const s = new TwoStates(Array.from({ length: 5 }, (_, i) => [key(i), account(i + 1, 0)] as [string, StateValue]), 1000);
    const d = s.disk.diff(new Map([[key(0), account(7, 1)]]));
    await s.store.commitBlock(s.commitOf(d));
    await s.store.close();
    return s.dir;
  }
  function assertCorrupt(dir: string, sql: string, what: RegExp): void {
    const db = new Database(`${dir}/chain.sqlite`);
    db.exec(sql);
    db.close();
    const store = new SqliteChainStore(dir);
    assert.throws(
      () => store.openWithoutEntries(),
      (e: unknown) => e instanceof FastposError && e.code === ErrorCode.CORRUPT_DATA && e.message.includes('chain.sqlite') && what.test(e.message),
    );
  }

  it('error: a state row changed to another valid value', async () => {
    assertCorrupt(await storedChain(), `UPDATE state SET value = '{"balance":"999","nonce":0}' WHERE key = '${key(3)}'`, /state commitment does not match/);
  });

  it('error: a state row deleted', async () => {
    assertCorrupt(await storedChain(), `DELETE FROM state WHERE key = '${key(2)}'`, /state commitment does not match/);
  });

  it('error: a state row that does not decode', async () => {
    assertCorrupt(await storedChain(), `UPDATE state SET value = 'not json' WHERE key = '${key(1)}'`, /state row/);
  });

  it('default: an intact store opens', async () => {
    const dir = await storedChain();
    const store = new SqliteChainStore(dir);
    stores.push(store);
    assert.equal(store.openWithoutEntries().height, 1);
    await store.close();
  });
});

describe('SnapshotMaker over the SQLite rows', () => {
  const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, fatal: () => undefined };

  it('behavior: a snapshot walked while later blocks commit and apply between its slices holds the state of its own height', async () => {
    const genesis: [string, StateValue][] = Array.from({ length: 5000 }, (_, i) => [key(i), account(i + 1, 0)]);
    const s = new TwoStates(genesis, 100);
    const d1 = s.disk.diff(new Map([[key(1), account(5, 5)]]));
    await s.store.commitBlock(s.commitOf(d1));
    s.disk.apply(d1);
    const snapBlock = s.latest!;
    const root = s.disk.stateRoot;
    const chunks: Buffer[] = [];
    let manifest: SnapshotManifest | null = null;
    let pauses = 0;
    const maker = new SnapshotMaker({
      everyBlocks: 1,
      chunkBytes: 4096,
      chainId: CHAIN_ID,
      log: silent,
      begin: () => ({ chunk: async (i, data) => void (chunks[i] = data), finish: async (m) => void (manifest = m), abort: async () => undefined }),
      // Between slices: the next block changes and deletes keys of the state being walked, and is applied.
      pause: async () => {
        pauses++;
        const d = s.disk.diff(new Map<string, StateValue | null>([[key(pauses), null], [key(4000 + pauses), account(0, 9)], [key(9000 + pauses), account(1, 1)]]));
        await s.store.commitBlock(s.commitOf(d));
        s.disk.apply(d);
      },
      monotonic: () => 0,
    });
    maker.committedRows(snapBlock, () => s.store.walkState());
    await maker.idle();
    assert.ok(pauses >= 2, 'blocks were committed during the walk');
    assert.ok(manifest !== null, 'the snapshot was taken');
    const m = manifest as SnapshotManifest;
    assert.equal(m.height, 1);
    assert.equal(m.stateRoot, root);
    assert.equal(m.entries, genesis.length);
    const rows = chunkEntries(chunks);
    assert.equal(rows.find(([k]) => k === key(1))?.[1], encodeStateValue(key(1), account(5, 5)));
    await s.store.close();
  });

  it('error: rows of another height than the block are not used (skipped, released)', async () => {
    const s = new TwoStates([[key(0), account(1, 0)]], 10);
    const d = s.disk.diff(new Map([[key(0), account(2, 0)]]));
    await s.store.commitBlock(s.commitOf(d));
    s.disk.apply(d);
    const warnings: string[] = [];
    let begun = 0;
    const maker = new SnapshotMaker({
      everyBlocks: 1,
      chunkBytes: 4096,
      chainId: CHAIN_ID,
      log: { ...silent, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) },
      begin: () => {
        begun++;
        return { chunk: async () => undefined, finish: async () => undefined, abort: async () => undefined };
      },
      pause: async () => undefined,
      monotonic: () => 0,
    });
    let closed = false;
    const walk = s.store.walkState();
    maker.committedRows(emptyBlock(2, s.latest, d.stateRoot), () => ({ ...walk, close: () => ((closed = true), walk.close()) }));
    await maker.idle();
    assert.equal(begun, 0);
    assert.ok(closed);
    assert.match(warnings.join('\n'), /another height/);
    await s.store.close();
  });
});
