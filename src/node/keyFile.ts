import { readFileSync, writeFileSync, existsSync } from 'node:fs';
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

/** Reads and checks a key file: the public key and address in it must match the private key. */
export function loadKeyFile(path: string): KeyFile {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new FastposError(ErrorCode.INVALID_CONFIG, `key file ${path} cannot be read as JSON: ${(e as Error).message}`);
  }
  if (typeof j.privateKey !== 'string' || !/^[0-9a-f]{64}$/.test(j.privateKey)) {
    throw new FastposError(ErrorCode.INVALID_CONFIG, `key file ${path}: privateKey must be 64 lowercase hex characters`);
  }
  const k = keyFileFor(j.privateKey);
  if ((j.publicKey !== undefined && j.publicKey !== k.publicKey) || (j.address !== undefined && j.address !== k.address)) {
    throw new FastposError(ErrorCode.INVALID_CONFIG, `key file ${path}: publicKey/address do not belong to privateKey`);
  }
  return k;
}
