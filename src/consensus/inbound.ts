/**
 * A consensus envelope from a peer, decoded once: the payload checked for its
 * type, a proposal's sender checked against the proposer of its round, and a
 * block's body bound to its header. The driver takes only this form, so no
 * payload is decoded twice on its way to the engine.
 * @module
 */
import { decodeFinalizePayload, decodeProposalPayload, decodeVotePayload, type Envelope, type KnownTxLookup } from '../codec/envelope.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { Block, FinalizedBlock, ValidatorSet } from '../types/index.js';
import { bodyMismatch } from './block.js';
import { selectProposer } from './proposer.js';

export type InboundMessage =
  | { readonly kind: 'vote'; readonly envelope: Envelope; readonly type: 'prevote' | 'precommit'; readonly blockHash: string | null }
  | { readonly kind: 'proposal'; readonly envelope: Envelope; readonly block: Block; readonly blockHash: string; readonly validRound: number }
  | { readonly kind: 'finalize'; readonly envelope: Envelope; readonly finalized: FinalizedBlock };

function invalid(message: string): never {
  throw new FastposError(ErrorCode.INVALID_MESSAGE, message);
}

/**
 * Decodes the payload of an envelope whose shape, chain and sender are
 * checked (its signature may be checked before or after: this is cheap next
 * to it). `set` is the validator set of the envelope's height. Throws
 * INVALID_MESSAGE.
 */
export function decodeInbound(e: Envelope, set: ValidatorSet, known?: KnownTxLookup): InboundMessage {
  switch (e.type) {
    case 'prevote':
    case 'precommit':
      return { kind: 'vote', envelope: e, type: e.type, blockHash: decodeVotePayload(e) };
    case 'proposal': {
      const proposer = selectProposer(set, e.height, e.round).id;
      if (e.validatorId !== proposer) invalid(`${e.validatorId} is not the proposer of height ${e.height} round ${e.round} (${proposer} is)`);
      const p = decodeProposalPayload(e, known);
      const mismatch = bodyMismatch(p.block);
      if (mismatch !== null) invalid(`the proposed block's body does not match its header: ${mismatch}`);
      return { kind: 'proposal', envelope: e, block: p.block, blockHash: p.blockHash, validRound: p.validRound };
    }
    case 'finalize': {
      const fb = decodeFinalizePayload(e, known);
      const mismatch = bodyMismatch(fb.block);
      if (mismatch !== null) invalid(`the finalized block's body does not match its header: ${mismatch}`);
      return { kind: 'finalize', envelope: e, finalized: fb };
    }
  }
}
