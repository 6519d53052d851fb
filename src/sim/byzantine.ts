/**
 * A Byzantine validator that equivocates, built without touching the
 * consensus code: it runs an ordinary driver (with a guard that signs
 * anything), and its transport splits each broadcast. For every proposal it
 * signs a second block (same height and round, another timestamp); for every
 * prevote or precommit it signs a conflicting one (nil for a block, or a block
 * for nil). One half of the network gets the original, the other half the
 * conflicting copy; sometimes a node gets both (so the equivocation is seen).
 * @module
 */
import { blockHash, decodeHeader, voteSignBytes } from '../codec/block.js';
import { encodeProposalPayload, envelopeSignBytes, type Envelope, type UnsignedEnvelope } from '../codec/envelope.js';
import type { Signer } from '../crypto/ed25519.js';
import type { Commit } from '../types/index.js';
import type { Rng } from './rng.js';

export interface EquivocatorParams {
  readonly chainId: string;
  readonly signer: Signer;
  readonly peers: readonly number[];
  readonly rng: Rng;
  /** Sends one envelope to one peer through the simulated network. */
  readonly send: (to: number, e: Envelope) => void;
  /** Probability that one node of the first half also gets the conflicting copy. */
  readonly leak: number;
  /** Counts the conflicting envelopes signed. */
  readonly onEquivocate?: (original: Envelope, conflicting: Envelope) => void;
}

export class EquivocatingTransport {
  /** Conflicting copy per (type, height, round), so repairs re-send the same pair. */
  private readonly alternatives = new Map<string, Envelope>();
  /** Hash of the second block proposed at (height, round). */
  private readonly altBlocks = new Map<string, string>();
  equivocations = 0;

  constructor(private readonly p: EquivocatorParams) {}

  broadcast(e: Envelope): void {
    if (e.type === 'finalize') {
      for (const to of this.p.peers) this.p.send(to, e);
      return;
    }
    const alt = this.alternative(e);
    const order = this.p.rng.shuffle(this.p.peers);
    const half = Math.ceil(order.length / 2);
    for (let i = 0; i < order.length; i++) this.p.send(order[i]!, i < half ? e : alt);
    if (half > 0 && this.p.rng.chance(this.p.leak)) this.p.send(order[this.p.rng.int(0, half - 1)]!, alt);
  }

  private alternative(e: Envelope): Envelope {
    const key = `${e.type}/${e.height}/${e.round}`;
    const known = this.alternatives.get(key);
    if (known !== undefined) return known;
    let alt: Envelope;
    if (e.type === 'proposal') {
      // Its own proposal, so the payload is well formed (decoded by hand: a re-proposed block carries an earlier round).
      const body = e.payload.block as { header: unknown; lastCommit: Commit | null };
      const original = decodeHeader(body.header);
      const header = { ...original, timestamp: original.timestamp + this.p.rng.int(1, 50) };
      const hash = blockHash(header);
      this.altBlocks.set(`${e.height}/${e.round}`, hash);
      const u: UnsignedEnvelope = { ...e, payload: encodeProposalPayload({ header, txs: [], lastCommit: body.lastCommit, evidence: [] }, hash, e.payload.validRound as number) };
      alt = { ...u, signature: this.p.signer.sign(envelopeSignBytes(u)) };
    } else {
      const type = e.type === 'prevote' ? 'prevote' : 'precommit';
      const original = e.payload.blockHash as string | null;
      const altBlock = this.altBlocks.get(`${e.height}/${e.round}`);
      let blockHashAlt: string | null;
      if (original === null) blockHashAlt = altBlock ?? this.p.rng.hex32();
      else blockHashAlt = altBlock !== undefined && altBlock !== original && this.p.rng.chance(0.5) ? altBlock : null;
      const bytes = voteSignBytes({ type, chainId: this.p.chainId, height: e.height, round: e.round, validatorId: e.validatorId, blockHash: blockHashAlt });
      alt = { ...e, payload: { blockHash: blockHashAlt }, signature: this.p.signer.sign(bytes) };
    }
    this.alternatives.set(key, alt);
    this.equivocations++;
    this.p.onEquivocate?.(e, alt);
    return alt;
  }
}
