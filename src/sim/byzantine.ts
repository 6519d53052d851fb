/**
 * Byzantine validators, built without touching the consensus code: each runs
 * an ordinary driver (with a guard that signs anything) behind a transport
 * that misbehaves.
 *
 * - `EquivocatingTransport` splits each broadcast. For every proposal it
 *   signs a second block (same height, round and body, another timestamp);
 *   for every prevote or precommit it signs a conflicting one (nil for a
 *   block, or a block for nil). One half of the network gets the original,
 *   the other half the conflicting copy; sometimes a node gets both (so the
 *   equivocation is seen).
 * - `ForgingTransport` sends its proposals and finalize messages with bodies
 *   that do not match their headers (a tx dropped, added or moved, a
 *   signature taken out of the previous certificate, evidence dropped),
 *   signed by its key; `forgeSyncAnswer` does the same to the blocks it
 *   serves to nodes that catch up, or breaks their certificates.
 * - `FloodingTransport` signs many distinct votes for each position it votes at.
 * - `WithholdingTransport` sends each of its messages to a random few peers, often none.
 * @module
 */
import { blockHash, decodeHeader, voteSignBytes } from '../codec/block.js';
import { decodeProposalPayload, encodeProposalPayload, envelopeSignBytes, type Envelope, type UnsignedEnvelope } from '../codec/envelope.js';
import type { Signer } from '../crypto/ed25519.js';
import type { Block, Commit } from '../types/index.js';
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
  /** Given: only this validator's own messages are split (relayed ones pass as they are). */
  readonly ownId?: string;
}

export class EquivocatingTransport {
  /** Conflicting copy per (type, height, round), so repairs re-send the same pair. */
  private readonly alternatives = new Map<string, Envelope>();
  /** Hash of the second block proposed at (height, round). */
  private readonly altBlocks = new Map<string, string>();
  equivocations = 0;

  constructor(private readonly p: EquivocatorParams) {}

