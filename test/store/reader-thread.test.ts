/**
 * The store's reader thread (`reader:`): the filtered reads it runs answer as the store's own
 * connection does (the query compiler's SQL, its regexp(), the detail log's JSON, cursors, the
 * service map); a read past its deadline is abandoned with `query-timeout` while this thread's event
 * loop runs on, and the reads queued behind it are answered by a new thread.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileSql, parseQuery, registerSqlFunctions } from '../../src/query/index.js';
import { type EntriesQuery, Store } from '../../src/store/index.js';
import { realRecords, tempDir } from './fixtures.js';

const SETUP = {
  module: new URL('../../src/query/sql.js', import.meta.url).href,
  export: 'registerSqlFunctions',
};
/** SQL that takes seconds whatever the data: counting to 200 million in a recursive CTE. */
const SLOW = {
  sql: '(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) FROM c) > 0',
  params: [],
};

describe('the reader thread', async () => {
  const { entries, connections } = await realRecords();
  const path = join(tempDir(), 'r.db');
  let store: Store;
  before(() => {
    const fill = Store.open({ path });
    fill.ingest(null, entries, connections);
    fill.close();
    store = Store.open({ path, reader: { setup: SETUP, timeoutMs: 2_000 } });
    registerSqlFunctions(store.db);
  });
  after(() => store.close());

  const where = (text: string) => compileSql(parseQuery(text), store.sqlTarget);

  test('answers what the store answers on its own connection', async () => {
    const queries = [
      'http',
      'redis and request.command == "GET"',
      'path matches "^/[a-z]+"',
      'dns or tls',
      'request.headers["User-Agent"] exists',
      'status >= 200 and status < 300',
    ];
    for (const text of queries) {
      // Every page, by cursor, small pages so the cursor is used.
      const walk = async (read: (q: EntriesQuery) => Promise<unknown> | unknown) => {
        const pages = [];
        let cursor: string | undefined;
        do {
          const page = (await read({ where: where(text), limit: 7, ...(cursor ? { cursor } : {}) })) as {
            entries: unknown[];
            cursor: string | null;
          };
          pages.push(page);
          cursor = page.cursor ?? undefined;
        } while (cursor);
        return pages;
      };
      const here = await walk((q) => store.entries(q));
      const there = await walk((q) => store.entriesAsync(q));
      assert.deepEqual(there, here, text);
      assert.ok(here.flatMap((p) => p.entries).length > 0, `${text} matches something`);
    }
    assert.deepEqual(
      await store.serviceMapAsync({ where: where('http') }),
      store.serviceMap({ where: where('http') }),
    );
    await assert.rejects(store.entriesAsync({ cursor: 'nonsense' }), { code: 'bad-cursor' });
  });

  test('a read past its deadline is abandoned; this thread runs on; reads behind it are answered', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = Date.now();
    const slow = store.entriesAsync({ where: SLOW });
    const behind = store.entriesAsync({ where: where('redis'), limit: 5 });
    await assert.rejects(slow, { code: 'query-timeout', message: /longer than 2 s/ });
    const waited = Date.now() - started;
    clearInterval(timer);
    assert.ok(waited >= 1_900 && waited < 5_000, `${waited} ms`);
    // The event loop was free all along (a tick every 20 ms; a held loop would have none).
    assert.ok(ticks > waited / 20 / 2, `${ticks} ticks in ${waited} ms`);
    assert.deepEqual(await behind, store.entries({ where: where('redis'), limit: 5 }));
    // And the next reads go to the new thread.
    assert.deepEqual(await store.entriesAsync({ limit: 3 }), store.entries({ limit: 3 }));
  });

  test('an in-memory store has no reader thread', () => {
    assert.throws(() => Store.open({ path: ':memory:', reader: {} }), { code: 'bad-argument' });
  });
});
