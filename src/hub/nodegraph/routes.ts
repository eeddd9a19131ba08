/**
 * k8spacket's node-graph API (CONTRACTS.md), as Grafana's Node Graph API datasource and k8spacket's
 * node-graph dashboard call it:
 *
 *   GET /nodegraph/api/health        200, empty body
 *   GET /nodegraph/api/graph/fields  field definitions for `stats-type`
 *   GET /nodegraph/api/graph/data    the whole cluster's graph: `namespace`, `include`, `exclude`,
 *                                    `stats-type`, `from`, `to`
 *   GET /nodegraph/connections       this node's connection records, same parameters
 *
 * Records from every agent are in the hub's store, so the "whole cluster" is one query rather than
 * k8spacket's fan-out to each node; the copies two agents made of one connection count once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { aggregatePairs, type ConnectionItem, toConnectionItem } from './aggregate.js';
import { mergeCopies } from './dedupe.js';
import { graphFields } from './fields.js';
import { compileFilters, isFilterError } from './filters.js';
import { buildGraph } from './graph.js';
import { param, requestWindow, sendCoded, sendError } from './request.js';
import { type GraphSource, isLocal } from './source.js';
import { isStatsType, STATS_TYPES, type StatsType } from './stats.js';

export type { GraphSource } from './source.js';

/** `stats-type` (empty or absent: `connection`), or null when it names no mode. */
function statsType(req: FastifyRequest): StatsType | null {
  const v = param(req, 'stats-type');
  if (v === undefined || v === '') return 'connection';
  return isStatsType(v) ? v : null;
}

function badStatsType(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendCoded(
    reply,
    'hub.bad_parameter',
    `\`stats-type\` must be one of ${STATS_TYPES.join(', ')}, not ${JSON.stringify(param(req, 'stats-type')?.slice(0, 64))}`,
  );
}

/**
 * The connection records of a request: window, copies merged, filters, per (client IP, server IP).
 * Answers the error itself and returns null when a parameter is bad.
 */
async function pairsFor(
  source: GraphSource,
  req: FastifyRequest,
  reply: FastifyReply,
  localOnly: boolean,
): Promise<ReturnType<typeof aggregatePairs> | null> {
  const filters = compileFilters({
    namespace: param(req, 'namespace'),
    include: param(req, 'include'),
    exclude: param(req, 'exclude'),
  });
  if (isFilterError(filters)) {
    sendCoded(reply, 'hub.bad_parameter', filters.message);
    return null;
  }
  const { fromUs, toUs } = requestWindow(req);
  let records = await source.connections(fromUs, toUs);
  // "A record counts when its last-seen time is inside" the window, whatever the source returned.
  records = records.filter(
    (r) => r.end >= fromUs && r.end <= toUs && (!localOnly || isLocal(source, r.node)),
  );
  const { connections } = mergeCopies(records);
  return aggregatePairs(connections, {
    filters,
    ...(source.persistentAfterMs !== undefined ? { persistentAfterMs: source.persistentAfterMs } : {}),
  });
}

export function registerNodeGraphRoutes(app: FastifyInstance, source: GraphSource): void {
  app.get('/nodegraph/api/health', async (_req, reply) => reply.code(200).send());

  app.get('/nodegraph/api/graph/fields', async (req, reply) => {
    const mode = statsType(req);
    if (!mode) return badStatsType(req, reply);
    return reply.send(graphFields(mode));
  });

  app.get('/nodegraph/api/graph/data', async (req, reply) => {
    try {
      const mode = statsType(req);
      if (!mode) return badStatsType(req, reply);
      const pairs = await pairsFor(source, req, reply, false);
      if (!pairs) return reply;
      return reply.send(buildGraph(pairs, mode));
    } catch (err) {
      return sendError(req, reply, err);
    }
  });

  app.get('/nodegraph/connections', async (req, reply) => {
    try {
      const pairs = await pairsFor(source, req, reply, true);
      if (!pairs) return reply;
      const items: ConnectionItem[] = pairs.map(toConnectionItem);
      return reply.send(items);
    } catch (err) {
      return sendError(req, reply, err);
    }
  });
}
