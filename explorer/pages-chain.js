/**
 * The chain's pages: the home page (latest blocks and txs, live), a block
 * with its certificate and signers, a tx with its status and the proof that
 * its block is certified (checked in the browser by verify.js).
 * @module
 */
import { get, items, verifyAt } from './api.js';
import { amount, ago, badge, card, el, errorBox, hash, kv, replace, table, time } from './dom.js';
import { percent, summarize } from './verify.js';

/** A short account or validator cell. */
export const accountLink = (a) => hash(a, `#/account/${a}`);
export const validatorLink = (v) => hash(v, `#/validator/${v}`);
export const blockLink = (h) => el('a', { href: `#/block/${h}`, text: `#${h}` });

/** What a tx does, in a few words (the payload's fields as text). */
export function txSummary(tx) {
  const p = tx?.payload ?? {};
  switch (tx?.kind) {
    case 'transfer':
      return el('span', {}, `${amount(p.amount)} → `, accountLink(p.to));
    case 'validator_bond':
      return `bond ${amount(p.amount)}`;
    case 'product_settle':
      return el('span', {}, `settle ${amount(p.amount)} ref `, el('code', { text: p.reference }));
    case 'product_attest':
      return el('span', {}, `score ${p.score} ref `, el('code', { text: p.proofRef }));
    default:
      return p.amount !== undefined ? `${amount(p.amount)}` : '';
  }
}

function statusBadge(item) {
  if (item.status === 'finalized') return item.success === false ? badge(`failed: ${item.error}`, 'bad') : badge('finalized', 'good');
  if (item.status === 'pending') return badge('pending', 'warn');
  return badge(`${item.status}${item.error === undefined ? '' : `: ${item.error}`}`, 'bad');
}

// ------------------------------------------------------------------ home

export function renderHome(root, ctx) {
  const blocksBox = el('div', { attrs: { 'data-testid': 'latest-blocks-box' } });
  const txsBox = el('div', { attrs: { 'data-testid': 'latest-txs-box' } });
  const pendingBox = el('div');
  replace(root,
    el('div', { className: 'grid' },
      card('Latest blocks', blocksBox),
      card('Latest transactions', txsBox)),
    card('Pending transactions', pendingBox));

  const handle = { refresh: async () => {
    const h = ctx.status?.latestHeight ?? 0;
    const from = Math.max(1, h - 9);
    const [blocks, txs, pending] = await Promise.all([
      h === 0 ? [] : get(`/blocks?from=${from}&limit=10`),
      get('/tx/finalized?limit=10'),
      get('/tx/pending?limit=10&order=desc'),
    ]);
    replace(blocksBox, table([
      { label: 'height', cell: (b) => blockLink(b.header.height) },
      { label: 'time', cell: (b) => el('span', { title: time(b.header.timestamp), text: ago(b.header.timestamp) }) },
      { label: 'txs', cell: (b) => String(b.header.txCount), className: 'num' },
      { label: 'signers', cell: (b) => String(b.commit.signatures.length), className: 'num' },
      { label: 'proposer', cell: (b) => validatorLink(b.header.proposer) },
      { label: 'hash', cell: (b) => hash(b.hash) },
    ], items(blocks).slice().reverse(), { testid: 'latest-blocks', rowData: (b) => ({ height: b.header.height }), empty: 'no block yet' }));
    replace(txsBox, txTable(items(txs), 'latest-txs'));
    replace(pendingBox, txTable(items(pending), 'pending-txs', 'no pending tx'));
    return handle;
  } };
  return handle.refresh();
}

/** A list of txs as `GET /tx/finalized` or `/tx/pending` answer them. */
export function txTable(list, testid, empty = 'no tx yet') {
  return table([
    { label: 'tx', cell: (t) => hash(t.id, `#/tx/${t.id}`) },
    { label: 'kind', cell: (t) => t.tx.kind },
    { label: 'from', cell: (t) => accountLink(t.tx.from) },
    { label: 'what', cell: (t) => txSummary(t.tx) },
    { label: 'block', cell: (t) => (t.height === undefined ? '' : blockLink(t.height)) },
    { label: 'status', cell: statusBadge },
  ], list, { testid, rowData: (t) => ({ id: t.id }), empty });
}

// ------------------------------------------------------------------ verification

