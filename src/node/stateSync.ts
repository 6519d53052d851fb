/**
 * Snapshot sync: a node with an empty store, far behind, or behind the
 * blocks its peers still keep installs a certified state snapshot instead of
 * replaying every block, then continues block by block.
 *
 * 1. Every peer is asked where it stands and which snapshots it holds; the
 *    snapshots above this node's height are grouped by identity (same chunk
 *    list: their chunks are interchangeable), the highest first.
 * 2. The manifest is fetched from one peer that offers it and checked: its
 *    block is the one it names, its chunks' LtHashes add up to that block's
 *    state root (state/snapshot.ts), and the block is the chain's finalized
 *    block at that height (consensus/lightClient.ts, from the genesis or the
 *    configured trust point). A peer whose manifest fails is penalized and
 *    the next one asked.
 * 3. Chunks are fetched from every peer that offers the snapshot, a few at a
 *    time; each is checked on arrival (size, SHA-256, key order, LtHash). A
 *    bad or failed chunk penalizes its peer, which gets no more chunks, and
 *    is fetched from another one.
 * 4. The state is installed (atomically, by the store) and the node resumes
 *    from the snapshot's block.
 *
 * Every request is bounded by the transport; the whole attempt by
 * `timeoutMs`. Whatever fails is logged with its reason and the caller falls
 * back to blocks or tries again later: this never waits forever.
 * @module
 */
import { verifyTargetBlock, type LightHeader, type TrustPoint } from '../consensus/lightClient.js';
import { ErrorCode, FastposError, FatalError, isFastposError } from '../errors.js';
import { LtHash } from '../state/ltHash.js';
import { checkChunk, type SnapshotManifest, type SnapshotSummary } from '../state/snapshot.js';
import type { ChainParams, EpochRecord, FinalizedBlock, ValidatorSet } from '../types/index.js';
import type { Clock, Log } from './context.js';
import { shuffled } from './sync.js';

/** Where snapshots come from (the peers, through the transport). */
export interface SnapshotSource {
  peers(): string[];
  status(peer: string): Promise<{ height: number; genesisHash: string; earliestBlockHeight?: number | undefined }>;
  snapshots(peer: string): Promise<SnapshotSummary[]>;
  /** A manifest, decoded and checked in itself (decodeManifest). */
  manifest(peer: string, height: number): Promise<SnapshotManifest>;
  chunk(peer: string, height: number, index: number, maxBytes: number): Promise<Buffer>;
  headers(peer: string, from: number, limit: number): Promise<LightHeader[]>;
  epoch(peer: string, epoch: number): Promise<EpochRecord>;
  penalize?(peer: string, reason: string): void;
  served?(peer: string): void;
}

/** Where checked chunks wait until the state is installed. */
export interface ChunkStaging {
  reset(chunks: number): void;
  put(index: number, data: Buffer): Promise<void>;
  /** Every entry of the staged chunks, in chunk order. */
  entries(): Iterable<readonly [string, string]>;
  clear(): void;
}

export interface StateSyncDeps {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly params: Pick<ChainParams, 'epochLengthBlocks'>;
  /** The set of epoch 0, or how to get it (asked only when a snapshot is checked). */
  readonly genesisSet: ValidatorSet | (() => ValidatorSet);
  readonly trust?: TrustPoint | undefined;
  readonly log: Log;
  readonly clock: Clock;
  readonly staging: ChunkStaging;
  /** Installs the state (the node stops consensus, installs into the store, reloads its head, resumes). */
  readonly install: (block: FinalizedBlock, entries: Iterable<readonly [string, string]>, accumulator: Buffer) => Promise<void>;
  /** Longest one attempt may take, from choosing a snapshot to installing it. */
  readonly timeoutMs: number;
  /** Chunk requests in flight at once (spread over the peers). */
  readonly parallel?: number;
  /** Uniform in [0, 1): the order in which peers are asked. */
  readonly random: () => number;
}

