/**
 * The bytes of state snapshots, served to nodes that sync by snapshot
 * (docs/api.md, "State sync"):
 *
 * - a **chunk** is a run of state entries in ascending key order, one per
 *   line: `JSON.stringify([key, valueJson])` + "\n", where `valueJson` is the
 *   entry's canonical JSON, exactly what the state commitment hashes;
 * - the **manifest** of a snapshot at height H lists each chunk's SHA-256,
 *   its LtHash (the lane-wise sum of its entries' elements, 4096 hex) and its
 *   size, and carries the finalized block at H. The chunks' LtHashes add up to
 *   the state's accumulator, whose digest is the block header's `stateRoot`:
 *   so the manifest is tied to the certified state root before any chunk is
 *   fetched, and each chunk is checked on arrival against its own LtHash.
 *
 * Decoding is strict: everything arrives from peers.
 * @module
 */
import { sha256Hex } from '../crypto/hash.js';
import { ErrorCode, FastposError } from '../errors.js';
import { LTHASH_BYTES, LtHash, ltElement } from './ltHash.js';
import type { FinalizedBlock } from '../types/index.js';
import { decodeFinalizedBlock, encodeFinalizedBlock } from '../codec/block.js';
import { canonicalJson } from '../codec/canonical.js';

export const SNAPSHOT_FORMAT = 1;
const SNAPSHOT_DOMAIN = 'fastpos/snapshot/v1\n';
/** Most chunks one manifest may list. */
export const MAX_SNAPSHOT_CHUNKS = 100_000;
/** Largest chunk a manifest may declare (a chunk ends at the first entry that reaches the target size, at most 64 MiB). */
export const MAX_CHUNK_BYTES = 128 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;
const LTHASH_HEX = new RegExp(`^[0-9a-f]{${2 * LTHASH_BYTES}}$`);

export interface SnapshotChunkInfo {
  /** SHA-256 of the chunk's bytes, hex. */
  readonly hash: string;
  /** LtHash accumulator of the chunk's entries, hex of its little-endian bytes. */
  readonly ltHash: string;
  readonly entries: number;
  readonly bytes: number;
}

export interface SnapshotManifest {
  readonly format: number;
  readonly chainId: string;
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
  readonly entries: number;
  readonly chunks: readonly SnapshotChunkInfo[];
  /** The finalized block at `height` with its certificate. */
  readonly block: FinalizedBlock;
}

/** What nodes list of a snapshot they hold (`GET /sync/snapshots`). */
export interface SnapshotSummary {
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
  /** Identity of the chunk list: two snapshots with one id have interchangeable chunks. */
  readonly id: string;
  readonly chunks: number;
  readonly entries: number;
  readonly bytes: number;
}

