/**
 * Safety checks of a run, fed by the simulation as things happen:
 * - no two different blocks decided at one height by honest nodes, ever
 *   (restarts included), and each decided block extends the node's chain;
 * - every decided block's certificate passes verifyCommit against the set;
 * - no honest key signs two different votes/proposals for one (height, round,
 *   step): both what the guard signed and every envelope honest nodes send;
 * - equivocation evidence never names an honest validator;
 * - with the node's real parts: every body stored for a decided hash is the
 *   one its header commits to (`bodyMismatch` is null) and the same at every
 *   node, with the same results; every node's state root after a height is
 *   the header's and the same at every node; every tx of a stored block has a
 *   valid signature; evidence in blocks names only faulty validators;
 * - a state installed from a snapshot (scenario `snapshot-join`) is that of
 *   the block decided at its height, with the state root honest nodes
 *   reached after it. A node whose store starts at a snapshot has no blocks
 *   below it: the checks above compare only what both sides hold.
 * @module
 */
import { encodeBlock } from '../codec/block.js';
import { canonicalJson } from '../codec/canonical.js';
import type { Envelope } from '../codec/envelope.js';
import { bodyMismatch } from '../consensus/block.js';
import type { SignedRecord } from '../consensus/signGuard.js';
import type { FinalizedBlock, ValidatorSet } from '../types/index.js';
import type { CertCache } from './app.js';

export class SafetyChecker {
  readonly violations: string[] = [];
  /** height → first hash decided by an honest node, and who. */
  private readonly decided = new Map<number, { hash: string; node: number; at: number }>();
  /** `${validatorId}/${height}/${round}/${step}` → block hash of durable guard records. */
  private readonly signed = new Map<string, string | null>();
  /** Same, for envelopes honest nodes put on the wire. */
  private readonly sent = new Map<string, string | null>();
  /** Block hash → canonical JSON of the body and results the first honest node stored, and who. */
  private readonly bodies = new Map<string, { json: string; node: number }>();
  /** Height → state root after it at the first honest node that committed it, and who. */
  private readonly roots = new Map<number, { root: string; node: number }>();

  constructor(
    private readonly chainId: string,
    private readonly set: ValidatorSet,
    private readonly certs: CertCache,
    private readonly name: (node: number) => string,
    private readonly maxViolations = 50,
  ) {}

  fail(msg: string): void {
    if (this.violations.length < this.maxViolations) this.violations.push(msg);
  }

  /**
   * A block an honest node is about to commit (`set`: the validator set of its
   * height at that node; default the run's one set). Returns a reason to
   * refuse it (the node stops), or null.
   */
  onCommit(node: number, fb: FinalizedBlock, chainHeight: number, tipHash: string, at: number, set: ValidatorSet = this.set): string | null {
    const h = fb.block.header.height;
    let refuse: string | null = null;
    const why = this.certs.check(this.chainId, set, fb.commit, h, fb.hash);
    if (why !== null) {
      this.fail(`SAFETY certificate: ${this.name(node)} decided height ${h} block ${fb.hash.slice(0, 12)} with an invalid certificate: ${why}`);
      refuse = 'invalid certificate';
    }
    if (h !== chainHeight + 1 || fb.block.header.prevHash !== tipHash) {
      this.fail(`SAFETY chain: ${this.name(node)} decided height ${h} (prev ${fb.block.header.prevHash.slice(0, 12)}) on its tip ${chainHeight} (${tipHash.slice(0, 12)})`);
      refuse = 'does not extend the chain';
    }
    const first = this.decided.get(h);
    if (first === undefined) this.decided.set(h, { hash: fb.hash, node, at });
    else if (first.hash !== fb.hash) {
      this.fail(`SAFETY fork: height ${h}: ${this.name(first.node)} decided ${first.hash.slice(0, 12)} at t=${first.at}, ${this.name(node)} decided ${fb.hash.slice(0, 12)} (round ${fb.commit.round}) at t=${at}`);
    }
    return refuse;
  }

  /**
   * The body an honest node stores for a decided block: the one its header
   * commits to, and the same (with the same results) at every node. Returns a
   * reason to refuse it, or null.
   */
  onStore(node: number, fb: FinalizedBlock): string | null {
    const h = fb.block.header.height;
    const mismatch = bodyMismatch(fb.block);
    if (mismatch !== null) {
      this.fail(`SAFETY body: ${this.name(node)} stores block ${h} (${fb.hash.slice(0, 12)}) with a body its header does not commit to: ${mismatch}`);
      return 'body does not match the header';
    }
    const json = canonicalJson({ block: encodeBlock(fb.block), results: fb.results.map((r) => (r.error === undefined ? { success: r.success } : { success: r.success, error: r.error })) });
    const first = this.bodies.get(fb.hash);
    if (first === undefined) this.bodies.set(fb.hash, { json, node });
    else if (first.json !== json) {
      this.fail(`SAFETY body: block ${h} (${fb.hash.slice(0, 12)}) is stored with different bodies or results by ${this.name(first.node)} and ${this.name(node)}`);
      return 'another body for this hash';
    }
    return null;
  }

