/**
 * Reading k8spacket-style requests (shared by the node graph and TLS routes): query parameters as
 * Go's `r.URL.Query()[name][0]` reads them (the first of repeated ones), the `from`/`to` window
 * as the hub's API reads it (src/hub/api/time.ts: epoch milliseconds, as Grafana's `${__from}`
 * sends, or RFC 3339), and errors answered in the hub's catalogue form (src/hub/errors.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseWindow } from '../api/time.js';
import { body, errorReply, HUB_ERRORS, type HubErrorCode } from '../errors.js';
import { WHOLE_TIME } from './source.js';

/** The first value of a query parameter, undefined when absent. */
export function param(req: FastifyRequest, name: string): string | undefined {
  const q = req.query as Record<string, unknown> | undefined;
  const v = q?.[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** The request's window in µs (whole time where an end is not given); throws the hub's time errors. */
export function requestWindow(req: FastifyRequest): { fromUs: number; toUs: number } {
  const from = param(req, 'from');
  const to = param(req, 'to');
  const w = parseWindow({
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  });
  return { fromUs: w.from ?? WHOLE_TIME.fromUs, toUs: w.to ?? WHOLE_TIME.toUs };
}

/** Answers with a catalogue error, with the catalogue's status. */
export function sendCoded(reply: FastifyReply, code: HubErrorCode, message: string): FastifyReply {
  return reply.code(HUB_ERRORS[code].status).send(body(code, message));
}

/** Answers with whatever a handler threw, as the hub's catalogue says (internals logged, not shown). */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const r = errorReply(err);
  if (r.internal) req.log.error({ err }, 'k8spacket API request failed');
  return reply.code(r.status).send(r.body);
}
