/**
 * The one shape of every list answer (`GET /tx/pending`, `/tx/finalized`,
 * `/blocks`, `/validators`): a JSON array of items by default, and with
 * `withMeta=true` the envelope `{items, total, offset, limit, count, hasMore}`
 * (docs/api.md, "Pagination"). The tx lists also keep `meta: {total, offset,
 * limit}`, the envelope they had before the others had one.
 * @module
 */

/** Where a page sits in its list: every item matching the filters (`total`), the page's start and its size bound. */
export interface PageInfo {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

/** The envelope's fields other than `items`, for a page of `count` items. */
export function envelopeFields(page: PageInfo, count: number): { total: number; offset: number; limit: number; count: number; hasMore: boolean } {
  return { total: page.total, offset: page.offset, limit: page.limit, count, hasMore: page.offset + count < page.total };
}

/**
 * A list answer: the items alone, or with `withMeta` the envelope (plus the
 * earlier `meta` object when `legacyMeta`).
 */
export function listAnswer<T>(items: readonly T[], page: PageInfo, opts: { readonly withMeta: boolean; readonly legacyMeta?: boolean }): readonly T[] | Record<string, unknown> {
  if (!opts.withMeta) return items;
  const env: Record<string, unknown> = { items, ...envelopeFields(page, items.length) };
  if (opts.legacyMeta === true) env.meta = { total: page.total, offset: page.offset, limit: page.limit };
  return env;
}

/**
 * The properties of `o` that are not undefined: query values as the node's
 * query types take them (optional fields that are absent, never undefined).
 */
export function present<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
