import { sha256, sha256Hex } from './hash.js';
import { publicKeyFromPrivate } from './ed25519.js';

const addressCache = new Map<string, string>();

/** address = hex(sha256(pubKey))[0:40] (protocol §2). Recent answers are cached. */
export function addressFromPubKey(pubKeyHex: string): string {
  let a = addressCache.get(pubKeyHex);
  if (a === undefined) {
    a = sha256Hex(Buffer.from(pubKeyHex, 'hex')).slice(0, 40);
    if (addressCache.size >= 65_536) addressCache.clear();
    addressCache.set(pubKeyHex, a);
  }
  return a;
}

/**
 * Address of a module account: hex(sha256("fastpos/module/" + name))[0:40].
 * It is not the hash of any known public key, so nobody holds a key for it:
 * only protocol rules move its funds.
 */
export function moduleAddress(name: string): string {
  return sha256Hex(`fastpos/module/${name}`).slice(0, 40);
}

/** Private seed of dev account i: sha256("fastpos-dev-account-" + i). Public knowledge. */
export function devAccountPrivateKey(i: number): string {
  return sha256(`fastpos-dev-account-${i}`).toString('hex');
}

/** Private seed of dev validator i: sha256("fastpos-dev-validator-" + i). Public knowledge. */
export function devValidatorPrivateKey(i: number): string {
  return sha256(`fastpos-dev-validator-${i}`).toString('hex');
}

export interface DevKey {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly address: string;
}

export function devAccount(i: number): DevKey {
  const privateKey = devAccountPrivateKey(i);
  const publicKey = publicKeyFromPrivate(privateKey);
  return { privateKey, publicKey, address: addressFromPubKey(publicKey) };
}

export function devValidator(i: number): DevKey {
  const privateKey = devValidatorPrivateKey(i);
  const publicKey = publicKeyFromPrivate(privateKey);
  return { privateKey, publicKey, address: addressFromPubKey(publicKey) };
}
