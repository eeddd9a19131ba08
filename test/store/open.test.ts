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
import { APPLICATION_ID } from '../../src/store/schema.js';
import { tempDir } from './fixtures.js';
import { makeEntry } from './records.js';

const dir = tempDir();

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
  test('a new file becomes a store: WAL, the application id, schema version 1', () => {
    const path = join(dir, 'new.db');
    const store = Store.open({ path });
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.equal(store.db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.deepEqual(store.db.prepare('SELECT version FROM schema_version').all(), [{ version: 1 }]);
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
