/**
 * Snapshot sync against in-process peers serving a real chain (blocks
 * executed by the state machine, certificates signed with the dev validator
 * keys): a snapshot is taken by the node's own SnapshotMaker, served by an
 * honest peer, by one that corrupts a chunk and by one that serves a
 * manifest with a wrong state root; the light client's trust rules are
 * checked on their own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeStateValue, encodeStateValue, epochKey } from '../../../src/codec/state.js';
import { verifyTargetBlock, type LightHeader, type LightSource } from '../../../src/consensus/lightClient.js';
import { validatorSetForHeight } from '../../../src/consensus/validatorSet.js';
import { isFastposError } from '../../../src/errors.js';
import { StateSync, type ChunkStaging, type SnapshotSource } from '../../../src/node/stateSync.js';
import { defaultDevnetGenesis, genesisEntries } from '../../../src/state/genesis.js';
import { LtHash, ltElement } from '../../../src/state/ltHash.js';
import { decodeManifest, encodeManifest, summarize, type SnapshotManifest } from '../../../src/state/snapshot.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { EpochRecord, FinalizedBlock, Genesis } from '../../../src/types/index.js';
import { TestChain } from '../../helpers/chain.js';
import { takeSnapshot } from '../../helpers/snapshot.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, fatal: () => undefined };

function genesisWith(validators: number, epochLengthBlocks: number): Genesis {
  const g = defaultDevnetGenesis({ validators, accounts: 200 });
  return { ...g, params: { ...g.params, epochLengthBlocks } };
}

/** A chain of `n` empty blocks, each certified by every validator. */
function chainOf(g: Genesis, n: number): TestChain {
  const chain = new TestChain(g);
  for (let i = 0; i < n; i++) {
    const b = chain.build([]);
    chain.append(b, chain.certify(b.hash));
  }
  return chain;
}

const snapshotOf = takeSnapshot;

interface PeerBehaviour {
  corruptChunk?: boolean;
  wrongRoot?: boolean;
}

/** A source of several in-process peers over one chain and snapshot. */
function sourceOf(chain: TestChain, snap: { manifest: SnapshotManifest; chunks: Buffer[] }, peers: Record<string, PeerBehaviour>, penalties: Map<string, string[]>): SnapshotSource {
  const wireManifest = JSON.parse(JSON.stringify(encodeManifest(snap.manifest))) as Record<string, unknown>;
  const headerOf = (fb: FinalizedBlock): LightHeader => ({ header: fb.block.header, hash: fb.hash, commit: fb.commit });
  return {
    peers: () => Object.keys(peers),
    status: async () => ({ height: chain.tip.height, genesisHash: chain.tip.height > 0 ? chain.blocks[0]!.block.header.prevHash : '', earliestBlockHeight: 1 }),
    snapshots: async () => [summarize(snap.manifest)],
    manifest: async (peer) => {
      if (peers[peer]!.wrongRoot === true) return decodeManifest({ ...wireManifest, stateRoot: 'ab'.repeat(32) });
      return decodeManifest(wireManifest);
    },
    chunk: async (peer, _h, index) => {
      const data = Buffer.from(snap.chunks[index]!);
      if (peers[peer]!.corruptChunk === true) data[10] = data[10]! ^ 1;
      return data;
    },
    headers: async (_peer, from, limit) => chain.blocks.slice(from - 1, from - 1 + limit).map(headerOf),
    epoch: async (_peer, e) => decodeStateValue(epochKey(e), encodeStateValue(epochKey(e), chain.state.get(epochKey(e))!)) as EpochRecord,
    penalize: (peer, reason) => penalties.set(peer, [...(penalties.get(peer) ?? []), reason]),
  };
}

class MemoryStaging implements ChunkStaging {
  private chunks: Buffer[] = [];
  reset(n: number): void {
    this.chunks = new Array<Buffer>(n);
  }
  async put(i: number, data: Buffer): Promise<void> {
    this.chunks[i] = data;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const c of this.chunks) for (const line of c.toString('utf8').split('\n').filter((l) => l !== '')) yield JSON.parse(line) as [string, string];
  }
  clear(): void {
    this.chunks = [];
  }
}

function stateSyncFor(chain: TestChain, installed: { block?: FinalizedBlock; entries?: [string, string][]; accumulator?: Buffer }, trust?: { height: number; hash: string }): StateSync {
  return new StateSync({
    chainId: chain.chainId,
    genesisHash: chain.blocks[0]!.block.header.prevHash,
    params: chain.genesis.params,
    genesisSet: () => validatorSetForHeight(WorldState.fromEntries(genesisEntries(chain.genesis)), 1, chain.genesis.params),
    trust,
    log: silent,
    clock: { now: () => 0, monotonic: () => 0 },
    staging: new MemoryStaging(),
    install: async (block, entries, accumulator) => {
      installed.block = block;
      installed.entries = [...entries].map(([k, v]) => [k, v]);
      installed.accumulator = accumulator;
    },
    timeoutMs: 60_000,
    parallel: 4,
    random: () => 0,
  });
}

