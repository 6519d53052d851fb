/**
 * Builds a real chain outside any node: blocks executed by the state machine,
 * certificates and consensus envelopes signed with the public dev validator
 * keys. Tests feed what it makes to a node (as proposals, finalize messages or
 * sync answers) and check what the node does with it.
 */
import { canonicalJson } from '../../src/codec/canonical.js';
import { encodeFinalizedBlock } from '../../src/codec/block.js';
import { encodeFinalizePayload, encodeProposalPayload, envelopeSignBytes, type Envelope, type UnsignedEnvelope } from '../../src/codec/envelope.js';
import { voteSignBytes } from '../../src/codec/block.js';
import { buildBlock, type BlockEnv, type ChainTip, type ExecutedBlock } from '../../src/consensus/block.js';
import { selectProposer } from '../../src/consensus/proposer.js';
import { validatorSetForHeight } from '../../src/consensus/validatorSet.js';
import { createSigner, type Signer } from '../../src/crypto/ed25519.js';
import { devValidator } from '../../src/crypto/keys.js';
import { genesisEntries, genesisHash } from '../../src/state/genesis.js';
import { getValidator } from '../../src/state/staking.js';
import { WorldState } from '../../src/state/worldState.js';
import type { Block, Commit, DecodedTx, Evidence, FinalizedBlock, Genesis, ValidatorSet } from '../../src/types/index.js';

/** The dev validator keys 0..9 by validator id. */
const KEYS = new Map<string, { index: number; signer: Signer }>();
for (let i = 0; i < 10; i++) {
  const k = devValidator(i);
  KEYS.set(k.address, { index: i, signer: createSigner(k.privateKey) });
}

export function signerOf(validatorId: string): Signer {
  const k = KEYS.get(validatorId);
  if (k === undefined) throw new Error(`${validatorId} is not a dev validator`);
  return k.signer;
}

export function devIndexOf(validatorId: string): number {
  const k = KEYS.get(validatorId);
  if (k === undefined) throw new Error(`${validatorId} is not a dev validator`);
  return k.index;
}

/** A signed envelope as it travels (plain JSON). */
export function envelope(u: UnsignedEnvelope): Record<string, unknown> {
  const bytes = u.type === 'prevote' || u.type === 'precommit'
    ? voteSignBytes({ type: u.type, chainId: u.chainId, height: u.height, round: u.round, validatorId: u.validatorId, blockHash: u.payload.blockHash as string | null })
    : envelopeSignBytes(u);
  const e: Envelope = { ...u, signature: signerOf(u.validatorId).sign(bytes) };
  return JSON.parse(canonicalJson(e)) as Record<string, unknown>;
}

export class TestChain {
  readonly state: WorldState;
  tip: ChainTip;
  readonly blocks: FinalizedBlock[] = [];

  constructor(readonly genesis: Genesis) {
    this.state = WorldState.fromEntries(genesisEntries(genesis));
    this.tip = { height: 0, hash: genesisHash(genesis), timestamp: genesis.genesisTime, commit: null };
  }

  get chainId(): string {
    return this.genesis.chainId;
  }

  /** The validator set of `height` (default: the next height). */
  setAt(height = this.tip.height + 1): ValidatorSet {
    return validatorSetForHeight(this.state, height, this.genesis.params);
  }

  proposerOf(height: number, round: number): string {
    return selectProposer(this.setAt(height), height, round).id;
  }

  /** The next block with these txs (each must apply). */
  build(txs: readonly DecodedTx[], opts: { round?: number; evidence?: Evidence[]; lastCommit?: Commit | null } = {}): ExecutedBlock {
    const set = this.setAt();
    const env: BlockEnv = { chainId: this.chainId, params: this.genesis.params, treasury: this.genesis.treasury, set, validator: (id) => getValidator(this.state, id) };
    const tip = opts.lastCommit === undefined ? this.tip : { ...this.tip, commit: opts.lastCommit };
    const built = buildBlock({ env, state: this.state, tip, round: opts.round ?? 0, timestamp: this.tip.timestamp + 1000, candidates: txs, evidence: opts.evidence ?? [] });
    if (built.skipped.length > 0) throw new Error(`tx ${built.skipped[0]!.tx.id} does not apply: ${built.skipped[0]!.error.message}`);
    return built;
  }

  /** A certificate for `hash` at the next height signed by `signers` (default: every member of the set). */
  certify(hash: string, opts: { round?: number; signers?: readonly string[]; height?: number } = {}): Commit {
    const height = opts.height ?? this.tip.height + 1;
    const round = opts.round ?? 0;
    const ids = opts.signers ?? this.setAt(height).validators.map((v) => v.id);
    const signatures = [...ids].sort().map((validatorId) => ({
      validatorId,
      signature: signerOf(validatorId).sign(voteSignBytes({ type: 'precommit', chainId: this.chainId, height, round, validatorId, blockHash: hash })),
    }));
    return { height, round, blockHash: hash, signatures };
  }

  /** Appends an executed block with its certificate; returns it finalized. */
  append(b: ExecutedBlock, commit: Commit): FinalizedBlock {
    this.state.apply(b.diff);
    const fb: FinalizedBlock = { block: b.block, hash: b.hash, results: b.results, commit };
    this.blocks.push(fb);
    this.tip = { height: b.block.header.height, hash: b.hash, timestamp: b.block.header.timestamp, commit };
    return fb;
  }

  /** The proposal envelope of the round's proposer for `b`. */
  proposal(b: { block: Block; hash: string }, round = 0, validRound = -1): Record<string, unknown> {
    const height = b.block.header.height;
    return envelope({ type: 'proposal', chainId: this.chainId, height, round, validatorId: this.proposerOf(height, round), payload: encodeProposalPayload(b.block, b.hash, validRound) });
  }

  /** A vote envelope. */
  vote(type: 'prevote' | 'precommit', height: number, round: number, validatorId: string, blockHash: string | null): Record<string, unknown> {
    return envelope({ type, chainId: this.chainId, height, round, validatorId, payload: { blockHash } });
  }

  /** A finalize envelope sent by `from`. */
  finalize(fb: FinalizedBlock, from: string): Record<string, unknown> {
    return envelope({ type: 'finalize', chainId: this.chainId, height: fb.block.header.height, round: fb.commit.round, validatorId: from, payload: encodeFinalizePayload(fb) });
  }

  /** A finalized block as a peer serves it from GET /sync/blocks. */
  static wire(fb: FinalizedBlock): unknown {
    return JSON.parse(canonicalJson(encodeFinalizedBlock(fb)));
  }
}
