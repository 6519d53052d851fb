/**
 * The clients of a simulated network: dev accounts that sign real txs
 * (transfers, and while the faults run also delegations, undelegations,
 * operators' top-ups and unbonds) and submit them to a node, with the nonce
 * that node reports as pending (as a client reads it from GET /account).
 *
 * Staking never makes the Byzantine validator stronger: nobody delegates to
 * it, its operator never tops it up, and unbonds and undelegations take back
 * at most what the clients added. So every set keeps the Byzantine power of
 * the genesis set below 1/3, and honest validators never lose power below
 * their genesis stake.
 * @module
 */
import { toDecodedTx, txSignBytes } from '../codec/tx.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { devAccount, type DevKey } from '../crypto/keys.js';
import type { DecodedTx, Tx, UnsignedTx } from '../types/index.js';
import type { Rng } from './rng.js';

/** Dev accounts that send txs. */
export const CLIENT_ACCOUNTS = 8;
/** Dev account of validator i's operator. */
export const OPERATOR_BASE = 40;
/** Token units per unit of simulated stake. */
export const STAKE_UNIT = 1_000_000n;

interface Account {
  readonly key: DevKey;
  readonly signer: Signer;
}

const ACCOUNTS = new Map<number, Account>();
/** Dev account i with its signer, made once per process. */
export function simAccount(i: number): Account {
  let a = ACCOUNTS.get(i);
  if (a === undefined) {
    const key = devAccount(i);
    a = { key, signer: createSigner(key.privateKey) };
    ACCOUNTS.set(i, a);
  }
  return a;
}

export interface TxValidator {
  readonly id: string;
  readonly pubKey: string;
  /** Dev account index of its operator. */
  readonly operator: number;
}

export interface TxLoadParams {
  readonly chainId: string;
  readonly rng: Rng;
  /** Validators staking txs may target (never the Byzantine one). */
  readonly validators: readonly TxValidator[];
}

export interface SignedTx {
  readonly id: string;
  readonly kind: Tx['kind'];
  readonly from: string;
  readonly json: Record<string, unknown>;
  readonly decoded: DecodedTx;
}

export class TxLoad {
  /** Tokens each (client, validator) delegated and did not take back yet. */
  private readonly delegated = new Map<string, bigint>();
  /** Self stake each operator added and did not unbond yet, by validator id. */
  private readonly added = new Map<string, bigint>();
  signed = 0;

  constructor(private readonly p: TxLoadParams) {}

  /** A new signed tx; `nonceOf` is the pending nonce of an address at the node it goes to. */
  next(nonceOf: (address: string) => number, staking: boolean): SignedTx {
    const { rng, validators } = this.p;
    const r = rng.next();
    if (!staking || validators.length === 0 || r < 0.7) {
      const from = rng.int(0, CLIENT_ACCOUNTS - 1);
      const to = rng.chance(0.2) ? simAccount(OPERATOR_BASE + rng.int(0, 3)).key.address : simAccount(rng.int(0, CLIENT_ACCOUNTS - 1)).key.address;
      return this.sign(from, nonceOf, { kind: 'transfer', payload: { to, amount: BigInt(rng.int(1, 1_000)) } });
    }
    const v = rng.pick(validators);
    const client = rng.int(0, CLIENT_ACCOUNTS - 1);
    const dkey = `${client}/${v.id}`;
    const owned = this.delegated.get(dkey) ?? 0n;
    const topped = this.added.get(v.id) ?? 0n;
    const amount = (STAKE_UNIT * BigInt(rng.int(1, 5))) / 10n;
    if (r < 0.8 || (r < 0.87 && owned === 0n)) {
      this.delegated.set(dkey, owned + amount);
      return this.sign(client, nonceOf, { kind: 'delegation_delegate', payload: { validatorId: v.id, amount } });
    }
    if (r < 0.87) {
      const back = rng.chance(0.5) ? owned : owned / 2n;
      this.delegated.set(dkey, owned - back);
      return this.sign(client, nonceOf, { kind: 'delegation_undelegate', payload: { validatorId: v.id, amount: back > 0n ? back : 1n } });
    }
    if (r < 0.94 || topped === 0n) {
      this.added.set(v.id, topped + amount);
      return this.sign(v.operator, nonceOf, { kind: 'validator_bond', payload: { pubKey: v.pubKey, amount } });
    }
    const back = topped / 2n > 0n ? topped / 2n : topped;
    this.added.set(v.id, topped - back);
    return this.sign(v.operator, nonceOf, { kind: 'validator_unbond', payload: { validatorId: v.id, amount: back } });
  }

  private sign(account: number, nonceOf: (address: string) => number, body: Pick<UnsignedTx, 'kind' | 'payload'>): SignedTx {
    const a = simAccount(account);
    const unsigned = {
      chainId: this.p.chainId,
      from: a.key.address,
      pubKey: a.key.publicKey,
      nonce: nonceOf(a.key.address),
      fee: BigInt(this.p.rng.int(1, 20)),
      ...body,
    } as UnsignedTx;
    const decoded = toDecodedTx({ ...unsigned, signature: a.signer.sign(txSignBytes(unsigned)) } as Tx);
    this.signed++;
    return { id: decoded.id, kind: decoded.tx.kind, from: a.key.address, json: JSON.parse(decoded.json) as Record<string, unknown>, decoded };
  }
}

/**
 * A transfer out of `victim`'s account whose signature is made with another
 * key (`forger`): well formed, but it does not verify. What an
 * `invalid-txs` validator puts in its blocks.
 */
export function forgedTransfer(p: { chainId: string; victim: number; to: string; nonce: number; forger: Signer }): DecodedTx {
  const a = simAccount(p.victim);
  const unsigned: UnsignedTx = { chainId: p.chainId, kind: 'transfer', from: a.key.address, pubKey: a.key.publicKey, nonce: p.nonce, fee: 25n, payload: { to: p.to, amount: 1_000n } };
  return toDecodedTx({ ...unsigned, signature: p.forger.sign(txSignBytes(unsigned)) } as Tx);
}
