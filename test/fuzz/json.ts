/**
 * JSON values for fuzzing: hostile values (deep nesting, huge and odd numbers,
 * unicode, prototype-ish keys), a mutator that damages a valid value at a
 * random path, and text mutations for decoders that read files.
 *
 * Values are built the way `JSON.parse` builds them: plain objects whose keys
 * are all own properties (a `__proto__` key is an own key, never a prototype).
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A fuzz input and whether it was damaged (an undamaged input must decode). */
export interface Case<T = Json> {
  readonly value: T;
  readonly mutated: boolean;
}

/** Sets an own property, also for keys such as `__proto__` (as `JSON.parse` does). */
export function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * JSON text of a value, without recursion (so that deep values can be written
 * as files). Keys in insertion order; not canonical.
 */
export function jsonText(value: unknown): string {
  const out: string[] = [];
  // Work items: a value to write, or a literal piece of text.
  const stack: ({ v: unknown } | { t: string })[] = [{ v: value }];
  let guard = 0;
  while (stack.length > 0) {
    if (++guard > 50_000_000) throw new Error('jsonText: value too large');
    const item = stack.pop()!;
    if ('t' in item) {
      out.push(item.t);
      continue;
    }
    const v = item.v;
    if (v === null || typeof v !== 'object') {
      out.push(typeof v === 'number' && !Number.isFinite(v) ? 'null' : (JSON.stringify(v) ?? 'null'));
      continue;
    }
    if (Array.isArray(v)) {
      stack.push({ t: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i] });
        if (i > 0) stack.push({ t: ',' });
      }
      out.push('[');
      continue;
    }
    const keys = Object.keys(v);
    stack.push({ t: '}' });
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      stack.push({ v: (v as Record<string, unknown>)[k] });
      stack.push({ t: JSON.stringify(k) + ':' });
      if (i > 0) stack.push({ t: ',' });
    }
    out.push('{');
  }
  return out.join('');
}

/** A fresh copy of a JSON value, however deep (JSON.parse does not recurse). */
export function clone<T>(v: T): T {
  return JSON.parse(jsonText(v)) as T;
}

/** A value nested `depth` times in arrays, objects or both, built without recursion. */
export function nest(depth: number, kind: 'array' | 'object' | 'mixed', leaf: Json = 0, key = 'k'): Json {
  let v: Json = leaf;
  for (let i = 0; i < depth; i++) {
    // A computed key makes an own property, also for `__proto__`.
    v = kind === 'array' || (kind === 'mixed' && i % 2 === 1) ? [v] : { [key]: v };
  }
  return v;
}

// ---------------------------------------------------------------- hostile values

export const hexChars = (n: number, chars = '0123456789abcdef'): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...chars), minLength: n, maxLength: n });

export const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-0, -1, 0.5, 1.0000001, 1e21, 1e300, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_SAFE_INTEGER, 4294967296, 1_000_001, 1e12 + 1, 10_001, 65_536),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

export const weirdString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\udfff', 'a\ud83d', '😀', 'é', 'e\u0301', '\u202e', '\ufeff', '\u2028', '0', '-1', '01', '1e3', '0x10', 'NaN', 'Infinity', 'true', 'null', '__proto__', 'fastpos-devnet', 'proposal', 'prevote', 'transfer'),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom(39, 40, 41, 63, 64, 65, 127, 128, 129).chain((n) => fc.oneof(hexChars(n), hexChars(n, '0123456789ABCDEF'), hexChars(n, '0123456789'))),
  fc.integer({ min: 1, max: 5000 }).map((n) => 'a'.repeat(n)),
);

export const weirdKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON', 'length', '', ' ', '0', 'extra', 'memo', 'type', 'payload', 'block', 'evidence', 'signature'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Nesting far beyond any real message (thousands of levels, rarely up to 100,000), sometimes shallow. */
export const deepValue: fc.Arbitrary<Json> = fc
  .tuple(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) }, { weight: 5, arbitrary: fc.integer({ min: 1_000, max: 15_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 15_000, max: 100_000 }) }), fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>, weirdKey)
  .map(([depth, kind, key]) => nest(depth, kind, 0, key));

export const smallJson: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) as fc.Arbitrary<Json>,
);

/** Any JSON value, biased to the hostile ones. */
export const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: smallJson },
  { weight: 2, arbitrary: weirdNumber },
  { weight: 2, arbitrary: weirdString },
  { weight: 1, arbitrary: deepValue },
  // Fresh copies: mutations change values in place, and a constant would carry them into later runs.
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}, [[]], [{}], { '': null }).map((v) => clone(v)) },
);

// ---------------------------------------------------------------- mutations

/** One damage at one place: `path` picks a node (each step a child, or stop), `op` what to do there. */
export interface Mutation {
  readonly path: readonly number[];
  readonly op: number;
  readonly n: number;
  readonly value: Json;
  readonly key: string;
}

