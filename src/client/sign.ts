import { encodeTx, txSignBytes } from '../codec/tx.js';
import { sha256Hex } from '../crypto/hash.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import type { TransferTx, UnsignedTx } from '../types/index.js';

export interface TransferParams {
  chainId: string;
  nonce: number;
  to: string;
  amount: bigint | string;
  fee: bigint | string;
}

/** Signs a transfer with a private seed (hex) or a Signer; returns the wire JSON and the tx id. */
export function signTransfer(key: string | Signer, p: TransferParams): { id: string; tx: Record<string, unknown> } {
  const signer = typeof key === 'string' ? createSigner(key) : key;
  const unsigned: Omit<TransferTx, 'signature'> = {
    chainId: p.chainId,
    kind: 'transfer',
    from: addressFromPubKey(signer.publicKey),
    pubKey: signer.publicKey,
    nonce: p.nonce,
    fee: BigInt(p.fee),
    payload: { to: p.to, amount: BigInt(p.amount) },
  };
  return signTx(signer, unsigned);
}

/** Signs any unsigned tx; returns the wire JSON and the tx id. */
export function signTx(key: string | Signer, unsigned: UnsignedTx): { id: string; tx: Record<string, unknown> } {
  const signer = typeof key === 'string' ? createSigner(key) : key;
  const bytes = txSignBytes(unsigned);
  return { id: sha256Hex(bytes), tx: encodeTx({ ...unsigned, signature: signer.sign(bytes) } as Parameters<typeof encodeTx>[0]) };
}
