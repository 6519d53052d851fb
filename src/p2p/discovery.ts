/**
 * Peer discovery with a policy. Every `intervalMs` the node asks its usable
 * peers for theirs (`GET /p2p/peers`, at most `PEERS_MAX_BYTES` within the
 * request deadline, the first `MAX_LIST_ENTRIES` entries read). A listed URL
 * is only a claim: it is dropped if it is this node, known, banned, refused
 * lately or outside the host policy (`hostPolicy.ts`); of the rest at most
 * `CANDIDATES_PER_PEER` per listing peer, picked at random, and
 * `MAX_CANDIDATES_PER_ROUND` in all are asked for their hello
 * (`GET /p2p/hello`, `HELLO_MAX_BYTES` within `HELLO_TIMEOUT_MS`), and only a
 * hello that checks (this chain and genesis, the nonce we sent, a node key
 * other than ours, a node id not in the book yet) takes a URL into the book.
 * Nothing else is ever sent to a candidate. What a candidate answered is kept
 * from the public: a refused URL is remembered for a while (`REFUSED_MS`,
 * `NO_ANSWER_MS`) and logged at debug level, never listed.
 *
 * The hellos of peers the operator named (config, admin API) are asked too,
 * at start, when added, and again while they fail (1 s doubling up to 60 s):
 * an admin-added peer is used once its hello checks, a configured one at once
 * unless its hello proves it another chain; either is dropped if its hello is
 * signed with this node's key (see `peers.ts`).
 *
 * Each round first drops the discovered peers that have not answered for
 * `discoveredTtlMs`.
 * @module
 */
import { normalizePeerUrl, type Peer, type PeerBook } from './peers.js';
import { checkHello, newHelloNonce, type HelloCheck } from './hello.js';
import { refusePeerUrl, type HostPolicy } from './hostPolicy.js';

/** What discovery needs of the transport. */
export interface DiscoveryClient {
  getJson<T>(url: string, path: string, maxBytes: number, timeoutMs?: number): Promise<T>;
  /** Closes the connections to a URL that was not taken into the book. */
  forget(url: string): void;
}

export type DiscoveryLogLevel = 'debug' | 'info' | 'warn';

export interface PeerDiscoveryOptions {
  readonly book: PeerBook;
  readonly client: DiscoveryClient;
  readonly chainId: string;
  readonly genesisHash: string;
  /** This node's own node id (the address of its node key). */
  readonly nodeId: string;
  readonly policy: HostPolicy;
  /** How often peers are asked for their peers; 0: never (the hellos of configured and admin-added peers are still asked). */
  readonly intervalMs: number;
  /** A discovered peer that has not answered for this long is dropped. */
  readonly discoveredTtlMs: number;
  readonly now?: () => number;
  /** Uniform in [0, 1): which candidates of a long list are asked (default Math.random). */
  readonly random?: () => number;
  readonly log?: (level: DiscoveryLogLevel, msg: string, fields: Record<string, unknown>) => void;
}

/** Largest `GET /p2p/peers` answer read. */
export const PEERS_MAX_BYTES = 1024 * 1024;
/** Entries of one `GET /p2p/peers` answer looked at; the rest is ignored. */
export const MAX_LIST_ENTRIES = 1000;
/** Longest URL taken from a list. */
const MAX_URL_LENGTH = 256;
/** New URLs of one listing peer asked for their hello per round. */
export const CANDIDATES_PER_PEER = 4;
/** New URLs asked for their hello per round, in all. */
export const MAX_CANDIDATES_PER_ROUND = 32;
/** Largest hello answer read. */
export const HELLO_MAX_BYTES = 4096;
/** Longest time a hello may take. */
export const HELLO_TIMEOUT_MS = 5_000;
/** How long a URL whose hello was refused (another chain, a bad answer, this node, a node already in the book) is not asked again. */
export const REFUSED_MS = 10 * 60_000;
/** How long a URL that gave no hello (unreachable, slow, not a fastpos node) is not asked again. */
export const NO_ANSWER_MS = 60_000;
/** Most refused URLs remembered (the oldest is forgotten first). */
const MAX_REFUSED = 4096;
/** How often the book is looked at for hellos due. */
const HELLO_CHECK_MS = 1_000;

