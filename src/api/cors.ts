/**
 * Optional CORS (`corsOrigins`): off by default, when the node sends no CORS
 * headers at all and browsers let only pages of the node's own origin (such
 * as /explorer) read its answers. When set, pages of exactly those origins
 * (or of any origin with `*`) may read the API.
 *
 * What a cross-origin page may not do, by design: send credentials (no
 * `access-control-allow-credentials`, so the browser attaches no cookies or
 * client certificates and reads nothing that needed them) or send an
 * `Authorization` header (it is not an allowed request header, so the
 * preflight of any request carrying the admin token fails). Admin
 * operations therefore stay out of reach of every web page, whatever
 * `corsOrigins` says; tools that are not browsers are unaffected by CORS.
 * @module
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** Headers a page may read besides the CORS-safelisted ones: the rate-limit state. */
const EXPOSED = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after'];
/** How long a browser may keep a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE_S = 600;

/** The origins of a `corsOrigins` value (checked when the config is loaded): entries separated by commas. */
export function parseCorsOrigins(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text.split(',').map((e) => e.trim()).filter((e) => e !== '');
}

/**
 * Registers CORS for `origins` (nothing when the list is empty). Call it
 * before the rate limiter, so that refused requests carry the headers too
 * and a page can read why it was refused.
 */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type'],
    exposedHeaders: EXPOSED,
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_S,
    strictPreflight: true,
  });
}
