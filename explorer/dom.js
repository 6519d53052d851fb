/**
 * Small DOM helpers. Every value from the chain is written with textContent
 * or as an attribute value through the DOM API, never parsed as HTML: a tx's
 * reference or proofRef is attacker-chosen text and stays text.
 * @module
 */

/**
 * An element: `props` sets className, text, href, title, id, dataset, other
 * attributes (`attrs`) and event handlers (`on`); children are nodes or text.
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  if (props.className !== undefined) e.className = props.className;
  if (props.text !== undefined) e.textContent = String(props.text);
  if (props.href !== undefined) e.setAttribute('href', props.href);
  if (props.title !== undefined) e.title = String(props.title);
  if (props.id !== undefined) e.id = props.id;
  for (const [k, v] of Object.entries(props.dataset ?? {})) e.dataset[k] = String(v);
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, String(v));
  for (const [k, v] of Object.entries(props.on ?? {})) e.addEventListener(k, v);
  append(e, children);
  return e;
}

function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/** `abcdef12…9f8e` for a long hex string. */
export function short(hex, keep = 8) {
  const s = String(hex);
  return s.length <= 2 * keep + 1 ? s : `${s.slice(0, keep)}…${s.slice(-4)}`;
}

/**
 * A hash or address in monospace, shortened, in full on hover, a link when
 * `href` is given; the small button next to it copies the full value.
 */
export function hash(value, href, keep = 8) {
  const full = String(value);
  const text = el(href === undefined ? 'span' : 'a', { className: 'mono', text: short(full, keep), title: full, ...(href === undefined ? {} : { href }) });
  const copy = el('button', {
    className: 'copy',
    title: 'copy',
    attrs: { type: 'button', 'aria-label': `copy ${full}` },
    on: {
      click: (ev) => {
        ev.preventDefault();
        if (navigator.clipboard === undefined) return;
        navigator.clipboard.writeText(full).then(() => {
          copy.classList.add('copied');
          setTimeout(() => copy.classList.remove('copied'), 1000);
        }, () => undefined);
      },
    },
  });
  return el('span', { className: 'hash' }, text, copy);
}

/** A table: `columns` [{label, cell(row) -> node or text, className?}], one row per item. */
export function table(columns, rows, opts = {}) {
  const head = el('thead', {}, el('tr', {}, columns.map((c) => el('th', { text: c.label, className: c.className ?? '' }))));
  const body = el('tbody', {}, rows.map((r) => el('tr', { dataset: opts.rowData?.(r) ?? {} }, columns.map((c) => el('td', { className: c.className ?? '' }, c.cell(r))))));
  const t = el('table', { attrs: opts.testid === undefined ? {} : { 'data-testid': opts.testid } }, head, body);
  if (rows.length === 0) return el('div', { className: 'table-wrap' }, t, el('p', { className: 'empty', text: opts.empty ?? 'nothing yet' }));
  return el('div', { className: 'table-wrap' }, t);
}

/** Label/value pairs: [[label, node or text], …] (a pair with undefined value is left out). */
export function kv(pairs, testid) {
  const dl = el('dl', { className: 'kv', attrs: testid === undefined ? {} : { 'data-testid': testid } });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(el('dt', { text: k }), el('dd', {}, v));
  }
  return dl;
}

export function card(title, ...children) {
  return el('section', { className: 'card' }, title === undefined ? null : el('h2', { text: title }), ...children);
}

export function badge(text, kind) {
  return el('span', { className: `badge ${kind}`, text });
}

/** An amount string with thousands separators (exact: digits only, no float). */
export function amount(s) {
  const t = String(s);
  return /^\d+$/.test(t) ? t.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : t;
}

/** A Unix-ms time as local date and time. */
export function time(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleString(undefined, { hour12: false });
}

/** "12 s ago" for a Unix-ms time. */
export function ago(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A failure shown in place of a page's content. */
export function errorBox(message) {
  return el('div', { className: 'error-box', attrs: { role: 'alert', 'data-testid': 'page-error' }, text: message });
}