/** A hello that could not be had at all. */
export type HelloOutcome = HelloCheck | { readonly ok: false; readonly refusal: 'noAnswer'; readonly reason: string };

/** What `addAdminPeer` did; `nodeId` is null until the peer's hello checks. */
export type AdminAddResult =
  | { readonly outcome: 'added' | 'promoted'; readonly url: string; readonly nodeId: string | null; readonly reason?: string }
  | { readonly outcome: 'invalid' | 'self' | 'duplicate' | 'full' | 'refused'; readonly url: string; readonly reason: string };

/** What one discovery round did (for logs and tests). */
export interface RoundReport {
  /** Peers asked for their list. */
  readonly asked: number;
  /** Distinct URLs read from their answers. */
  readonly listed: number;
  /** URLs asked for their hello. */
  readonly candidates: number;
  /** URLs taken into the book. */
  readonly added: string[];
  /** Discovered peers that aged out. */
  readonly expired: string[];
}

export class PeerDiscovery {
  private readonly now: () => number;
  private readonly random: () => number;
  /** URLs not asked again before the given time. */
  private readonly refused = new Map<string, number>();
  /** Book peers whose hello is being asked. */
  private readonly helloInFlight = new Set<string>();
  private discoveryTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private running: Promise<RoundReport> | null = null;
  private closed = false;

  constructor(private readonly opts: PeerDiscoveryOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /** Asks the hellos due now and every second after; runs a discovery round every `intervalMs` (when not 0). */
  start(): void {
    if (this.closed) return;
    const checkHellos = (): void => {
      void this.verifyDue().finally(() => {
        if (this.closed) return;
        this.helloTimer = setTimeout(checkHellos, HELLO_CHECK_MS);
        this.helloTimer.unref();
      });
    };
    checkHellos();
    if (this.opts.intervalMs > 0) this.scheduleRound();
  }

  private scheduleRound(): void {
    this.discoveryTimer = setTimeout(() => {
      void this.round()
        .catch((e: unknown) => this.log('warn', 'discovery round failed', { err: (e as Error).message }))
        .finally(() => {
          if (!this.closed) this.scheduleRound();
        });
    }, this.opts.intervalMs);
    this.discoveryTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.discoveryTimer !== null) clearTimeout(this.discoveryTimer);
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
  }

  private log(level: DiscoveryLogLevel, msg: string, fields: Record<string, unknown>): void {
    this.opts.log?.(level, msg, fields);
  }

  /** Asks a URL for its hello with a fresh nonce and checks the answer. */
  async hello(url: string, timeoutMs = HELLO_TIMEOUT_MS): Promise<HelloOutcome> {
    const nonce = newHelloNonce();
    let answer: unknown;
    try {
      answer = await this.opts.client.getJson<unknown>(url, `/p2p/hello?nonce=${nonce}`, HELLO_MAX_BYTES, timeoutMs);
    } catch (e) {
      return { ok: false, refusal: 'noAnswer', reason: e instanceof Error ? e.message : String(e) };
    }
    return checkHello(answer, { chainId: this.opts.chainId, genesisHash: this.opts.genesisHash, nonce, selfNodeId: this.opts.nodeId });
  }

