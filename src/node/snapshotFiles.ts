/**
 * State snapshots on disk, for peers to sync from: `<dataDir>/snapshots/<height>/`
 * holds `manifest.json` and one file per chunk (`chunk-<i>`). A snapshot is
 * written into a hidden directory and renamed into place when complete, so a
 * listed snapshot is always whole; only the newest `keep` are kept. Also the
 * staging area of a node that syncs by snapshot (`<dataDir>/statesync/`):
 * checked chunks wait there until the state is installed.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeManifest, encodeManifest, summarize, type SnapshotManifest, type SnapshotSummary } from '../state/snapshot.js';
import type { ChunkStaging } from './stateSync.js';

export const SNAPSHOTS_DIR = 'snapshots';
const MANIFEST = 'manifest.json';
const chunkFile = (i: number): string => `chunk-${i}`;

/** A snapshot being written: chunks one by one, then the manifest, then the rename. */
export interface SnapshotWriter {
  chunk(index: number, data: Buffer): Promise<void>;
  finish(manifest: SnapshotManifest): Promise<void>;
  abort(): Promise<void>;
}

export class SnapshotFiles {
  readonly dir: string;
  /** Summaries and manifest JSON of the snapshots on disk, newest first. */
  private held: { summary: SnapshotSummary; json: string }[] = [];

  constructor(
    dataDir: string,
    private readonly keep: number,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.dir = path.join(dataDir, SNAPSHOTS_DIR);
  }

  /** Reads the snapshots on disk; a damaged one is removed (it can be taken again). */
  open(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const held: { summary: SnapshotSummary; json: string }[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const full = path.join(this.dir, name);
      if (name.startsWith('.')) {
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      try {
        const json = fs.readFileSync(path.join(full, MANIFEST), 'utf8');
        const m = decodeManifest(JSON.parse(json));
        if (String(m.height) !== name) throw new Error(`holds the manifest of height ${m.height}`);
        held.push({ summary: summarize(m), json });
      } catch (e) {
        this.warn(`${full}: removed a snapshot that cannot be read: ${(e as Error).message}`);
        fs.rmSync(full, { recursive: true, force: true });
      }
    }
    this.held = held.sort((a, b) => b.summary.height - a.summary.height);
    this.trim();
  }

  list(): SnapshotSummary[] {
    return this.held.map((h) => h.summary);
  }

  has(height: number): boolean {
    return this.held.some((h) => h.summary.height === height);
  }

  manifestJson(height: number): string | undefined {
    return this.held.find((h) => h.summary.height === height)?.json;
  }

  /** A chunk's bytes, or undefined when this node holds no such snapshot or chunk. */
  async chunk(height: number, index: number): Promise<Buffer | undefined> {
    const h = this.held.find((x) => x.summary.height === height);
    if (h === undefined || index >= h.summary.chunks) return undefined;
    try {
      return await fs.promises.readFile(path.join(this.dir, String(height), chunkFile(index)));
    } catch {
      return undefined;
    }
  }

  begin(height: number): SnapshotWriter {
    const tmp = path.join(this.dir, `.tmp-${height}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    return {
      chunk: (index, data) => fs.promises.writeFile(path.join(tmp, chunkFile(index)), data),
      finish: async (manifest) => {
        const json = JSON.stringify(encodeManifest(manifest));
        await fs.promises.writeFile(path.join(tmp, MANIFEST), json);
        const final = path.join(this.dir, String(height));
        await fs.promises.rm(final, { recursive: true, force: true });
        await fs.promises.rename(tmp, final);
        this.held = [{ summary: summarize(manifest), json }, ...this.held.filter((h) => h.summary.height !== height)].sort((a, b) => b.summary.height - a.summary.height);
        this.trim();
      },
      abort: () => fs.promises.rm(tmp, { recursive: true, force: true }),
    };
  }

  private trim(): void {
    for (const old of this.held.slice(this.keep)) fs.rmSync(path.join(this.dir, String(old.summary.height)), { recursive: true, force: true });
    this.held = this.held.slice(0, this.keep);
  }
}

/** Checked chunks of a snapshot being synced, kept on disk until the state is installed. */
export class DiskChunkStaging implements ChunkStaging {
  private readonly dir: string;
  private count = 0;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'statesync');
  }

  reset(chunks: number): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    this.count = chunks;
  }

  async put(index: number, data: Buffer): Promise<void> {
    await fs.promises.writeFile(path.join(this.dir, chunkFile(index)), data);
  }

  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.count; i++) {
      const text = fs.readFileSync(path.join(this.dir, chunkFile(i)), 'utf8');
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) {
        yield JSON.parse(text.slice(start, end)) as [string, string];
      }
    }
  }

  clear(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