describe('snapshot sync', () => {
  it('behavior: a corrupted chunk and a wrong state root are detected, both peers penalized, and the state installed from the honest peer', async () => {
    const chain = chainOf(genesisWith(4, 5), 23);
    const snap = await snapshotOf(chain, 1024);
    assert.ok(snap.chunks.length >= 4, `several chunks (${snap.chunks.length})`);
    const penalties = new Map<string, string[]>();
    const source = sourceOf(chain, snap, { 'http://corrupt': { corruptChunk: true }, 'http://wrong-root': { wrongRoot: true }, 'http://honest': {} }, penalties);
    const installed: { block?: FinalizedBlock; entries?: [string, string][]; accumulator?: Buffer } = {};
    const sync = stateSyncFor(chain, installed);
    const height = await sync.run(source, await sync.survey(source), 0);
    assert.equal(height, 23);
    assert.equal(installed.block?.hash, chain.blocks[22]!.hash);
    const acc = new LtHash();
    for (const [k, v] of installed.entries!) acc.add(ltElement(k, v));
    assert.equal(acc.digest(), chain.state.stateRoot, 'the installed entries hash to the certified state root');
    assert.equal(installed.entries!.length, chain.state.size);
    assert.deepEqual([...penalties.keys()].sort(), ['http://corrupt', 'http://wrong-root']);
    assert.match(penalties.get('http://corrupt')!.join(' '), /chunk \d+: chunk bytes do not hash/);
    assert.match(penalties.get('http://wrong-root')!.join(' '), /add up to state root/);
  });

  it('behavior: with no honest peer, the attempt ends with null (and the reason logged), never hangs', async () => {
    const chain = chainOf(genesisWith(4, 5), 12);
    const snap = await snapshotOf(chain, 1024);
    const penalties = new Map<string, string[]>();
    const source = sourceOf(chain, snap, { 'http://corrupt': { corruptChunk: true } }, penalties);
    const sync = stateSyncFor(chain, {});
    assert.equal(await sync.run(source, await sync.survey(source), 0), null);
    assert.ok(penalties.has('http://corrupt'));
  });

  it('behavior: a snapshot is checked against a trust point by hash links; a wrong trusted hash refuses it', async () => {
    const chain = chainOf(genesisWith(4, 5), 30);
    const snap = await snapshotOf(chain, 4096);
    const penalties = new Map<string, string[]>();
    const source = sourceOf(chain, snap, { 'http://honest': {} }, penalties);
    const good = stateSyncFor(chain, {}, { height: 30, hash: chain.blocks[29]!.hash });
    assert.equal(await good.run(source, await good.survey(source), 0), 30);
    const bad = stateSyncFor(chain, {}, { height: 30, hash: 'cd'.repeat(32) });
    assert.equal(await bad.run(source, await bad.survey(source), 0), null);
    assert.match(penalties.get('http://honest')!.join(' '), /not the trusted/);
  });
});

describe('light client', () => {
  const chain = chainOf(genesisWith(4, 5), 27);
  const genesisSet = validatorSetForHeight(WorldState.fromEntries(genesisEntries(chain.genesis)), 1, chain.genesis.params);
  const source: LightSource = {
    headers: async (from, limit) => chain.blocks.slice(from - 1, from - 1 + limit).map((fb) => ({ header: fb.block.header, hash: fb.hash, commit: fb.commit })),
    epoch: async (e) => chain.state.get(epochKey(e)) as EpochRecord,
  };
  const target = (h: number): LightHeader => ({ header: chain.blocks[h - 1]!.block.header, hash: chain.blocks[h - 1]!.hash, commit: chain.blocks[h - 1]!.commit });
  const expectSnapshotError = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => isFastposError(e) && re.test(e.message));
  };

  it('from the genesis across epochs; from a trust point below and above the target', async () => {
    await verifyTargetBlock({ chainId: chain.chainId, params: chain.genesis.params, genesisSet, target: target(27), source });
    await verifyTargetBlock({ chainId: chain.chainId, params: chain.genesis.params, genesisSet, trust: { height: 25, hash: chain.blocks[24]!.hash }, target: target(12), source });
    await verifyTargetBlock({ chainId: chain.chainId, params: chain.genesis.params, genesisSet, trust: { height: 7, hash: chain.blocks[6]!.hash }, target: target(27), source });
  });

  it('refuses a certificate short of 2/3, a header that is not linked to the trusted one, and a set not vouched for by the previous one', async () => {
    const t = target(27);
    const short = { ...t, commit: { ...t.commit, signatures: t.commit.signatures.slice(0, 2) } };
    await assert.rejects(verifyTargetBlock({ chainId: chain.chainId, params: chain.genesis.params, genesisSet, target: short, source }), /needs at least 2\/3/);
    await expectSnapshotError(
      verifyTargetBlock({ chainId: chain.chainId, params: chain.genesis.params, genesisSet, trust: { height: 25, hash: 'ef'.repeat(32) }, target: target(12), source }),
      /not the trusted/,
    );
    // A chain whose validators are other keys (dev validators 4..7 after genesis keys 0..3) cannot be vouched for by the genesis set.
    const foreign = chainOf({ ...genesisWith(4, 5), validators: defaultDevnetGenesis({ validators: 8 }).validators.slice(4) }, 12);
    const foreignSource: LightSource = {
      headers: async (from, limit) => foreign.blocks.slice(from - 1, from - 1 + limit).map((fb) => ({ header: fb.block.header, hash: fb.hash, commit: fb.commit })),
      epoch: async (e) => foreign.state.get(epochKey(e)) as EpochRecord,
    };
    const foreignTarget = { header: foreign.blocks[11]!.block.header, hash: foreign.blocks[11]!.hash, commit: foreign.blocks[11]!.commit };
    await expectSnapshotError(verifyTargetBlock({ chainId: chain.chainId, params: chain.genesis.params, genesisSet, target: foreignTarget, source: foreignSource }), /vouched for by 0/);
  });
});
