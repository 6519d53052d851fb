/**
 * Pending equivocation evidence on disk: `<dataDir>/pending_evidence.json`,
 * replaced atomically (on the file-writer thread) whenever the pending list
 * changes, and read back at start, so that a restart does not forget a double
 * sign the node saw, or was given, and has not yet put in a block. Nothing
 * here is safety-relevant: every item is checked again before it is
 * proposed, and a missing or unreadable file is an empty list.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decodeEvidence, encodeEvidence } from '../codec/tx.js';
import type { Evidence } from '../types/index.js';
import { LatestValueWriter } from './fileWriter.js';

export const EVIDENCE_FILE = 'pending_evidence.json';

/** The evidence in the file (items that do not decode are skipped, with a warning). */
export function loadPendingEvidence(dataDir: string, log: Logger): Evidence[] {
  const file = join(dataDir, EVIDENCE_FILE);
  if (!existsSync(file)) return [];
  let items: unknown;
  try {
    items = (JSON.parse(readFileSync(file, 'utf8')) as { evidence?: unknown }).evidence;
  } catch (e) {
    log.warn({ file, err: (e as Error).message }, 'pending evidence file is not readable; starting with an empty list');
    return [];
  }
  if (!Array.isArray(items)) {
    log.warn({ file }, 'pending evidence file has no evidence list; starting with an empty list');
    return [];
  }
  const out: Evidence[] = [];
  for (const item of items) {
    try {
      out.push(decodeEvidence(item));
    } catch (e) {
      log.warn({ file, err: (e as Error).message }, 'skipped a pending evidence item that does not decode');
    }
  }
  return out;
}

/** Saves the latest list, one write at a time (a failed write is logged: the list stays in memory). */
export class PendingEvidenceFile {
  private readonly writer: LatestValueWriter<readonly Evidence[]>;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.writer = new LatestValueWriter(dataDir, (list) => [{ name: EVIDENCE_FILE, data: JSON.stringify({ evidence: list.map((e) => encodeEvidence(e)) }) }]);
  }

  save(list: readonly Evidence[]): void {
    this.writer.write(list).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'could not save the pending evidence list'));
  }
}
