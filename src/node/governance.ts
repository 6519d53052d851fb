/**
 * Governance txs signed by the node for its operator (work weight, slash,
 * jail) with the node's governance key, so that every such action is a
 * finalized, replayable tx that is the same on every node. Txs are signed one
 * at a time: each takes the next nonce only after the previous one is in the
 * pool.
 * @module
 */
import { signTx } from '../client/sign.js';
import { createSigner } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { Mempool } from '../mempool/index.js';
import { getValidator } from '../state/staking.js';
import type { Evidence, UnsignedTx } from '../types/index.js';
import type { TxStatus } from './admission.js';
import type { ChainHead } from './chainHead.js';

/** The body of a governance tx the node signs for an operator. */
export type GovernanceTxBody =
  | { readonly kind: 'validator_set_work_weight'; readonly payload: { readonly validatorId: string; readonly workWeight: number } }
  | { readonly kind: 'validator_slash'; readonly payload: { readonly validatorId: string; readonly fractionBps: number } | { readonly evidence: Evidence } }
  | { readonly kind: 'validator_jail'; readonly payload: { readonly validatorId: string; readonly jailBlocks: number } };

export class GovernanceSigner {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: {
      readonly head: ChainHead;
      readonly mempool: Mempool;
      /** Private seed of the governance account, if this node has one. */
      readonly key: string | undefined;
      readonly submit: (tx: unknown) => Promise<TxStatus>;
    },
  ) {}

  /** Signs and submits one governance tx after the ones before it. */
  submit(t: GovernanceTxBody): Promise<TxStatus> {
    const next = this.queue.then(() => this.sign(t));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async sign(t: GovernanceTxBody): Promise<TxStatus> {
    const { head, mempool, key } = this.deps;
    if (key === undefined) throw new FastposError(ErrorCode.FORBIDDEN, 'this node holds no governance key: set governanceKeyFile to a key of an account in genesis params.governance');
    if ('validatorId' in t.payload && getValidator(head.world, t.payload.validatorId) === undefined) {
      throw new FastposError(ErrorCode.NOT_FOUND, `no validator ${t.payload.validatorId}`);
    }
    const signer = createSigner(key);
    const from = addressFromPubKey(signer.publicKey);
    const { tx } = signTx(signer, {
      chainId: head.chainId,
      from,
      pubKey: signer.publicKey,
      nonce: mempool.pendingNonce(from, head.world),
      fee: head.params.minFee,
      ...t,
    } as UnsignedTx);
    return this.deps.submit(tx);
  }
}
