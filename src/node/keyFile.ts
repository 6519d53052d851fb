import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyFromPrivate } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode, FastposError } from '../errors.js';

/** A key file as `fastpos keys generate` and `fastpos init` write it (mode 0600). */
export interface KeyFile {
  readonly type: 'ed25519';
  readonly privateKey: string;
  readonly publicKey: string;
  readonly address: string;
}

export function keyFileFor(privateKey: string): KeyFile {
  const publicKey = publicKeyFromPrivate(privateKey);
  return { type: 'ed25519', privateKey, publicKey, address: addressFromPubKey(publicKey) };
}

export function saveKeyFile(path: string, privateKey: string, opts: { overwrite?: boolean } = {}): KeyFile {
  if (!opts.overwrite && existsSync(path)) throw new FastposError(ErrorCode.INVALID_CONFIG, `${path} already exists; refusing to overwrite a key`);
  const k = keyFileFor(privateKey);
  writeFileSync(path, JSON.stringify(k, null, 2) + '\n', { mode: 0o600 });
  return k;
}

const KEY_FILE_FIELDS = ['type', 'privateKey', 'publicKey', 'address'];

/**
 * Reads and checks a key file: a JSON object with `privateKey` and, optionally,
 * `type` ("ed25519"), `publicKey` and `address`, which must match the private
 * key. Other fields are refused.
 */
export function loadKeyFile(path: string): KeyFile {
  const bad = (what: string): FastposError => new FastposError(ErrorCode.INVALID_CONFIG, `key file ${path}: ${what}`);
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FastposError(ErrorCode.INVALID_CONFIG, `key file ${path} cannot be read as JSON: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw bad('must hold a JSON object');
  for (const k of Object.keys(j)) if (!KEY_FILE_FIELDS.includes(k)) throw bad(`unknown field ${JSON.stringify(k.slice(0, 40))}`);
  const { type, privateKey, publicKey, address } = j as Record<string, unknown>;
  if (type !== undefined && type !== 'ed25519') throw bad('type must be "ed25519"');
  if (typeof privateKey !== 'string' || !/^[0-9a-f]{64}$/.test(privateKey)) throw bad('privateKey must be 64 lowercase hex characters');
  const k = keyFileFor(privateKey);
  if ((publicKey !== undefined && publicKey !== k.publicKey) || (address !== undefined && address !== k.address)) {
    throw bad('publicKey/address do not belong to privateKey');
  }
  return k;
}

/** The node key's file in the data dir. */
export const NODE_KEY_FILE = 'node_key.json';

/**
 * The node key: the identity a node proves in the peer handshake
 * (`GET /p2p/hello`), kept apart from validator keys, which sign consensus
 * messages only. Read from `<dataDir>/node_key.json`; at the first start the
 * file is created with a fresh random key, mode 0600, written whole before it
 * appears under its name (a crash never leaves half a key), and never
 * replaced once there (two starts racing both end up with the same key).
 */
export function loadOrCreateNodeKey(dataDir: string): { key: KeyFile; created: boolean } {
  const path = join(dataDir, NODE_KEY_FILE);
  if (existsSync(path)) return { key: loadKeyFile(path), created: false };
  const k = keyFileFor(randomBytes(32).toString('hex'));
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(k, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { key: loadKeyFile(path), created: false };
  } finally {
    unlinkSync(tmp);
  }
  return { key: k, created: true };
}
