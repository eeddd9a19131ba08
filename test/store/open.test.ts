/**
 * Opening a store: what is not a podwire store is refused with a clear, coded error before anything
 * is written to it; a store another process has open is refused as locked; a store from a newer
 * podwire is refused; a new file becomes a store in WAL mode.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Store, StoreError } from '../../src/store/index.js';
import { FIRST_DETAIL_SQL } from '../../src/store/retention.js';
import { APPLICATION_ID } from '../../src/store/schema.js';
import { tempDir } from './fixtures.js';
import { asJson, makeEntry } from './records.js';

const dir = tempDir();

/** The schema version 1 wrote (git history: src/store/schema.ts at the store's first commit). */
const V1 = `
CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value ANY) STRICT;
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  status ANY,
  elapsed_ms REAL,
  src_ip TEXT NOT NULL, src_port INTEGER NOT NULL,
  src_name TEXT, src_ns TEXT, src_kind TEXT, src_workload TEXT, src_node TEXT,
  dst_ip TEXT NOT NULL, dst_port INTEGER NOT NULL,
  dst_name TEXT, dst_ns TEXT, dst_kind TEXT, dst_workload TEXT, dst_node TEXT,
  request_size INTEGER NOT NULL,
  response_size INTEGER NOT NULL,
  connection_id INTEGER,
  node TEXT,
  error TEXT,
  local_id TEXT NOT NULL,
  is_error INTEGER NOT NULL
) STRICT;
CREATE INDEX entries_ts ON entries (ts);
CREATE INDEX entries_protocol ON entries (protocol, ts);
CREATE INDEX entries_status ON entries (status, ts);
CREATE INDEX entries_method ON entries (method, ts);
CREATE INDEX entries_src_name ON entries (src_name, ts);
CREATE INDEX entries_dst_name ON entries (dst_name, ts);
CREATE INDEX entries_src_ns ON entries (src_ns, ts);
CREATE INDEX entries_dst_ns ON entries (dst_ns, ts);
CREATE TABLE entry_details (id INTEGER PRIMARY KEY, json TEXT NOT NULL) STRICT;
CREATE TABLE connections (
  id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  conn_id INTEGER NOT NULL,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (node, conn_id, start)
) STRICT;
CREATE INDEX connections_start ON connections (start);
CREATE INDEX connections_end ON connections (end);
CREATE INDEX connections_node ON connections (node, start);
CREATE TABLE agents (name TEXT NOT NULL PRIMARY KEY, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
CREATE TABLE saved_queries (name TEXT NOT NULL PRIMARY KEY, text TEXT NOT NULL, saved_at INTEGER NOT NULL) STRICT;
`;

function refused(path: string, code: string, message: RegExp): void {
  assert.throws(
    () => Store.open({ path }),
    (err: unknown) => {
      assert.ok(err instanceof StoreError, String(err));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.ok(err.message.includes(path), err.message);
      return true;
    },
  );
}

