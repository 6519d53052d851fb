/** Shared test helpers: real keys, real signatures, real codec. */
import { toDecodedTx, txSignBytes } from '../../src/codec/tx.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import type { DecodedTx, Tx, TransferTx } from '../../src/types/index.js';

export const CHAIN = 'fastpos-devnet';

export function acct(i: number) {
  return devAccount(i);
}
export function val(i: number) {
  return devValidator(i);
}

const signers = new Map<number, ReturnType<typeof createSigner>>();
function signerOf(i: number) {
  let s = signers.get(i);
  if (s === undefined) {
    s = createSigner(devAccount(i).privateKey);
    signers.set(i, s);
  }
  return s;
}

/** A transfer from dev account `from` (index), signed for real. */
export function transfer(p: { from: number; to: string; amount: bigint; fee?: bigint; nonce: number; chainId?: string }): DecodedTx {
  const k = devAccount(p.from);
  const unsigned: Omit<TransferTx, 'signature'> = {
    chainId: p.chainId ?? CHAIN,
    kind: 'transfer',
    from: k.address,
    pubKey: k.publicKey,
    nonce: p.nonce,
    fee: p.fee ?? 10n,
    payload: { to: p.to, amount: p.amount },
  };
  return toDecodedTx({ ...unsigned, signature: signerOf(p.from).sign(txSignBytes(unsigned)) });
}
