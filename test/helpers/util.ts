/** Small helpers shared by tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { FastposError } from '../../src/errors.js';

/** The FastposError code `f` throws, or 'OK' when it returns; anything else is rethrown. */
export function errorCodeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof FastposError) return e.code;
    throw e;
  }
  return 'OK';
}

/** A maker of temporary folders that are removed after the test file. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
