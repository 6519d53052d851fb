/**
 * `state.json` of the snapshot backend: the whole state at one height,
 *
 *   {version, genesisHash, height, accumulator (hex), entries: {key: value}, checksum}
 *
 * where each entry value is the state value's JSON object and `checksum` is
 * the sha256 hex of the canonical JSON of everything else. The file is always
 * replaced atomically (tmp + fsync + rename + directory fsync), so it is the
 * old or the new version after a crash; a bad checksum means damage, not a
 * torn write.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../codec/canonical.js';
import { sha256Hex } from '../../crypto/hash.js';
import { corrupt, describeError, writeFileAtomic } from '../common.js';

export const STATE_FILE = 'state.json';
export const STATE_FILE_VERSION = 1;

export interface StateSnapshot {
  readonly genesisHash: string;
  readonly height: number;
  readonly accumulator: Buffer;
  /** key -> canonical JSON of the value. */
  readonly entries: ReadonlyMap<string, string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Serializes a snapshot. Entry values are canonical JSON already, so the
 * canonical JSON of the whole is built by concatenation in sorted key order
 * (the order `canonicalJson` uses) instead of re-encoding every value.
 * `sortedKeys` are the entry keys in that order, when the caller keeps them.
 */
export function serializeState(s: StateSnapshot, sortedKeys?: readonly string[]): string {
  const keys = sortedKeys ?? [...s.entries.keys()].sort();
  const parts: string[] = [];
  for (const k of keys) parts.push(JSON.stringify(k) + ':' + s.entries.get(k)!);
  // Top-level keys in canonical (sorted) order.
  const rest =
    `{"accumulator":${JSON.stringify(s.accumulator.toString('hex'))},"entries":{${parts.join(',')}}` +
    `,"genesisHash":${JSON.stringify(s.genesisHash)},"height":${s.height},"version":${STATE_FILE_VERSION}}`;
  return `{"checksum":"${sha256Hex(rest)}",${rest.slice(1)}\n`;
}

/** Writes the snapshot atomically into `dir`. */
export function writeStateFile(dir: string, s: StateSnapshot, sortedKeys?: readonly string[]): string {
  const text = serializeState(s, sortedKeys);
  writeFileAtomic(dir, STATE_FILE, text);
  return text;
}

/** Reads and verifies `dir/state.json`; undefined when there is none (a new store). */
export function readStateFile(dir: string): StateSnapshot | undefined {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `is not valid JSON (truncated or damaged): ${describeError(e)}`);
  }
  if (!isObj(j)) throw corrupt(file, 'is not a JSON object');
  const { checksum, ...rest } = j;
  if (typeof checksum !== 'string') throw corrupt(file, 'has no checksum');
  if (sha256Hex(canonicalJson(rest)) !== checksum) throw corrupt(file, 'checksum mismatch: the content was changed or damaged');
  const { version, genesisHash, height, accumulator, entries } = rest;
  if (version !== STATE_FILE_VERSION) throw corrupt(file, `unsupported version ${String(version)} (this node reads ${STATE_FILE_VERSION})`);
  if (typeof genesisHash !== 'string' || genesisHash.length === 0) throw corrupt(file, 'genesisHash is missing');
  if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 0) throw corrupt(file, 'height is not a non-negative integer');
  if (typeof accumulator !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(accumulator)) throw corrupt(file, 'accumulator is not hex');
  if (!isObj(entries)) throw corrupt(file, 'entries is not an object');
  const map = new Map<string, string>();
  for (const [k, v] of Object.entries(entries)) map.set(k, canonicalJson(v));
  return { genesisHash, height, accumulator: Buffer.from(accumulator, 'hex'), entries: map };
}