  /** Asks the hello of one book peer and records what it showed. */
  private async verifyPeer(p: Peer): Promise<HelloOutcome> {
    this.helloInFlight.add(p.url);
    try {
      const r = await this.hello(p.url);
      const now = this.now();
      if (this.opts.book.get(p.url) !== p) return r; // removed meanwhile
      if (r.ok) {
        this.opts.book.verified(p.url, r.nodeId, now);
        this.log('debug', 'peer hello checked', { peer: p.url, source: p.source, nodeId: r.nodeId });
      } else if (r.refusal === 'self') {
        this.opts.book.remove(p.url);
        this.opts.book.addSelf(p.url);
        this.opts.client.forget(p.url);
        this.log('warn', 'dropped a peer that is this node under another URL', { peer: p.url, source: p.source });
      } else {
        this.opts.book.helloFailed(p.url, now, `${r.refusal}: ${r.reason}`, r.refusal !== 'noAnswer');
        const level = r.refusal === 'noAnswer' ? 'debug' : 'warn';
        this.log(level, r.refusal === 'noAnswer' ? 'peer hello failed' : 'peer hello refused; the peer is not used', { peer: p.url, source: p.source, err: r.reason });
      }
      return r;
    } finally {
      this.helloInFlight.delete(p.url);
    }
  }

  /** Asks the hellos of the configured and admin-added peers that are due. */
  async verifyDue(): Promise<void> {
    const due = this.opts.book.helloDue(this.now()).filter((p) => !this.helloInFlight.has(p.url));
    await Promise.all(due.map((p) => this.verifyPeer(p)));
  }

  /**
   * Adds a peer through the admin API: its hello is asked at once. A hello
   * that is refused (another chain, a bad answer) keeps it out, as does one
   * signed with this node's key; a peer that does not answer is kept and
   * asked again, unused until its hello checks. A URL that was discovered
   * becomes the admin's. When the book is full, a discovered peer makes room.
   */
  async addAdminPeer(raw: string): Promise<AdminAddResult> {
    const url = normalizePeerUrl(raw);
    if (url === null) return { outcome: 'invalid', url: raw, reason: 'url must be an http(s) base URL without path, query or credentials' };
    const book = this.opts.book;
    const outcome = book.addOperatorPeer(url, 'admin', this.now());
    switch (outcome) {
      case 'invalid':
        return { outcome, url, reason: 'url must be an http(s) base URL without path, query or credentials' };
      case 'self':
        return { outcome, url, reason: `${url} is this node` };
      case 'duplicate':
        return { outcome, url, reason: `${url} is already a peer` };
      case 'full':
        return { outcome, url, reason: `the peer book is full (maxPeers ${book.capacity}) of configured and admin-added peers` };
      case 'promoted':
        // Its connections were made under the host policy of discovered peers.
        this.opts.client.forget(url);
        return { outcome, url, nodeId: book.get(url)?.nodeId ?? null };
      case 'added':
        break;
    }
    const p = book.get(url);
    if (p === undefined) return { outcome: 'added', url, nodeId: null };
    const r = await this.verifyPeer(p);
    if (r.ok) return { outcome: 'added', url, nodeId: r.nodeId };
    if (r.refusal === 'self') return { outcome: 'self', url, reason: `${url} is this node (its hello is signed with this node's key)` };
    if (r.refusal === 'noAnswer') return { outcome: 'added', url, nodeId: null, reason: `no hello yet (${r.reason}); the peer is used once its hello checks` };
    if (book.get(url) === p) book.remove(url);
    this.opts.client.forget(url);
    return { outcome: 'refused', url, reason: `${url} was not added: ${r.reason}` };
  }

  private refusedUntil(url: string, now: number): number {
    const until = this.refused.get(url);
    if (until === undefined) return 0;
    if (until <= now) this.refused.delete(url);
    return until;
  }

  private remember(url: string, until: number): void {
    this.refused.delete(url);
    this.refused.set(url, until);
    for (const old of this.refused.keys()) {
      if (this.refused.size <= MAX_REFUSED) break;
      this.refused.delete(old);
    }
  }

  /** Why a listed URL is not asked for its hello this round (null: it may be). */
  private skipReason(url: string, now: number): string | null {
    const book = this.opts.book;
    if (book.isSelf(url)) return 'self';
    if (book.has(url)) return 'known';
    if (book.isBanned(url, now)) return 'banned';
    if (this.refusedUntil(url, now) > now) return 'refused lately';
    return refusePeerUrl(url, this.opts.policy);
  }