describe('opening', () => {
  test('a new file becomes a store: WAL, the application id, schema version 3', () => {
    const path = join(dir, 'new.db');
    const store = Store.open({ path });
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.equal(store.db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.deepEqual(store.db.prepare('SELECT version FROM schema_version').all(), [{ version: 3 }]);
    store.close();
    // Reopening keeps what is there.
    const again = Store.open({ path });
    assert.equal(again.stats().entries, 0);
    again.close();
  });

  test('a file that is not SQLite is refused as not-a-store, and left as it was', () => {
    const path = join(dir, 'capture.jsonl');
    const text = '{"type":"entry","id":"1-1"}\n'.repeat(300);
    writeFileSync(path, text);
    refused(path, 'not-a-store', /not a podwire store: the file is not an SQLite database/);
    assert.equal(readFileSync(path, 'utf8'), text);
  });

  test("another application's SQLite database is refused as not-a-store", () => {
    const path = join(dir, 'other.db');
    const other = new Database(path);
    other.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    other.close();
    refused(path, 'not-a-store', /SQLite database of another application/);
    const withId = join(dir, 'other-id.db');
    const o2 = new Database(withId);
    o2.pragma('application_id = 1234');
    o2.exec('CREATE TABLE t (x)');
    o2.close();
    refused(withId, 'not-a-store', /application id is 0x4d2/);
  });

  test('a store whose pages were overwritten is refused as corrupt', () => {
    const path = join(dir, 'corrupt.db');
    const store = Store.open({ path });
    store.ingest(
      null,
      Array.from({ length: 2000 }, (_, i) => makeEntry(i)),
      [],
    );
    store.close();
    const bytes = readFileSync(path);
    // Keep the header page (the file is still "SQLite"), scribble over everything after it.
    for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 131) & 0xff;
    writeFileSync(path, bytes);
    refused(path, 'not-a-store', /corrupt|malformed/);
  });

  test('a version-1 store is migrated: the method index goes, its entries read as they were, new ones go to the detail log', () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(V1);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.prepare('INSERT INTO schema_version VALUES (1, ?)').run(Date.now());
    // One entry as version 1 stored it: the summary row, and the whole entry as the detail JSON.
    const old = makeEntry(1_000, { id: '7-3', node: 'node-1', status: 503 });
    db.prepare(
      `INSERT INTO entries (id, ts, protocol, method, path, status, elapsed_ms, src_ip, src_port, dst_ip, dst_port,
         request_size, response_size, connection_id, node, error, local_id, is_error)
       VALUES (1, 1000, 'http', 'GET', '/', 503, 1.5, '10.0.0.1', 40000, '10.0.0.2', 8080, 40, 60, 1, 'node-1', NULL, '7-3', 1)`,
    ).run();
    const v1Json = JSON.stringify({ ...old, id: '1', localId: '7-3' });
    db.prepare('INSERT INTO entry_details (id, json) VALUES (1, ?)').run(v1Json);
    db.prepare("INSERT INTO meta (key, value) VALUES ('last_entry_id', 1)").run();
    db.close();

    const store = Store.open({ path });
    assert.deepEqual(store.db.prepare('SELECT version FROM schema_version ORDER BY version').all(), [
      { version: 1 },
      { version: 2 },
      { version: 3 },
    ]);
    const indexes = store.db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'entries' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
    assert.ok(!indexes.includes('entries_method'), indexes.join());
    assert.ok(indexes.includes('entries_ts') && indexes.includes('entries_dst_name'), indexes.join());
    const want = { ...asJson(old), id: '1', localId: '7-3' };
    assert.deepEqual(store.entry('1'), want);
    const sqlJson = store.db
      .prepare(`SELECT ${store.sqlTarget.json} AS j FROM entries e LEFT JOIN entry_details d ON d.id = e.id`)
      .get() as { j: string };
    assert.deepEqual(JSON.parse(sqlJson.j), want);
    // New entries continue the ids, in the version-3 form (the detail in the log), beside the old one.
    const ids: (string | null)[] = [];
    store.ingest(null, [makeEntry(2_000, { id: '8-1' })], [], ids);
    assert.deepEqual(ids, ['2']);
    const where = store.db.prepare('SELECT detail_seg AS s FROM entries ORDER BY id').all() as {
      s: number | null;
    }[];
    assert.deepEqual(
      where.map((r) => r.s),
      [null, 1],
    );
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM entry_details').get() as { n: number }).n, 1);
    // The oldest detail in the log is found from the first id the log can have, not by reading the
    // older rows: a seek on the rowid.
    assert.deepEqual(store.db.prepare("SELECT value FROM meta WHERE key = 'first_log_id'").get(), {
      value: 2,
    });
    const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${FIRST_DETAIL_SQL}`).all() as { detail: string }[])
      .map((r) => r.detail)
      .join('; ');
    assert.match(plan, /SEARCH entries USING INTEGER PRIMARY KEY \(rowid>\?\)/);
    assert.ok(store.stats().dataBytes > 0);
    const both2 = store.db
      .prepare(
        `SELECT ${store.sqlTarget.json} AS j FROM entries e LEFT JOIN entry_details d ON d.id = e.id ORDER BY e.id`,
      )
      .all() as { j: string }[];
    assert.deepEqual(JSON.parse((both2[1] as { j: string }).j), {
      ...asJson(makeEntry(2_000, { id: '8-1' })),
      id: '2',
      localId: '8-1',
    });
    assert.deepEqual(store.entry('2'), {
      ...asJson(makeEntry(2_000, { id: '8-1' })),
      id: '2',
      localId: '8-1',
    });
    const both = store.entries({
      where: { sql: `${store.sqlTarget.column(['method'])} = ?`, params: ['GET'] },
    });
    assert.deepEqual(
      both.entries.map((e) => e.id),
      ['2', '1'],
    );
    store.close();
  });

  test('a store written by a newer podwire is refused', () => {
    const path = join(dir, 'newer.db');
    Store.open({ path }).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_version VALUES (?, ?)').run(99, Date.now());
    db.close();
    refused(path, 'newer-schema', /schema version 99, written by a newer podwire/);
  });

  test('a store open in this process or another one is refused as locked', () => {
    const path = join(dir, 'locked.db');
    const store = Store.open({ path });
    refused(path, 'locked', /in use by another process/);
    const storeModule = new URL('../../src/store/index.js', import.meta.url).href;
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Store } from ${JSON.stringify(storeModule)};
         try { Store.open({ path: ${JSON.stringify(path)} }); console.log('opened'); }
         catch (e) { console.log(e.code); }`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(child.stdout.trim(), 'locked', child.stderr);
    store.close();
    // Closed: free again.
    Store.open({ path }).close();
  });

  test('a directory, or a file in a missing directory, cannot be opened', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    assert.throws(() => Store.open({ path: sub }), { code: 'cannot-open' });
    assert.throws(() => Store.open({ path: join(dir, 'missing', 'x.db') }), { code: 'cannot-open' });
    assert.throws(() => Store.open({ path: '' }), { code: 'bad-argument' });
  });

  test('an in-memory store works for tools and tests', () => {
    const store = Store.open({ path: ':memory:' });
    store.ingest(null, [makeEntry(5)], []);
    assert.equal(store.entries({}).entries.length, 1);
    assert.ok(store.stats().fileBytes > 0);
    store.close();
  });
});
