/** k8spacket's node-graph API for Grafana (docs/nodegraph.md): the routes and the pure functions under them. */
export {
  aggregatePairs,
  type ConnectionItem,
  DEFAULT_PERSISTENT_AFTER_MS,
  type PairStats,
  toConnectionItem,
} from './aggregate.js';
export { mergeCopies, type SeenConnection } from './dedupe.js';
export { type FieldsResponse, graphFields } from './fields.js';
export { compileFilters, type FilterError, type GraphFilters, isFilterError } from './filters.js';
export { buildGraph, type GraphEdge, type GraphNode, type NodeGraph } from './graph.js';
export { registerNodeGraphRoutes } from './routes.js';
export type { GraphSource } from './source.js';
export { STATS_TYPES, type StatsType } from './stats.js';
