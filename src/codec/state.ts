import { ErrorCode, FastposError } from '../errors.js';
import type { Account, Validator } from '../types/index.js';
import { canonicalJson } from './canonical.js';

/**
 * The state is a map from string keys to typed values. Each key's prefix names
 * its type; the canonical JSON of a value is what storage writes and what the
 * state commitment hashes.
 */
export const KEY_PREFIX = { account: 'acct/', validator: 'val/' } as const;

export type StateValue = Account | Validator;

export const accountKey = (address: string): string => KEY_PREFIX.account + address;
export const validatorKey = (id: string): string => KEY_PREFIX.validator + id;

export function encodeStateValue(key: string, value: StateValue): string {
  if (key.startsWith(KEY_PREFIX.account)) {
    const a = value as Account;
    return canonicalJson({ balance: a.balance.toString(), nonce: a.nonce });
  }
  if (key.startsWith(KEY_PREFIX.validator)) {
    const v = value as Validator;
    return canonicalJson({ ...v, stake: v.stake.toString(), delegated: v.delegated.toString() });
  }
  throw new TypeError(`unknown state key ${key}`);
}

export function decodeStateValue(key: string, json: string): StateValue {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `state entry ${key} is not JSON`);
  }
  if (key.startsWith(KEY_PREFIX.account)) {
    if (typeof o.balance !== 'string' || typeof o.nonce !== 'number') throw new FastposError(ErrorCode.CORRUPT_DATA, `state entry ${key} is not an account`);
    return { balance: BigInt(o.balance), nonce: o.nonce };
  }
  if (key.startsWith(KEY_PREFIX.validator)) {
    if (typeof o.stake !== 'string' || typeof o.delegated !== 'string') throw new FastposError(ErrorCode.CORRUPT_DATA, `state entry ${key} is not a validator`);
    return { ...(o as unknown as Validator), stake: BigInt(o.stake), delegated: BigInt(o.delegated) };
  }
  throw new FastposError(ErrorCode.CORRUPT_DATA, `unknown state key ${key}`);
}
