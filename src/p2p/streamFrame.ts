/**
 * The frames of a peer stream (protocol §6, "Peer streams"): one text frame
 * of JSON, `{"envelopes":[...],"txs":[...]}` (either list may be left out),
 * carrying consensus envelopes as `POST /p2p/message` bodies and txs as
 * `POST /p2p/txs` carries them. Frames are built by joining the canonical
 * JSON already made for each message, never by encoding again.
 * @module
 */
import type { P2pKind } from './traffic.js';

/** Most envelopes in one frame. */
export const MAX_FRAME_ENVELOPES = 1000;
/** Most txs in one frame (what one `POST /p2p/txs` takes). */
export const MAX_FRAME_TXS = 1000;
/** A sender starts a new frame once this many bytes are in one (a single larger message goes alone). */
export const FRAME_SOFT_BYTES = 1_048_576;

/** One message queued for a peer: an envelope's canonical JSON, or a tx batch (its txs' wire JSON joined by commas). */
export interface StreamItem {
  readonly kind: P2pKind;
  readonly text: string;
  /** Txs in a batch; 1 for an envelope. */
  readonly count: number;
  /** UTF-8 length of `text`. */
  readonly bytes: number;
}

export function envelopeItem(kind: P2pKind, canonical: string): StreamItem {
  return { kind, text: canonical, count: 1, bytes: Buffer.byteLength(canonical) };
}

export function txBatchItem(txs: readonly string[]): StreamItem {
  const text = txs.join(',');
  return { kind: 'txs', text, count: txs.length, bytes: Buffer.byteLength(text) };
}

/** The JSON text of a frame carrying these envelopes and txs. */
export function frameText(envelopes: readonly string[], txs: readonly string[]): string {
  if (txs.length === 0) return `{"envelopes":[${envelopes.join(',')}]}`;
  if (envelopes.length === 0) return `{"txs":[${txs.join(',')}]}`;
  return `{"envelopes":[${envelopes.join(',')}],"txs":[${txs.join(',')}]}`;
}

/** A received frame, its shape checked (the messages themselves are checked as POSTs are). */
export interface InboundFrame {
  readonly envelopes: readonly unknown[];
  readonly txs: readonly unknown[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The frame's lists, or a sentence saying why its shape is wrong. */
export function decodeFrame(json: unknown): InboundFrame | string {
  if (!isObject(json)) return 'a frame must be a JSON object';
  for (const k of Object.keys(json)) if (k !== 'envelopes' && k !== 'txs') return `a frame takes envelopes and txs, not ${JSON.stringify(k.slice(0, 40))}`;
  const envelopes = json.envelopes ?? [];
  const txs = json.txs ?? [];
  if (!Array.isArray(envelopes) || !Array.isArray(txs)) return 'envelopes and txs must be arrays';
  if (envelopes.length > MAX_FRAME_ENVELOPES) return `a frame carries at most ${MAX_FRAME_ENVELOPES} envelopes, got ${envelopes.length}`;
  if (txs.length > MAX_FRAME_TXS) return `a frame carries at most ${MAX_FRAME_TXS} txs, got ${txs.length}`;
  if (!envelopes.every(isObject) || !txs.every(isObject)) return 'every envelope and tx must be a JSON object';
  return { envelopes, txs };
}
