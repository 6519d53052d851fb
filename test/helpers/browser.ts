/**
 * Headless Chromium for end-to-end tests of the explorer, through
 * playwright-core with the system's browser (Debian's `chromium` package;
 * CHROMIUM_PATH overrides where it is). No browser is downloaded.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Where browser tests write screenshots: test-output/<name>/ at the repository's root (ignored by git). */
export function outputDir(name: string): string {
  const dir = fileURLToPath(new URL(`../../test-output/${name}/`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Launches the system's Chromium; fails with what to install when there is none. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium; CI's .ci/run does) or set CHROMIUM_PATH to a Chromium binary`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

export interface PageWatch {
  /** Console errors, uncaught page errors, failed requests, error answers and requests to other origins, as seen so far. */
  readonly problems: string[];
  /** Every URL the page asked for. */
  readonly requests: string[];
  /** Stops recording (before the node is stopped on purpose). */
  stop(): void;
}

/** Records what should never happen on a page served from `origin`. */
export function watchPage(page: Page, origin: string): PageWatch {
  const problems: string[] = [];
  const requests: string[] = [];
  let on = true;
  const note = (s: string): void => {
    if (on) problems.push(s);
  };
  page.on('console', (m) => {
    if (m.type() === 'error') note(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => note(`page error: ${e.message}`));
  page.on('requestfailed', (r) => note(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText ?? 'unknown'})`));
  page.on('request', (r) => {
    if (!on) return;
    requests.push(r.url());
    if (new URL(r.url()).origin !== origin && !r.url().startsWith('data:')) note(`request to another origin: ${r.url()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) note(`answer ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  return {
    problems,
    requests,
    stop: () => {
      on = false;
    },
  };
}
