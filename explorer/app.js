/**
 * The explorer's shell: the header (chain id, height, search), hash routing
 * (#/block/12, #/tx/ID, #/account/ADDR, #/validators, #/validator/ID,
 * #/product), and one poll of `GET /status` every ~1.5 s that keeps the header
 * current and refreshes the page shown when a new block is finalized. A node
 * that stops answering is shown in a banner, polled less often, and picked up
 * again when it comes back.
 * @module
 */
import { get } from './api.js';
import { el, errorBox, replace } from './dom.js';
import { renderBlock, renderHome, renderTx } from './pages-chain.js';
import { renderProduct } from './pages-product.js';
import { renderAccount, renderValidator, renderValidators } from './pages-staking.js';

const POLL_MS = 1500;
const MAX_POLL_MS = 10_000;

const ctx = { status: undefined };
const main = document.getElementById('main');
const banner = document.getElementById('banner');
let token = 0;
let page;

const ROUTES = [
  [/^#?\/?$/, (view) => renderHome(view, ctx), ''],
  [/^#\/block\/(\d{1,15})$/, (view, m) => renderBlock(view, ctx, Number(m[1])), ''],
  [/^#\/tx\/([0-9a-f]{64})$/, (view, m) => renderTx(view, ctx, m[1]), ''],
  [/^#\/account\/([0-9a-f]{40})$/, (view, m) => renderAccount(view, ctx, m[1]), ''],
  [/^#\/validators$/, (view) => renderValidators(view, ctx), 'validators'],
  [/^#\/validator\/([0-9a-f]{40})$/, (view, m) => renderValidator(view, ctx, m[1]), 'validators'],
  [/^#\/product$/, (view) => renderProduct(view, ctx), 'product'],
];

/** Hex in a route written with 0x or in uppercase: the canonical form. */
function normalizedHash(h) {
  return h.replace(/^(#\/(?:tx|account|validator)\/)(?:0[xX])?([0-9a-fA-F]+)$/, (_all, head, hex) => head + hex.toLowerCase());
}

async function route() {
  const canonical = normalizedHash(location.hash);
  if (canonical !== location.hash) {
    location.replace(canonical);
    return;
  }
  const my = ++token;
  page = undefined;
  document.getElementById('search-msg').hidden = true;
  // Each page renders into a view of its own: a late answer for a page left meanwhile lands in a detached node.
  const view = el('div', { className: 'view', text: 'loading…' });
  replace(main, view);
  const found = ROUTES.map(([re, render, nav]) => [re.exec(location.hash), render, nav]).find(([m]) => m !== null);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', found !== undefined && a.dataset.nav === found[2]);
  if (found === undefined) {
    replace(view, errorBox(`No page ${location.hash}: try a block height, a tx id or an address in the search box.`));
    return;
  }
  try {
    const p = await found[1](view, found[0]);
    if (my === token) page = p;
  } catch (e) {
    if (my === token) replace(view, errorBox(messageOf(e)));
  }
}

function messageOf(e) {
  if (e?.code === 'NOT_FOUND') return `Not found: ${e.message}`;
  if (e?.code === 'UNREACHABLE') return `The node does not answer: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

// ------------------------------------------------------------------ header and live updates

function showStatus(s) {
  document.getElementById('chain-id').textContent = s.chainId;
  document.getElementById('height').textContent = `#${s.latestHeight}`;
  const live = document.getElementById('live');
  live.textContent = s.producing ? 'live' : s.paused ? 'paused' : 'not producing';
  live.className = `badge ${s.producing ? 'good' : 'warn'}`;
  document.title = `fastpos explorer · ${s.chainId} #${s.latestHeight}`;
}

function showBanner(message) {
  banner.hidden = message === undefined;
  banner.textContent = message ?? '';
}

let delay = POLL_MS;
let lastHeight = -1;
let offline = false;

async function poll() {
  let s;
  try {
    s = await get('/status');
  } catch (e) {
    offline = true;
    delay = Math.min(delay * 2, MAX_POLL_MS);
    showBanner(`${messageOf(e)} — retrying in ${Math.round(delay / 1000)} s`);
    const live = document.getElementById('live');
    live.textContent = 'offline';
    live.className = 'badge bad';
  }
  if (s !== undefined) {
    ctx.status = s;
    showStatus(s);
    showBanner(undefined);
    delay = POLL_MS;
    const wasOffline = offline;
    offline = false;
    if (wasOffline && page === undefined) {
      // Back after an outage, which may have failed the page: render it again.
      lastHeight = s.latestHeight;
      await route();
    } else if (s.latestHeight !== lastHeight) {
      lastHeight = s.latestHeight;
      await refreshPage();
    }
  }
  setTimeout(poll, document.hidden ? Math.max(delay, 5000) : delay);
}

/** Refreshes the page shown (a new block); a failure leaves the page as it was, to be refreshed at the next block. */
async function refreshPage() {
  const my = token;
  if (page?.refresh === undefined) return;
  try {
    const next = await page.refresh();
    if (my === token) page = next;
  } catch (e) {
    if (e?.code === 'UNREACHABLE') showBanner(`${messageOf(e)} — retrying`);
  }
}

// ------------------------------------------------------------------ search

/** Where a search goes: a height, a tx id (64 hex) or an address (40 hex); 0x and uppercase accepted. */
function searchTarget(q) {
  const s = q.trim();
  if (/^#?\d{1,15}$/.test(s)) return `#/block/${Number(s.replace('#', ''))}`;
  const hex = s.replace(/^0x/i, '').toLowerCase();
  if (/^[0-9a-f]{64}$/.test(hex)) return `#/tx/${hex}`;
  if (/^[0-9a-f]{40}$/.test(hex)) return `#/account/${hex}`;
  return undefined;
}

document.getElementById('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = document.getElementById('q');
  const target = searchTarget(input.value);
  const msg = document.getElementById('search-msg');
  if (target === undefined) {
    msg.textContent = 'Enter a block height, a tx id (64 hex) or an address (40 hex; 0x and uppercase are fine).';
    msg.hidden = false;
    return;
  }
  msg.hidden = true;
  input.value = '';
  if (location.hash === target) void route();
  else location.hash = target;
});

window.addEventListener('hashchange', () => void route());

// The first status first, so that pages know the chain id and height.
(async () => {
  try {
    ctx.status = await get('/status');
    showStatus(ctx.status);
    lastHeight = ctx.status.latestHeight;
  } catch (e) {
    offline = true;
    showBanner(messageOf(e));
  }
  await route();
  setTimeout(poll, POLL_MS);
})();
