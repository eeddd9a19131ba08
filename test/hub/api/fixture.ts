/**
 * Real entries and connection records for the API tests: three captures of test/captures (HTTP/1,
 * Redis, DNS) run through podwire's pipeline, each as if from its own agent (node), written through
 * JSON as `podwire analyze --format jsonl` prints them, and stored in a real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Entry } from '../../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../../src/flows/connection.js';
import { type ApiDeps, registerApiRoutes } from '../../../src/hub/api/index.js';
import { LiveFeed } from '../../../src/hub/live.js';
import { registerSqlFunctions } from '../../../src/query/index.js';
import { Store } from '../../../src/store/index.js';
import { analyze } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

/** Capture (relative to test/captures) -> the node its records are said to come from. */
export const CAPTURE_NODES: Record<string, string> = {
  'http1/ja4__http1.pcapng': 'node-http',
  'redis/zeek__django-cloud.pcapng': 'node-redis',
  'dns/zeek__dns-edns-ecs.pcap': 'node-dns',
};

export interface Records {
  /** In ingest order; `id` made unique across captures as `<node>/<id>` (it is the stored `localId`). */
  entries: Entry[];
  connections: ConnectionRecord[];
}

let loaded: Promise<Records> | null = null;

/** The captures' records (analyzed once per test process). */
export function records(): Promise<Records> {
  loaded ??= (async () => {
    const out: Records = { entries: [], connections: [] };
    for (const [file, node] of Object.entries(CAPTURE_NODES)) {
      const r = await analyze(join(CAPTURES, file));
      // Through JSON, as the jsonl output and the agent-to-hub stream carry them.
      for (const e of JSON.parse(JSON.stringify(r.entries)) as Entry[])
        out.entries.push({ ...e, id: `${node}/${e.id}`, node });
      for (const c of JSON.parse(JSON.stringify(r.connections)) as ConnectionRecord[])
        out.connections.push({ ...c, node });
    }
    return out;
  })();
  return loaded;
}

export interface TestHub {
  app: FastifyInstance;
  store: Store;
  live: LiveFeed;
  records: Records;
  /** The temporary directory of the store's file. */
  dir: string;
  close(): Promise<void>;
}

/** A store on a temporary file holding `records()`, and the API on a fastify app (not listening). */
export async function testHub(extra: Partial<ApiDeps> = {}, fill = true): Promise<TestHub> {
  const recs = await records();
  const dir = mkdtempSync(join(tmpdir(), 'podwire-api-'));
  const store = Store.open({ path: join(dir, 'hub.db') });
  registerSqlFunctions(store.db);
  if (fill) {
    let seq = 0;
    for (const node of Object.values(CAPTURE_NODES))
      store.ingest(
        { agent: node, seq: ++seq },
        recs.entries.filter((e) => e.node === node),
        recs.connections.filter((c) => c.node === node),
      );
  }
  const live = new LiveFeed();
  const app = Fastify({ logger: false });
  registerApiRoutes(app, { store, live, ...extra });
  await app.ready();
  return {
    app,
    store,
    live,
    records: recs,
    dir,
    close: async () => {
      await app.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON answer, read by the tests along paths they know. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON-shaped answers by known paths
export type Json = any;

/** GET `url` through inject, parsed. */
export async function get(app: FastifyInstance, url: string): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : null };
}