const OPS = 12;

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat({ max: 1000 }), { maxLength: 14 }),
  op: fc.nat({ max: OPS - 1 }),
  n: fc.nat({ max: 1_000_000 }),
  value: anyJson,
  key: weirdKey,
});

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Look-alikes of a key: spaces, case, zero-width and homoglyph characters, decomposed accents. */
function nearKey(k: string, n: number): string {
  switch (n % 7) {
    case 0:
      return k + ' ';
    case 1:
      return k.toUpperCase() === k ? k.toLowerCase() : k.toUpperCase();
    case 2:
      return k + '\u200b';
    case 3:
      return k.replace(/a/, '\u0430').replace(/o/, '\u043e').replace(/e/, '\u0435');
    case 4:
      return ' ' + k;
    case 5:
      return k.normalize('NFD') + '\u0301';
    default:
      return k.slice(0, -1);
  }
}

function tweakString(s: string, n: number): string {
  const i = s.length === 0 ? 0 : n % s.length;
  switch (n % 11) {
    case 0:
      return s.toUpperCase();
    case 1:
      return s.slice(0, -1);
    case 2:
      return s + '0';
    case 3:
      return '0' + s;
    case 4:
      return s.slice(0, i) + 'g' + s.slice(i + 1);
    case 5:
      return s + '\ud800';
    case 6:
      return '-' + s;
    case 7:
      return s.repeat(2);
    case 8:
      return '0x' + s;
    case 9:
      return s + '9'.repeat(40);
    default:
      return s.slice(0, i) + String.fromCharCode((s.charCodeAt(i) || 48) ^ 1) + s.slice(i + 1);
  }
}

function tweakNumber(x: number, n: number): Json {
  switch (n % 10) {
    case 0:
      return x + 1;
    case 1:
      return x - 1;
    case 2:
      return -x;
    case 3:
      return x + 0.5;
    case 4:
      return String(x);
    case 5:
      return 2 ** 53 + x;
    case 6:
      return x * 1e6;
    case 7:
      return 1e21;
    case 8:
      return -0;
    default:
      return Number.MAX_SAFE_INTEGER;
  }
}

/** The same value as another type: string ↔ number, object ↔ array, wrapped or unwrapped. */
function flipType(v: Json, n: number): Json {
  if (typeof v === 'string') return n % 2 === 0 && v !== '' && Number.isFinite(Number(v)) ? Number(v) : [v];
  if (typeof v === 'number') return n % 2 === 0 ? String(v) : BigInt.asUintN(64, BigInt(Math.trunc(Number.isFinite(v) ? v : 0))).toString();
  if (typeof v === 'boolean') return n % 2 === 0 ? (v ? 1 : 0) : String(v);
  if (v === null) return n % 3 === 0 ? 0 : n % 3 === 1 ? '' : {};
  if (Array.isArray(v)) return n % 2 === 0 ? Object.fromEntries(v.map((x, i) => [String(i), x])) : (v[0] ?? null);
  return n % 2 === 0 ? Object.values(v) : [v];
}

function tweak(v: Json, n: number, value: Json): Json {
  if (typeof v === 'string') return tweakString(v, n);
  if (typeof v === 'number') return tweakNumber(v, n);
  if (typeof v === 'boolean') return !v;
  if (v === null) return value;
  return flipType(v, n);
}

/**
 * Applies `m` to `root` in place where it can; returns the new root (the root
 * itself may be replaced).
 */
