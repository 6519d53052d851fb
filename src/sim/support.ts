/**
 * What the node's parts are given in the simulation instead of the outside
 * world: metrics that count nothing, a log that writes to the run's trace
 * (or nowhere), and a signature verifier that checks on the spot and
 * remembers its answers.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/ed25519.js';
import type { Log, PartContext, SignatureVerifier, VerifyItem } from '../node/context.js';

type Metrics = PartContext['metrics'];

/** Any metric: every call does nothing. */
const NO_METRIC: Record<string, unknown> = {};
for (const m of ['inc', 'dec', 'set', 'observe', 'reset', 'remove', 'zero']) NO_METRIC[m] = () => undefined;
NO_METRIC.labels = () => NO_METRIC;
NO_METRIC.startTimer = () => () => 0;

/** Metrics that record nothing: every metric the parts name is `NO_METRIC`. */
export const NO_METRICS: Metrics = new Proxy({}, { get: () => NO_METRIC }) as Metrics;

/**
 * A log for one node: warnings and worse go to `sink` with the node's name
 * (the run's trace), the rest nowhere. Takes pino's call shapes: `(fields,
 * message)` or `(message)`.
 */
export function simLog(name: string, sink: ((line: string) => void) | null): Log {
  const none = (): void => undefined;
  if (sink === null) return { debug: none, info: none, warn: none, error: none, fatal: none } as unknown as Log;
  const write =
    (level: string) =>
    (a: unknown, b?: unknown): void => {
      const msg = typeof a === 'string' ? a : typeof b === 'string' ? b : '';
      const fields = typeof a === 'object' && a !== null ? ` ${describeFields(a as Record<string, unknown>)}` : '';
      sink(`${name} ${level}: ${msg}${fields}`);
    };
  return { debug: none, info: none, warn: write('warn'), error: write('error'), fatal: write('FATAL') } as unknown as Log;
}

function describeFields(f: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    const s = v instanceof Error ? v.message : typeof v === 'bigint' ? v.toString() : typeof v === 'object' ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
    parts.push(`${k}=${s.length > 80 ? `${s.slice(0, 80)}…` : s}`);
  }
  return parts.join(' ');
}

/**
 * Ed25519 answers remembered by (key, signature, message): a check is a pure
 * function of the three, so one answer serves every node of a run.
 */
export class SignatureMemo {
  private readonly answers = new Map<string, { readonly message: string; readonly ok: boolean }>();
  readonly keys = new Map<string, KeyObject>();
  checks = 0;

  verify(item: VerifyItem): boolean {
    const key = item.pubKey + item.signature;
    const message = Buffer.from(item.message).toString('latin1');
    const known = this.answers.get(key);
    if (known !== undefined && known.message === message) return known.ok;
    this.checks++;
    const ok = verifySignature(item.pubKey, item.message, item.signature, this.keys);
    if (this.answers.size >= 200_000) this.answers.clear();
    this.answers.set(key, { message, ok });
    return ok;
  }
}

/** The verifier a simulated node's admission and block checks use: on the spot, through a memo. */
export class MemoVerifier implements SignatureVerifier {
  constructor(private readonly memo: SignatureMemo) {}
  async verify(item: VerifyItem): Promise<boolean> {
    return this.memo.verify(item);
  }
  async verifyMany(items: readonly VerifyItem[]): Promise<boolean[]> {
    return items.map((i) => this.memo.verify(i));
  }
  async close(): Promise<void> {}
}