/** What a peer said of itself in a survey. */
export interface PeerStanding {
  readonly peer: string;
  readonly height: number;
  readonly earliestBlockHeight: number;
}

/** Progress of a snapshot sync, for /sync/status, metrics and logs. */
export interface SnapshotProgress {
  readonly phase: 'choosing' | 'verifying' | 'downloading' | 'installing';
  readonly height: number;
  readonly chunksDone: number;
  readonly chunks: number;
  readonly entriesDone: number;
  readonly entries: number;
  readonly startedAt: number;
}

/** Failed chunk requests (lost or slow, not bad data) after which a peer gets no more chunks in an attempt. */
const CHUNK_TRIES = 3;
/** Tries of each header or epoch-set request of the light-client check (each bounded by the transport). */
const LIGHT_TRIES = 3;
/** How often progress is logged while chunks arrive. */
const LOG_EVERY_MS = 5000;

export class StateSync {
  private running = false;
  private progressValue: SnapshotProgress | null = null;
  private lastLog = 0;
  /** Why the last `run` installed nothing: no snapshot above this node's height was offered, or every one offered failed. */
  outcome: 'none offered' | 'failed' | null = null;

  constructor(private readonly deps: StateSyncDeps) {}

  get progress(): SnapshotProgress | null {
    return this.progressValue;
  }

  /** Asks every peer (at once) where it stands: height and earliest whole block kept; peers that fail or are of another chain are left out. */
  async survey(source: SnapshotSource): Promise<PeerStanding[]> {
    const answers = await Promise.allSettled(
      source.peers().map(async (peer): Promise<PeerStanding | null> => {
        const st = await source.status(peer);
        if (st.genesisHash !== this.deps.genesisHash) return null;
        return { peer, height: st.height, earliestBlockHeight: st.earliestBlockHeight ?? 1 };
      }),
    );
    return answers.flatMap((a) => (a.status === 'fulfilled' && a.value !== null ? [a.value] : []));
  }

  /** The snapshots that peers ahead of `localHeight` hold (asked at once; a peer that fails offers none). */
  private async listings(source: SnapshotSource, standings: readonly PeerStanding[], localHeight: number): Promise<{ peer: string; snapshots: SnapshotSummary[] }[]> {
    const ahead = standings.filter((s) => s.height > localHeight);
    const lists = await Promise.allSettled(ahead.map(async (s) => ({ peer: s.peer, snapshots: await source.snapshots(s.peer) })));
    return lists.flatMap((l) => (l.status === 'fulfilled' ? [l.value] : []));
  }

  /**
   * Syncs from the best snapshot above `localHeight` that checks; returns the
   * installed height, or null (with the reason logged) when none could be used.
   */
  async run(source: SnapshotSource, standings: readonly PeerStanding[], localHeight: number): Promise<number | null> {
    if (this.running) return null;
    this.running = true;
    try {
      this.progressValue = { phase: 'choosing', height: 0, chunksDone: 0, chunks: 0, entriesDone: 0, entries: 0, startedAt: this.deps.clock.now() };
      const offers = this.offers(await this.listings(source, standings, localHeight), localHeight);
      if (offers.length === 0) {
        this.outcome = 'none offered';
        this.deps.log.debug({ height: localHeight }, 'no peer offers a state snapshot above this height');
        return null;
      }
      this.outcome = 'failed';
      const deadline = this.deps.clock.monotonic() + this.deps.timeoutMs;
      for (const offer of offers.slice(0, 3)) {
        try {
          const height = await this.fromOffer(source, offer, deadline);
          if (height !== null) return height;
        } catch (e) {
          if (e instanceof FatalError) throw e;
          this.deps.log.warn({ height: offer.summary.height, err: (e as Error).message }, 'state snapshot could not be used');
        }
      }
      return null;
    } finally {
      this.running = false;
      this.progressValue = null;
    }
  }

