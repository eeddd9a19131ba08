/**
 * What the API's routes are given by the hub, and the query compilation they share: a query's text
 * becomes a SQL condition for the store and a predicate for the live stream, both from the one
 * parser (src/query), so the same text selects the same entries stored or live.
 */
import type { Entry } from '../../dissect/entry.js';
import { compilePredicate, compileSql, parseQuery, type Query } from '../../query/index.js';
import type { Store } from '../../store/index.js';
import type { LiveFeed } from '../live.js';
import type { SendQueueLimits } from './send-queue.js';

export interface StreamOptions {
  /** Live streams served at once; more are refused (`hub.stream_full`). Default 32. */
  maxClients?: number;
  /** Per-client bounds of what waits for a slow reader (src/hub/api/send-queue.ts). */
  queue?: Partial<SendQueueLimits>;
}

export interface ApiDeps {
  store: Store;
  live: LiveFeed;
  /** The clock `now()` in queries reads, µs since the epoch (default: the system clock). */
  nowUs?: () => number;
  stream?: StreamOptions;
  /** Where a request that failed inside the hub (`hub.internal`) is told, with its stack. */
  log?: (message: string) => void;
}

function clock(deps: ApiDeps): { nowUs?: number } {
  return deps.nowUs ? { nowUs: deps.nowUs() } : {};
}

/** Parses `text` (throws QueryError) for the store; null for an absent or blank query. */
export function sqlWhere(deps: ApiDeps, text: string | undefined): ReturnType<typeof compileSql> | null {
  if (text === undefined || text.trim() === '') return null;
  return compileSql(parseQuery(text), deps.store.sqlTarget, clock(deps));
}

/** Parses `text` (throws QueryError) for the live stream; null (everything) for a blank query. */
export function livePredicate(deps: ApiDeps, text: string | null): ((e: Entry) => boolean) | null {
  if (text === null || text.trim() === '') return null;
  return compilePredicate(parseQuery(text), clock(deps));
}

/** Checks a query to be saved compiles both ways (throws QueryError); returns it parsed. */
export function checkQuery(deps: ApiDeps, text: string): Query {
  const q = parseQuery(text);
  compileSql(q, deps.store.sqlTarget, clock(deps));
  compilePredicate(q, clock(deps));
  return q;
}
