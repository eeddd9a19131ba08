/**
 * Who may talk to the hub. Captured traffic holds secrets, so the hub listens on loopback unless
 * told otherwise, and anywhere else only with a bearer token (RFC 6750 §2.1: `Authorization:
 * Bearer <token>`). Browsers cannot set headers on a WebSocket, so the live stream also takes the
 * token as `?access_token=` (RFC 6750 §2.3), and only there.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { body, HUB_ERRORS } from './errors.js';

/** Routes a prober or Prometheus may reach without the token: they say nothing about traffic. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);
/** Routes that also accept the token in the query string (WebSockets from a browser). */
const QUERY_TOKEN_PATHS = new Set(['/api/stream']);

/** A configuration the hub refuses to start with; the CLI prints the message. */
export class HubConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubConfigError';
  }
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) return host === '::1' || host.toLowerCase() === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Checks the listen address against the token: any address that is not loopback needs one, and a
 * token must be long enough not to be guessed (16 characters or more).
 */
export function checkExposure(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16)
    throw new HubConfigError(
      'the token is too short: use at least 16 characters (e.g. `openssl rand -hex 24`)',
    );
  if (!isLoopback(host) && token === undefined)
    throw new HubConfigError(
      `listening on ${host} exposes captured traffic beyond this machine: set a token (--token-file FILE or PODWIRE_TOKEN), or listen on 127.0.0.1`,
    );
}

/** Compares digests, so neither the content nor the length of the token leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The token a request presents, if any. */
function presented(req: FastifyRequest, path: string): string | null {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? (m[1] ?? null) : null;
  }
  if (QUERY_TOKEN_PATHS.has(path)) {
    const q = req.query as Record<string, unknown> | undefined;
    const t = q?.access_token;
    if (typeof t === 'string') return t;
  }
  return null;
}

/** Requires the token on every route but the probes. Without a token, does nothing. */
export function requireToken(app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return;
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '';
    if (OPEN_PATHS.has(path)) return;
    const t = presented(req, path);
    if (t !== null && sameSecret(t, token)) return;
    const message =
      t === null
        ? 'this hub needs a bearer token: send `Authorization: Bearer <token>`'
        : 'the bearer token is not this hub’s';
    reply
      .code(HUB_ERRORS['hub.unauthorized'].status)
      .header('www-authenticate', 'Bearer realm="podwire"')
      .send(body('hub.unauthorized', message));
    return reply;
  });
}