  /** Snapshots above `localHeight`, grouped by identity, highest first (then most offered). */
  private offers(standings: readonly { peer: string; snapshots: SnapshotSummary[] }[], localHeight: number): { summary: SnapshotSummary; peers: string[] }[] {
    const byId = new Map<string, { summary: SnapshotSummary; peers: string[] }>();
    for (const s of standings) {
      for (const snap of s.snapshots) {
        if (snap.height <= localHeight) continue;
        const o = byId.get(snap.id) ?? { summary: snap, peers: [] };
        o.peers.push(s.peer);
        byId.set(snap.id, o);
      }
    }
    return [...byId.values()].sort((a, b) => b.summary.height - a.summary.height || b.peers.length - a.peers.length);
  }

  private checkDeadline(deadline: number, what: string): void {
    if (this.deps.clock.monotonic() > deadline) throw new FastposError(ErrorCode.REQUEST_TIMEOUT, `snapshot sync took longer than ${this.deps.timeoutMs} ms (${what})`);
  }

  private async fromOffer(source: SnapshotSource, offer: { summary: SnapshotSummary; peers: string[] }, deadline: number): Promise<number | null> {
    const { summary } = offer;
    const startedAt = this.deps.clock.now();
    this.progressValue = { phase: 'verifying', height: summary.height, chunksDone: 0, chunks: summary.chunks, entriesDone: 0, entries: summary.entries, startedAt };
    // The manifest and the light-client check, from the first peer whose answers hold.
    let manifest: SnapshotManifest | null = null;
    const pool: string[] = [];
    for (const peer of this.shuffled(offer.peers)) {
      this.checkDeadline(deadline, 'checking manifests');
      try {
        const m = await source.manifest(peer, summary.height);
        if (manifest === null) {
          if (m.stateRoot !== summary.stateRoot || m.blockHash !== summary.blockHash || m.chunks.length !== summary.chunks) {
            throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `manifest of height ${summary.height} is not the snapshot the peer listed`);
          }
          await verifyTargetBlock({
            chainId: this.deps.chainId,
            params: this.deps.params,
            genesisSet: typeof this.deps.genesisSet === 'function' ? this.deps.genesisSet() : this.deps.genesisSet,
            trust: this.deps.trust,
            target: { header: m.block.block.header, hash: m.block.hash, commit: m.block.commit },
            source: { headers: (from, limit) => retried(() => source.headers(peer, from, limit)), epoch: (e) => retried(() => source.epoch(peer, e)) },
          });
          manifest = m;
        } else if (m.stateRoot !== manifest.stateRoot || m.chunks.some((c, i) => c.hash !== manifest!.chunks[i]?.hash)) {
          throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `manifest of height ${summary.height} differs from the checked one`);
        }
        pool.push(peer);
      } catch (e) {
        this.penalize(source, peer, e);
      }
    }
    if (manifest === null || pool.length === 0) {
      this.deps.log.warn({ height: summary.height, peers: offer.peers.length }, 'no peer served a manifest of this snapshot that checks');
      return null;
    }
    this.deps.log.info({ height: manifest.height, chunks: manifest.chunks.length, entries: manifest.entries, peers: pool.length }, 'syncing state from a snapshot');
    await this.download(source, manifest, pool, deadline, startedAt);
    this.progressValue = { ...this.progressValue!, phase: 'installing' };
    const accumulator = sumOf(manifest);
    await this.deps.install(manifest.block, this.deps.staging.entries(), accumulator);
    this.deps.staging.clear();
    for (const peer of pool) source.served?.(peer);
    this.deps.log.info({ height: manifest.height, entries: manifest.entries, seconds: Math.round((this.deps.clock.now() - startedAt) / 100) / 10 }, 'state installed from a snapshot');
    return manifest.height;
  }

  /** Fetches every chunk, a few at a time over the pool; a peer that fails one is penalized and given no more. */
  private async download(source: SnapshotSource, m: SnapshotManifest, pool: string[], deadline: number, startedAt: number): Promise<void> {
    this.deps.staging.reset(m.chunks.length);
    const todo = m.chunks.map((_, i) => i);
    const bounds: { first: string; last: string }[] = [];
    let done = 0;
    let entriesDone = 0;
    const active = new Set(pool);
    const failures = new Map<string, number>();
    const parallel = Math.max(1, Math.min(this.deps.parallel ?? 4, 2 * pool.length));
    let turn = 0;
    const worker = async (): Promise<void> => {
      for (let index = todo.shift(); index !== undefined; index = todo.shift()) {
        let got = false;
        while (!got) {
          this.checkDeadline(deadline, `chunk ${index} of ${m.chunks.length}`);
          const peers = [...active];
          if (peers.length === 0) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `every peer offering snapshot ${m.height} failed; chunk ${index} could not be fetched`);
          const peer = peers[turn++ % peers.length]!;
          const info = m.chunks[index]!;
          try {
            const data = await source.chunk(peer, m.height, index, info.bytes);
            const checked = checkChunk(data, info);
            bounds[index] = { first: checked.entries[0]![0], last: checked.lastKey };
            await this.deps.staging.put(index, data);
            got = true;
            done++;
            entriesDone += info.entries;
            this.progressValue = { phase: 'downloading', height: m.height, chunksDone: done, chunks: m.chunks.length, entriesDone, entries: m.entries, startedAt };
            this.logProgress();
          } catch (e) {
            if (e instanceof FatalError) throw e;
            // A chunk that does not check or is longer than its manifest entry ends the peer's part at once; a request that failed (lost, slow) may be one of a few.
            const failed = (failures.get(peer) ?? 0) + 1;
            failures.set(peer, failed);
            if ((isFastposError(e) && (e.code === ErrorCode.INVALID_SNAPSHOT || e.code === ErrorCode.PAYLOAD_TOO_LARGE)) || failed >= CHUNK_TRIES) {
              active.delete(peer);
              this.penalize(source, peer, e, `chunk ${index}`);
            }
          }
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, () => worker()));
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]!.first > bounds[i - 1]!.last)) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `snapshot ${m.height}: chunk ${i} does not start after chunk ${i - 1}`);
    }
  }

  private logProgress(): void {
    const p = this.progressValue;
    const now = this.deps.clock.monotonic();
    if (p === null || now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    const seconds = Math.max(0.001, (this.deps.clock.now() - p.startedAt) / 1000);
    this.deps.log.info(
      { height: p.height, chunks: `${p.chunksDone}/${p.chunks}`, entries: `${p.entriesDone}/${p.entries}`, entriesPerSecond: Math.round(p.entriesDone / seconds) },
      'snapshot sync progress',
    );
  }

  private penalize(source: SnapshotSource, peer: string, e: unknown, what = 'manifest'): void {
    if (e instanceof FatalError) throw e;
    const reason = `snapshot ${what}: ${e instanceof Error ? e.message : String(e)}`;
    source.penalize?.(peer, reason);
    this.deps.log.warn({ peer, err: reason }, 'a peer served a snapshot part that failed; trying another peer');
  }

  private shuffled(peers: string[]): string[] {
    return shuffled(peers, this.deps.random);
  }
}

/** The state's accumulator: the chunks' LtHashes added up (checked against the state root by decodeManifest). */
function sumOf(m: SnapshotManifest): Buffer {
  const sum = new LtHash();
  for (const c of m.chunks) sum.add(LtHash.fromBytes(Buffer.from(c.ltHash, 'hex')).lanes);
  return sum.toBytes();
}

/** Tries a request to a peer up to LIGHT_TRIES times: one lost request must not sink a light-client walk of many. */
async function retried<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (e) {
      if (e instanceof FatalError || attempt >= LIGHT_TRIES) throw e;
    }
  }
}