/** The result of verify.js: one line, the checks, and (for blocks) the signers. */
export function verifyCard(report, withSigners) {
  const line = summarize(report);
  const box = el('div', { className: `verify ${report.ok ? 'ok' : 'fail'}`, attrs: { 'data-testid': 'verify-result', 'data-ok': String(report.ok) } },
    el('strong', { text: report.ok ? '✔ ' : '✘ ' }), line);
  const checks = el('ul', { className: 'checks' }, report.checks.map((c) => el('li', { className: c.ok ? 'ok' : 'fail' }, el('b', { text: `${c.ok ? '✔' : '✘'} ${c.name}: ` }), c.detail)));
  const parts = [box, el('details', {}, el('summary', { text: 'what was checked' }), checks)];
  if (withSigners) {
    parts.push(el('h3', { text: 'Signers (precommits of the commit certificate)' }), table([
      { label: 'validator', cell: (s) => validatorLink(s.validatorId) },
      { label: 'power', cell: (s) => amount(s.power.toString()), className: 'num' },
      { label: 'share', cell: (s) => percent(s.power, report.totalPower), className: 'num' },
      { label: 'signature', cell: (s) => (s.ok ? badge('ok', 'good') : badge(s.reason, 'bad')) },
    ], report.signers, { testid: 'signers', rowData: (s) => ({ validator: s.validatorId, ok: s.ok }) }));
  }
  return card('Finality proof', ...parts);
}

// ------------------------------------------------------------------ block

export async function renderBlock(root, ctx, height) {
  const { block: b, report } = await verifyAt(height, ctx.status?.chainId);
  const h = b.header;
  const latest = ctx.status?.latestHeight ?? h.height;
  const nav = el('div', { className: 'pager' },
    h.height > 1 ? el('a', { href: `#/block/${h.height - 1}`, text: `← #${h.height - 1}` }) : null,
    h.height < latest ? el('a', { href: `#/block/${h.height + 1}`, text: `#${h.height + 1} →` }) : null);
  const txs = b.txs.map((tx, i) => ({ id: report.txIds[i] ?? '', tx, status: 'finalized', ...b.results[i], height: h.height }));
  replace(root,
    el('h1', { text: `Block #${h.height}` }), nav,
    card('Header', kv([
      ['hash', hash(b.hash, undefined, 32)],
      ['time', `${time(h.timestamp)} (${ago(h.timestamp)})`],
      ['proposer', validatorLink(h.proposer)],
      ['round', String(h.round)],
      ['txs', String(h.txCount)],
      ['previous block', h.height > 1 ? hash(h.prevHash, `#/block/${h.height - 1}`) : hash(h.prevHash)],
      ['state root', hash(h.stateRoot)],
      ['tx root', hash(h.txRoot)],
      ['validator set', hash(h.validatorSetHash)],
      ['evidence', `${Array.isArray(b.evidence) ? b.evidence.length : 0} item(s)`],
    ], 'block-header')),
    verifyCard(report, true),
    card(`Transactions (${b.txs.length})`, txTable(txs, 'block-txs', 'no tx in this block')));
}

// ------------------------------------------------------------------ tx

export async function renderTx(root, ctx, id) {
  const t = await get(`/tx?id=${id}`);
  const tx = t.tx ?? {};
  const payload = Object.entries(tx.payload ?? {}).map(([k, v]) => [k, typeof v === 'object' ? el('code', { text: JSON.stringify(v) }) : /^[0-9a-f]{40}$/.test(String(v)) ? (k === 'validatorId' ? validatorLink(v) : accountLink(v)) : k === 'amount' ? amount(v) : el('span', { className: 'value', text: String(v) })]);
  const parts = [
    el('h1', { text: 'Transaction' }),
    card(undefined, kv([
      ['id', hash(t.id, undefined, 32)],
      ['status', statusBadge(t)],
      ['block', t.height === undefined ? undefined : el('span', {}, blockLink(t.height), t.index === undefined ? '' : ` (tx ${t.index})`)],
      ['message', t.message],
      ['kind', tx.kind],
      ['from', tx.from === undefined ? undefined : accountLink(tx.from)],
      ['nonce', tx.nonce === undefined ? undefined : String(tx.nonce)],
      ['fee', tx.fee === undefined ? undefined : amount(tx.fee)],
      ...payload,
      ['signature', tx.signature === undefined ? undefined : hash(tx.signature)],
    ], 'tx-fields')),
  ];
  if (t.status === 'finalized') {
    const { report } = await verifyAt(t.height, ctx.status?.chainId, t.id);
    parts.push(verifyCard(report, false));
  } else if (t.status === 'pending') {
    parts.push(el('p', { className: 'note', text: 'Pending: this page updates when a block includes it.' }));
  }
  replace(root, ...parts);
  return t.status === 'pending' ? { refresh: () => renderTx(root, ctx, id) } : undefined;
}

export { errorBox };