  /** The state root an honest node reached after committing `height` (its header says `headerRoot`). */
  onStateRoot(node: number, height: number, root: string, headerRoot: string): void {
    if (root !== headerRoot) this.fail(`SAFETY state: ${this.name(node)} reached state root ${root.slice(0, 12)} after height ${height}, whose header says ${headerRoot.slice(0, 12)}`);
    const first = this.roots.get(height);
    if (first === undefined) this.roots.set(height, { root, node });
    else if (first.root !== root) this.fail(`SAFETY state: after height ${height} ${this.name(first.node)} has state root ${first.root.slice(0, 12)}, ${this.name(node)} has ${root.slice(0, 12)}`);
  }

  /**
   * An honest node installed the state of block `hash` at `height` from a
   * snapshot; the state it holds now hashes to `root` (its block's header
   * says `headerRoot`). It must be the decided block at that height, and
   * the state the honest nodes that executed it reached.
   */
  onInstall(node: number, height: number, hash: string, root: string, headerRoot: string): void {
    const decided = this.decided.get(height);
    if (decided === undefined) this.fail(`SAFETY snapshot: ${this.name(node)} installed the state of block ${height} (${hash.slice(0, 12)}), which no honest node decided`);
    else if (decided.hash !== hash) this.fail(`SAFETY snapshot: ${this.name(node)} installed the state of block ${hash.slice(0, 12)} at height ${height}, where ${this.name(decided.node)} decided ${decided.hash.slice(0, 12)}`);
    if (root !== headerRoot) this.fail(`SAFETY snapshot: ${this.name(node)} installed a state with root ${root.slice(0, 12)} for block ${height}, whose header says ${headerRoot.slice(0, 12)}`);
    const first = this.roots.get(height);
    if (first === undefined) this.fail(`SAFETY snapshot: ${this.name(node)} installed a state at height ${height}, after which no honest node reported its state root`);
    else if (first.root !== root) this.fail(`SAFETY snapshot: ${this.name(node)} installed state root ${root.slice(0, 12)} at height ${height}; ${this.name(first.node)} reached ${first.root.slice(0, 12)} there`);
  }

  /** A signature record an honest node's guard just made durable. */
  onDurable(node: number, validatorId: string, r: SignedRecord): void {
    const key = `${validatorId}/${r.height}/${r.round}/${r.step}`;
    const prev = this.signed.get(key);
    if (prev === undefined) this.signed.set(key, r.blockHash);
    else if (prev !== r.blockHash) {
      this.fail(`SAFETY double sign: honest ${this.name(node)} made durable ${r.step} at height ${r.height} round ${r.round} for ${short(prev)} and for ${short(r.blockHash)}`);
    }
  }

  /** An envelope an honest node broadcasts (its own, or one it relays: only its own says what it signed). */
  onBroadcast(node: number, ownId: string, e: Envelope): void {
    if (e.type === 'finalize' || e.validatorId !== ownId) return;
    const hash = (e.payload.blockHash ?? null) as string | null;
    const key = `${e.validatorId}/${e.height}/${e.round}/${e.type}`;
    const prev = this.sent.get(key);
    if (prev === undefined) this.sent.set(key, hash);
    else if (prev !== hash) {
      this.fail(`SAFETY double send: honest ${this.name(node)} sent ${e.type} at height ${e.height} round ${e.round} for ${short(prev)} and for ${short(hash)}`);
    }
  }

  onEvidence(node: number, first: Envelope, second: Envelope, honest: ReadonlySet<string>, validSig: (e: Envelope) => boolean): void {
    if (first.validatorId !== second.validatorId || first.type !== second.type || first.height !== second.height || first.round !== second.round) {
      this.fail(`evidence: ${this.name(node)} reported envelopes that are not one (validator, type, height, round)`);
      return;
    }
    if (!validSig(first) || !validSig(second)) this.fail(`evidence: ${this.name(node)} reported an envelope without a valid signature`);
    if (honest.has(first.validatorId)) {
      this.fail(
        `SAFETY evidence against honest validator ${first.validatorId.slice(0, 8)} (reported by ${this.name(node)}): ${first.type} h${first.height} r${first.round} ${short(first.payload.blockHash as string | null)} vs ${short(second.payload.blockHash as string | null)}`,
      );
    }
  }

  decidedHash(height: number): string | undefined {
    return this.decided.get(height)?.hash;
  }
}

function short(h: string | null | undefined): string {
  return h === null || h === undefined ? 'nil' : h.slice(0, 12);
}