  broadcast(e: Envelope): void {
    if (e.type === 'finalize' || (this.p.ownId !== undefined && e.validatorId !== this.p.ownId)) {
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
      // The same body under another timestamp (a relayed proposal of another validator cannot be decoded as ours: it gets an empty body).
      const body = e.payload.block as { header: unknown; lastCommit: Commit | null };
      const original = decodeHeader(body.header);
      const header = { ...original, timestamp: original.timestamp + this.p.rng.int(1, 50) };
      const hash = blockHash(header);
      this.altBlocks.set(`${e.height}/${e.round}`, hash);
      const block: Block = { ...ownBlock(e), header };
      const u: UnsignedEnvelope = { ...e, payload: encodeProposalPayload(block, hash, e.payload.validRound as number) };
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

/** The block of a proposal this validator signed (an empty body if it does not decode, as for a relayed one). */
function ownBlock(e: Envelope): Block {
  try {
    return decodeProposalPayload(wireCopy(e)).block;
  } catch {
    const body = e.payload.block as { header: unknown; lastCommit: Commit | null };
    return { header: decodeHeader(body.header), txs: [], lastCommit: body.lastCommit, evidence: [] };
  }
}

/** The envelope as it travels (plain JSON values, no encoded-once txs). */
export function wireCopy(e: Envelope): Envelope {
  return JSON.parse(JSON.stringify(e)) as Envelope;
}

function resign(e: Envelope, payload: Record<string, unknown>, signer: Signer): Envelope {
  const u: UnsignedEnvelope = { type: e.type, chainId: e.chainId, height: e.height, round: e.round, validatorId: e.validatorId, payload };
  return { ...u, signature: signer.sign(envelopeSignBytes(u)) };
}

type WireBody = Record<string, unknown> & { txs?: unknown[]; results?: unknown[]; lastCommit?: { signatures?: unknown[] } | null; evidence?: unknown[] };

/**
 * A copy of a wire block body (a proposal's or a finalized block's, header
 * kept) that no longer matches its header, or null when none of the forgeries
 * applies (an empty first block and no spare tx). `spareTx` is a genuine
 * signed tx to slip in.
 */
export function forgeBody(body: WireBody, rng: Rng, spareTx: Record<string, unknown> | null): WireBody | null {
  const txs = body.txs ?? [];
  const sigs = body.lastCommit?.signatures ?? [];
  const options: (() => WireBody)[] = [];
  if (txs.length >= 1) options.push(() => ({ ...body, txs: txs.slice(0, -1), ...(body.results === undefined ? {} : { results: body.results.slice(0, -1) }) }));
  if (txs.length >= 2) options.push(() => ({ ...body, txs: [txs[1], txs[0], ...txs.slice(2)] }));
  if (spareTx !== null && !txs.some((t) => JSON.stringify(t) === JSON.stringify(spareTx))) {
    options.push(() => ({ ...body, txs: [...txs, spareTx], ...(body.results === undefined ? {} : { results: [...body.results, { success: true }] }) }));
  }
  if (sigs.length >= 2) options.push(() => ({ ...body, lastCommit: { ...body.lastCommit, signatures: sigs.slice(1) } }));
  if ((body.evidence ?? []).length > 0) options.push(() => ({ ...body, evidence: [] }));
  return options.length === 0 ? null : rng.pick(options)();
}

export interface ByzantineNetParams {
  readonly signer: Signer;
  readonly ownId: string;
  readonly peers: readonly number[];
  readonly rng: Rng;
  /** Sends one envelope to one peer through the simulated network. */
  readonly send: (to: number, e: Envelope) => void;
}

/** Proposals and finalize messages with forged bodies (see the module comment). */
export class ForgingTransport {
  forgeries = 0;
  constructor(
    private readonly p: ByzantineNetParams,
    private readonly spareTx: () => Record<string, unknown> | null,
  ) {}

  broadcast(e: Envelope): void {
    if (e.validatorId !== this.p.ownId || (e.type !== 'proposal' && e.type !== 'finalize')) {
      for (const to of this.p.peers) this.p.send(to, e);
      return;
    }
    const w = wireCopy(e);
    const body = forgeBody(w.payload.block as WireBody, this.p.rng, this.spareTx());
    if (body === null) {
      for (const to of this.p.peers) this.p.send(to, e);
      return;
    }
    const forged = resign(w, { ...w.payload, block: body }, this.p.signer);
    this.forgeries++;
    // Mostly the forgery to everyone; sometimes the genuine one to a few.
    const genuine = this.p.rng.chance(0.3) ? this.p.rng.int(1, this.p.peers.length) : 0;
    this.p.rng.shuffle(this.p.peers).forEach((to, i) => this.p.send(to, i < genuine ? e : forged));
  }
}

/**
 * What a forging validator answers a node that catches up from it: its
 * blocks with forged bodies or broken certificates, and a height a few
 * blocks beyond its own. `jsons` are the blocks it holds.
 */
export function forgeSyncAnswer(jsons: readonly string[], rng: Rng, spareTx: Record<string, unknown> | null): string[] {
  return jsons.map((j) => {
    const b = JSON.parse(j) as WireBody & { commit?: { signatures?: { signature: string }[] } };
    if (rng.chance(0.5)) {
      const forged = forgeBody(b, rng, spareTx);
      if (forged !== null) return JSON.stringify(forged);
    }
    const sigs = b.commit?.signatures ?? [];
    if (sigs.length === 0) return j;
    const k = rng.int(0, sigs.length - 1);
    const s = sigs[k]!.signature;
    const flipped = (s[0] === '0' ? '1' : '0') + s.slice(1);
    return JSON.stringify({ ...b, commit: { ...b.commit, signatures: sigs.map((x, i) => (i === k ? { ...x, signature: flipped } : x)) } });
  });
}

/** Many distinct signed votes for each position this validator votes at. */
export class FloodingTransport {
  private readonly flooded = new Set<string>();
  floods = 0;
  constructor(
    private readonly p: ByzantineNetParams & { readonly chainId: string },
    private readonly perVote: number,
  ) {}

  broadcast(e: Envelope): void {
    for (const to of this.p.peers) this.p.send(to, e);
    if (e.validatorId !== this.p.ownId || (e.type !== 'prevote' && e.type !== 'precommit')) return;
    const position = `${e.type}/${e.height}/${e.round}`;
    if (this.flooded.has(position)) return;
    this.flooded.add(position);
    for (let k = 0; k < this.perVote; k++) {
      const blockHash = this.p.rng.hex32();
      const signature = this.p.signer.sign(voteSignBytes({ type: e.type, chainId: this.p.chainId, height: e.height, round: e.round, validatorId: e.validatorId, blockHash }));
      const v: Envelope = { ...e, payload: { blockHash }, signature };
      this.floods++;
      for (const to of this.p.peers) this.p.send(to, v);
    }
  }
}

/** Each own message to a random few peers (often none); relayed ones pass. */
export class WithholdingTransport {
  withheld = 0;
  constructor(private readonly p: ByzantineNetParams) {}

  broadcast(e: Envelope): void {
    if (e.validatorId !== this.p.ownId) {
      for (const to of this.p.peers) this.p.send(to, e);
      return;
    }
    const n = this.p.rng.chance(0.4) ? 0 : this.p.rng.int(1, this.p.peers.length);
    const order = this.p.rng.shuffle(this.p.peers);
    this.withheld += this.p.peers.length - n;
    for (const to of order.slice(0, n)) this.p.send(to, e);
  }
}
