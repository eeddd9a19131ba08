/**
 * k8spacket's TLS JSON API (CONTRACTS.md), read by its TLS dashboards through Grafana's JSON API
 * datasource:
 *
 *   GET /tlsparser/api/data[/]          the whole cluster's TLS list (`from`, `to`)
 *   GET /tlsparser/api/data/{id}        one row's details, with the certificate's expiry
 *   GET /tlsparser/connections[/]       this node's list
 *   GET /tlsparser/connections/{id}     this node's details
 *
 * An id no row has answers 404 (k8spacket's cluster route answered an empty object). The details
 * panel asks without a window, so details look at everything the store still has.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestWindow, sendCoded, sendError } from '../nodegraph/request.js';
import { type GraphSource, isLocal } from '../nodegraph/source.js';
import { tlsView } from './tls.js';

async function view(source: GraphSource, req: FastifyRequest, localOnly: boolean) {
  const { fromUs, toUs } = requestWindow(req);
  let entries = await source.tlsEntries(fromUs, toUs);
  entries = entries.filter(
    (e) => e.timestamp >= fromUs && e.timestamp <= toUs && (!localOnly || isLocal(source, e.node)),
  );
  return tlsView(entries, source.dialedCertificate?.bind(source));
}

function routes(app: FastifyInstance, source: GraphSource, base: string, localOnly: boolean): void {
  const list = async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      return reply.send((await view(source, req, localOnly)).rows);
    } catch (err) {
      return sendError(req, reply, err);
    }
  };
  app.get(base, list);
  // With ignoreTrailingSlash the one route serves both; without it, `/base/` is its own (the
  // dashboard's details panel asks for `/${id}` with an empty id: the list, as k8spacket answers).
  if (!app.initialConfig.ignoreTrailingSlash) app.get(`${base}/`, list);
  app.get(`${base}/:id`, async (req, reply) => {
    try {
      const id = (req.params as { id?: string }).id ?? '';
      if (id.trim() === '') return reply.send((await view(source, req, localOnly)).rows);
      const details = (await view(source, req, localOnly)).details.get(id);
      if (!details)
        return sendCoded(
          reply,
          'hub.not_found',
          `no TLS connection has id ${JSON.stringify(id.slice(0, 64))}`,
        );
      return reply.send(details);
    } catch (err) {
      return sendError(req, reply, err);
    }
  });
}

export function registerTlsParserRoutes(app: FastifyInstance, source: GraphSource): void {
  routes(app, source, '/tlsparser/api/data', false);
  routes(app, source, '/tlsparser/connections', true);
}