function bad(message: string): never {
  throw new FastposError(ErrorCode.INVALID_SNAPSHOT, message);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The identity of a manifest's chunk list (block and certificate excluded: nodes may hold different certificates of one block). */
export function snapshotId(m: Omit<SnapshotManifest, 'block'>): string {
  return sha256Hex(
    SNAPSHOT_DOMAIN +
      canonicalJson({ format: m.format, chainId: m.chainId, height: m.height, blockHash: m.blockHash, stateRoot: m.stateRoot, entries: m.entries, chunks: m.chunks.map((c) => ({ ...c })) }),
  );
}

export function summarize(m: SnapshotManifest): SnapshotSummary {
  return {
    height: m.height,
    blockHash: m.blockHash,
    stateRoot: m.stateRoot,
    id: snapshotId(m),
    chunks: m.chunks.length,
    entries: m.entries,
    bytes: m.chunks.reduce((s, c) => s + c.bytes, 0),
  };
}

export function encodeManifest(m: SnapshotManifest): Record<string, unknown> {
  return {
    format: m.format,
    chainId: m.chainId,
    height: m.height,
    blockHash: m.blockHash,
    stateRoot: m.stateRoot,
    entries: m.entries,
    chunks: m.chunks.map((c) => ({ hash: c.hash, ltHash: c.ltHash, entries: c.entries, bytes: c.bytes })),
    block: encodeFinalizedBlock(m.block),
  };
}

/**
 * Decodes a manifest and checks what it says about itself: the block is the
 * one named, at the height named, whose header's state root is the digest of
 * the chunks' LtHashes added up. Not checked here: whether the block is
 * certified by the chain's validators (the light client's part).
 */
export function decodeManifest(j: unknown): SnapshotManifest {
  if (!isObj(j)) bad('a snapshot manifest must be an object');
  for (const k of Object.keys(j)) {
    if (!['format', 'chainId', 'height', 'blockHash', 'stateRoot', 'entries', 'chunks', 'block'].includes(k)) bad(`unknown manifest field "${k}"`);
  }
  const { format, chainId, height, blockHash, stateRoot, entries, chunks, block } = j;
  if (format !== SNAPSHOT_FORMAT) bad(`manifest format must be ${SNAPSHOT_FORMAT}, got ${JSON.stringify(format)}`);
  if (typeof chainId !== 'string' || chainId.length === 0 || chainId.length > 64) bad('manifest chainId must be a string of 1 to 64 characters');
  if (!isUint(height) || height < 1) bad('manifest height must be a positive integer');
  if (typeof blockHash !== 'string' || !HEX64.test(blockHash)) bad('manifest blockHash must be 64 hex');
  if (typeof stateRoot !== 'string' || !HEX64.test(stateRoot)) bad('manifest stateRoot must be 64 hex');
  if (!isUint(entries)) bad('manifest entries must be a non-negative integer');
  if (!Array.isArray(chunks) || chunks.length === 0 || chunks.length > MAX_SNAPSHOT_CHUNKS) bad(`manifest chunks must be an array of 1 to ${MAX_SNAPSHOT_CHUNKS} chunks`);
  let total = 0;
  const sum = new LtHash();
  const list = chunks.map((c: unknown, i): SnapshotChunkInfo => {
    if (!isObj(c) || Object.keys(c).length !== 4) bad(`manifest chunk ${i} must be an object of hash, ltHash, entries and bytes`);
    const { hash, ltHash, entries: n, bytes } = c;
    if (typeof hash !== 'string' || !HEX64.test(hash)) bad(`manifest chunk ${i} hash must be 64 hex`);
    if (typeof ltHash !== 'string' || !LTHASH_HEX.test(ltHash)) bad(`manifest chunk ${i} ltHash must be ${2 * LTHASH_BYTES} hex`);
    if (!isUint(n) || n < 1) bad(`manifest chunk ${i} entries must be a positive integer`);
    if (!isUint(bytes) || bytes < 1 || bytes > MAX_CHUNK_BYTES) bad(`manifest chunk ${i} bytes must be 1 to ${MAX_CHUNK_BYTES}`);
    total += n;
    sum.add(LtHash.fromBytes(Buffer.from(ltHash, 'hex')).lanes);
    return { hash, ltHash, entries: n, bytes };
  });
  if (total !== entries) bad(`manifest chunks hold ${total} entries but the manifest says ${entries}`);
  if (sum.digest() !== stateRoot) bad(`manifest chunks add up to state root ${sum.digest()}, not the manifest's ${stateRoot}`);
  let fb: FinalizedBlock;
  try {
    fb = decodeFinalizedBlock(block);
  } catch (e) {
    bad(`manifest block does not decode: ${(e as Error).message}`);
  }
  if (fb.hash !== blockHash || fb.block.header.height !== height) bad(`manifest block is ${fb.block.header.height}/${fb.hash}, not ${height}/${blockHash}`);
  if (fb.block.header.chainId !== chainId) bad(`manifest block is of chain ${fb.block.header.chainId}, not ${chainId}`);
  if (fb.block.header.stateRoot !== stateRoot) bad(`manifest state root ${stateRoot} is not the block's ${fb.block.header.stateRoot}`);
  return { format, chainId, height, blockHash, stateRoot, entries, chunks: list, block: fb };
}

/** Decodes a `GET /sync/snapshots` answer: `{"snapshots": [summary, …]}` (at most 100). */
export function decodeSnapshotList(j: unknown): SnapshotSummary[] {
  if (!isObj(j) || !Array.isArray(j.snapshots) || Object.keys(j).length !== 1 || j.snapshots.length > 100) bad('a snapshot list must be {"snapshots": [...]} of at most 100 snapshots');
  return j.snapshots.map((x: unknown, i): SnapshotSummary => {
    if (!isObj(x) || Object.keys(x).length !== 7) bad(`snapshot ${i} must have height, blockHash, stateRoot, id, chunks, entries and bytes`);
    const { height, blockHash, stateRoot, id, chunks, entries, bytes } = x;
    if (!isUint(height) || height < 1) bad(`snapshot ${i} height must be a positive integer`);
    for (const [k, v] of [['blockHash', blockHash], ['stateRoot', stateRoot], ['id', id]] as const) {
      if (typeof v !== 'string' || !HEX64.test(v)) bad(`snapshot ${i} ${k} must be 64 hex`);
    }
    if (!isUint(chunks) || chunks < 1 || chunks > MAX_SNAPSHOT_CHUNKS || !isUint(entries) || !isUint(bytes)) bad(`snapshot ${i} chunks, entries and bytes must be non-negative integers`);
    return { height, blockHash: blockHash as string, stateRoot: stateRoot as string, id: id as string, chunks, entries, bytes };
  });
}

/** One chunk line. */
export function chunkLine(key: string, valueJson: string): string {
  return JSON.stringify([key, valueJson]) + '\n';
}

/** A chunk being built: lines, their LtHash and size. */
export class ChunkBuilder {
  private parts: string[] = [];
  private acc = new LtHash();
  private n = 0;
  bytes = 0;

  add(key: string, valueJson: string): void {
    const line = chunkLine(key, valueJson);
    this.parts.push(line);
    this.bytes += Buffer.byteLength(line);
    this.acc.add(ltElement(key, valueJson));
    this.n++;
  }

  get entries(): number {
    return this.n;
  }

  /** The chunk's bytes and its manifest entry; the builder starts over. */
  finish(): { data: Buffer; info: SnapshotChunkInfo; accumulator: LtHash } {
    const data = Buffer.from(this.parts.join(''));
    const out = { data, info: { hash: sha256Hex(data), ltHash: this.acc.toBytes().toString('hex'), entries: this.n, bytes: data.length }, accumulator: this.acc };
    this.parts = [];
    this.acc = new LtHash();
    this.n = 0;
    this.bytes = 0;
    return out;
  }
}

/**
 * Checks a chunk received for `info` (its size, SHA-256, line format, keys
 * ascending and above `afterKey`, LtHash) and returns its entries and last key.
 */
export function checkChunk(data: Buffer, info: SnapshotChunkInfo, afterKey: string | null = null): { entries: [string, string][]; lastKey: string } {
  if (data.length !== info.bytes) bad(`chunk has ${data.length} bytes, the manifest says ${info.bytes}`);
  if (sha256Hex(data) !== info.hash) bad('chunk bytes do not hash to the manifest entry');
  const text = data.toString('utf8');
  if (!text.endsWith('\n')) bad('chunk must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== info.entries) bad(`chunk has ${lines.length} entries, the manifest says ${info.entries}`);
  const acc = new LtHash();
  const entries: [string, string][] = [];
  let last = afterKey;
  for (const line of lines) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      bad('chunk line is not JSON');
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') bad('chunk line must be [key, valueJson]');
    const [key, value] = parsed as [string, string];
    if (last !== null && !(key > last)) bad(`chunk keys must ascend: ${JSON.stringify(key)} after ${JSON.stringify(last)}`);
    last = key;
    acc.add(ltElement(key, value));
    entries.push([key, value]);
  }
  if (acc.toBytes().toString('hex') !== info.ltHash) bad('chunk entries do not add up to the manifest LtHash');
  return { entries, lastKey: last! };
}