  /** Up to `k` items of `xs`, picked at random (a partial Fisher-Yates shuffle of a copy). */
  private pick<T>(xs: readonly T[], k: number): T[] {
    const a = [...xs];
    const n = Math.min(k, a.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.random() * (a.length - i));
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a.slice(0, n);
  }

  /** One discovery round (one at a time: a call while one runs returns that one's report). */
  round(): Promise<RoundReport> {
    this.running ??= this.runRound().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runRound(): Promise<RoundReport> {
    const book = this.opts.book;
    const expired = book.expire(this.now(), this.opts.discoveredTtlMs);
    for (const url of expired) this.log('info', 'dropped a discovered peer that stopped answering', { peer: url, ttlMs: this.opts.discoveredTtlMs });
    if (this.closed) return { asked: 0, listed: 0, candidates: 0, added: [], expired };
    const asked = book.ready(this.now());
    const answers = await Promise.all(
      asked.map(async (peer) => {
        try {
          const list = await this.opts.client.getJson<unknown>(peer.url, '/p2p/peers', PEERS_MAX_BYTES);
          book.ok(peer.url, this.now());
          return { from: peer.url, list };
        } catch (e) {
          book.failed(peer.url, this.now(), (e as Error).message);
          return undefined;
        }
      }),
    );
    const now = this.now();
    const seen = new Set<string>();
    let candidates: string[] = [];
    for (const a of answers) {
      if (a === undefined) continue;
      if (!Array.isArray(a.list)) {
        this.log('debug', 'a peer list is not an array', { peer: a.from });
        continue;
      }
      const fresh: string[] = [];
      for (const entry of a.list.slice(0, MAX_LIST_ENTRIES) as unknown[]) {
        const raw = typeof entry === 'object' && entry !== null ? (entry as { url?: unknown }).url : undefined;
        if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH) continue;
        const url = normalizePeerUrl(raw);
        if (url === null || seen.has(url)) continue;
        seen.add(url);
        if (this.skipReason(url, now) === null) fresh.push(url);
      }
      candidates.push(...this.pick(fresh, CANDIDATES_PER_PEER));
    }
    const listed = seen.size;
    // Nothing can enter a full book: no hello is asked then.
    const room = book.capacity - book.size;
    candidates = room <= 0 ? [] : this.pick(candidates, MAX_CANDIDATES_PER_ROUND);
    const added: string[] = [];
    await Promise.all(
      candidates.map(async (url) => {
        if (await this.tryCandidate(url)) added.push(url);
      }),
    );
    if (candidates.length > 0) this.log('debug', 'discovery round', { asked: asked.length, listed, candidates: candidates.length, added: added.length });
    return { asked: asked.length, listed, candidates: candidates.length, added, expired };
  }

  /** Asks a listed URL for its hello; takes it into the book if it checks. */
  private async tryCandidate(url: string): Promise<boolean> {
    const r = await this.hello(url);
    const now = this.now();
    if (r.ok && this.opts.book.addDiscovered(url, r.nodeId, now)) {
      this.log('info', 'added a discovered peer', { peer: url, nodeId: r.nodeId });
      return true;
    }
    if (!this.opts.book.has(url)) this.opts.client.forget(url);
    if (r.ok) {
      this.remember(url, now + REFUSED_MS);
      this.log('debug', 'discovered peer not added (its node is in the book already, or the book is full)', { peer: url, nodeId: r.nodeId });
      return false;
    }
    if (r.refusal === 'self') this.opts.book.addSelf(url);
    this.remember(url, now + (r.refusal === 'noAnswer' ? NO_ANSWER_MS : REFUSED_MS));
    this.log('debug', 'discovered URL refused', { peer: url, refusal: r.refusal, err: r.reason });
    return false;
  }
}