export function applyMutation(root: Json, m: Mutation): Json {
  let parent: Json[] | Record<string, Json> | undefined;
  let slot: string | number | undefined;
  let node: Json = root;
  for (const step of m.path) {
    if (Array.isArray(node)) {
      if (node.length === 0 || step % (node.length + 1) === node.length) break;
      parent = node;
      slot = step % (node.length + 1);
      node = node[slot]!;
    } else if (isObj(node)) {
      const keys = Object.keys(node);
      if (keys.length === 0 || step % (keys.length + 1) === keys.length) break;
      parent = node;
      slot = keys[step % (keys.length + 1)]!;
      node = node[slot]!;
    } else break;
  }
  const replace = (v: Json): Json => {
    if (parent === undefined || slot === undefined) return v;
    if (Array.isArray(parent)) parent[slot as number] = v;
    else setKey(parent, slot as string, v);
    return root;
  };
  switch (m.op) {
    case 0:
      return replace(m.value);
    case 1: {
      // delete this node from its parent
      if (parent === undefined || slot === undefined) return m.value;
      if (Array.isArray(parent)) parent.splice(slot as number, 1);
      else delete parent[slot as string];
      return root;
    }
    case 2: {
      // an unknown key (or an extra element)
      if (isObj(node)) setKey(node, m.key, m.value);
      else if (Array.isArray(node)) node.push(m.value);
      else return replace(m.value);
      return root;
    }
    case 3: {
      // a look-alike of an existing key, holding a copy of that key's value or a new value
      if (!isObj(node)) return replace(tweak(node, m.n, m.value));
      const keys = Object.keys(node);
      const k = keys[m.n % Math.max(1, keys.length)];
      if (k === undefined) setKey(node, m.key, m.value);
      else setKey(node, nearKey(k, m.n), m.n % 2 === 0 ? clone(node[k]!) : m.value);
      return root;
    }
    case 4:
    case 5:
      return replace(tweak(node, m.n, m.value));
    case 6: {
      // buried deep: the node wrapped in many levels
      const depth = m.n % 3 === 0 ? 1 + (m.n % 200) : m.n % 10 === 1 ? 15_000 + (m.n % 85_000) : 1_000 + (m.n % 14_000);
      let v: Json = node;
      for (let i = 0; i < depth; i++) v = m.n % 2 === 0 ? [v] : { [m.key]: v };
      return replace(v);
    }
    case 7:
      return replace(flipType(node, m.n));
    case 8: {
      // a sibling's value here
      if (parent === undefined) return root;
      const sibs = Array.isArray(parent) ? parent : Object.values(parent);
      const s = sibs[m.n % sibs.length];
      return s === undefined ? root : replace(clone(s));
    }
    case 9: {
      // arrays: duplicate an element, empty it, or grow it
      if (!Array.isArray(node)) return replace(tweak(node, m.n, m.value));
      if (m.n % 3 === 0 && node.length > 0) node.push(clone(node[m.n % node.length]!));
      else if (m.n % 3 === 1) node.length = 0;
      else {
        // one new member and many small ones (never many references to one large value)
        node.push(m.value);
        for (let i = 0; i < m.n % 50; i++) node.push(i % 2 === 0 ? i : String(i));
      }
      return root;
    }
    case 10: {
      // the key `__proto__` as an own property (JSON.parse makes one)
      if (isObj(node)) setKey(node, '__proto__', m.n % 2 === 0 ? m.value : clone(node));
      else return replace(m.value);
      return root;
    }
    default:
      // a prototype method name as a key (JSON.parse makes it an own property)
      if (isObj(node)) setKey(node, ['toString', 'valueOf', 'constructor', 'hasOwnProperty', 'toJSON'][m.n % 5]!, m.value);
      else return replace(m.value);
      return root;
  }
}

/** Mostly damaged copies of valid values (a quarter untouched), and some fully random values. */
export function mutated<T extends Json>(valid: fc.Arbitrary<T>, random: fc.Arbitrary<Json> = anyJson): fc.Arbitrary<Case<Json>> {
  const damaged = fc
    .tuple(valid, fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }) }))
    .map(([v, ms]): Case<Json> => {
      let out: Json = clone(v);
      for (const m of ms) out = applyMutation(out, m);
      return { value: out, mutated: ms.length > 0 };
    });
  return fc.oneof({ weight: 9, arbitrary: damaged }, { weight: 1, arbitrary: random.map((value): Case<Json> => ({ value, mutated: true })) });
}

// ---------------------------------------------------------------- text

/** One change to a text: truncation, a flipped or inserted character, a BOM, a duplicated slice. */
export interface TextMutation {
  readonly op: number;
  readonly at: number;
  readonly len: number;
  readonly text: string;
}

export const textMutation: fc.Arbitrary<TextMutation> = fc.record({
  op: fc.nat({ max: 7 }),
  at: fc.nat({ max: 1_000_000 }),
  len: fc.nat({ max: 64 }),
  text: fc.oneof(weirdString, fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', 'null', '\n', '\r\n', '\t', '#', '&a', '*a', '!!binary', '- ', ': ')),
});

export function applyTextMutation(s: string, m: TextMutation): string {
  const at = s.length === 0 ? 0 : m.at % (s.length + 1);
  switch (m.op) {
    case 0:
      return s.slice(0, at);
    case 1:
      return s.slice(0, at) + m.text + s.slice(at);
    case 2:
      return s.slice(0, at) + s.slice(at + m.len);
    case 3:
      return s.slice(0, at) + String.fromCharCode(((s.charCodeAt(at) || 32) + 1 + (m.len % 7)) & 0xffff) + s.slice(at + 1);
    case 4:
      return '\ufeff' + s;
    case 5:
      return s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
    case 6:
      return s + m.text;
    default:
      return m.text;
  }
}

/** Raw file contents: mostly damaged copies of valid texts, some random text and bytes. */
export function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<Case<string>> {
  const damaged = fc
    .tuple(valid, fc.oneof({ weight: 1, arbitrary: fc.constant<TextMutation[]>([]) }, { weight: 3, arbitrary: fc.array(textMutation, { minLength: 1, maxLength: 3 }) }))
    .map(([s, ms]): Case<string> => ({ value: ms.reduce(applyTextMutation, s), mutated: ms.length > 0 }));
  const random = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
    anyJson.map((v) => jsonText(v)),
  );
  return fc.oneof({ weight: 8, arbitrary: damaged }, { weight: 1, arbitrary: random.map((value): Case<string> => ({ value, mutated: true })) });
}
