/**
 * Checkpoints on a thread of their own (src/store/checkpoints.ts): under steady writes the WAL is
 * copied into the file beside the commits and starts again from its beginning instead of growing;
 * a checkpointer thread that cannot run hands checkpoints back to SQLite; close() ends the thread,
 * so the last connection's close checkpoints and removes the WAL. Real SQLite files, real threads.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Checkpoints } from '../../src/store/checkpoints.js';
import { Store } from '../../src/store/index.js';
import { tempDir } from './fixtures.js';
import { makeEntry } from './records.js';

const dir = tempDir();
let n = 0;
/** Every checkpointer made here, closed at the end even when a test failed half-way. */
const made: Checkpoints[] = [];
after(() => Promise.all(made.map((c) => c.close())));
function checkpoints(...args: ConstructorParameters<typeof Checkpoints>): Checkpoints {
  const c = new Checkpoints(...args);
  made.push(c);
  return c;
}

/** A WAL-mode database with a table of blobs, as the store's writer connection is set up. */
function open(): { db: Database.Database; path: string } {
  const path = join(dir, `c${++n}.db`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)');
  return { db, path };
}

const walBytes = (path: string) => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);

/** `count` transactions of 8 rows of 4 KiB each (about 9 pages), letting the threads' messages in between. */
async function writeSteadily(db: Database.Database, ckpt: Checkpoints | null, path: string, count: number) {
  const insert = db.prepare('INSERT INTO t (b) VALUES (randomblob(4000))');
  const tx = db.transaction(() => {
    for (let i = 0; i < 8; i++) insert.run();
  });
  let maxWal = 0;
  for (let i = 0; i < count; i++) {
    ckpt?.beforeTransaction();
    tx.immediate();
    ckpt?.afterCommit();
    maxWal = Math.max(maxWal, walBytes(path));
    await sleep(i % 10 === 0 ? 2 : 0);
  }
  return maxWal;
}

test('under steady writes the WAL is copied beside the commits and starts again instead of growing', async () => {
  const { db, path } = open();
  const ckpt = checkpoints(db, path, { resetPages: 256, intervalMs: 5 });
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, "the writer's own checkpoints are off");
  const maxWal = await writeSteadily(db, ckpt, path, 600);
  await ckpt.close();
  const written = 600 * 8 * 4000;
  assert.ok(ckpt.stats.rounds > 5, `rounds: ${ckpt.stats.rounds}`);
  assert.ok(ckpt.stats.restarts > 1, `the WAL started again ${ckpt.stats.restarts} times`);
  assert.equal(ckpt.stats.failed, null);
  // Without a restart the WAL would hold every page written (over 19 MB).
  assert.ok(maxWal < written / 3, `the WAL grew to ${maxWal} bytes of the ${written} written`);
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 4800);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  assert.equal(existsSync(`${path}-wal`), false, 'the last connection closed removed the WAL');
  // What the checkpoints copied is in the file itself.
  const again = new Database(path, { readonly: true });
  assert.equal((again.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 4800);
  again.close();
});

test('when the writes stop, a round still copies the last commits, even with the WAL due to start again', async () => {
  const { db, path } = open();
  // Any WAL is "due to start again" at 1 page: every round sets it.
  const ckpt = checkpoints(db, path, { resetPages: 1, intervalMs: 5 });
  const insert = db.prepare('INSERT INTO t (b) VALUES (randomblob(4000))');
  insert.run();
  ckpt.afterCommit();
  for (let i = 0; i < 100 && ckpt.stats.rounds === 0; i++) await sleep(5);
  assert.equal(ckpt.stats.rounds, 1);
  // The last commit, with the restart due: no transaction follows to do it.
  insert.run();
  ckpt.afterCommit();
  for (let i = 0; i < 100 && ckpt.stats.rounds === 1; i++) await sleep(5);
  assert.equal(ckpt.stats.rounds, 2, 'a round after the last commit');
  await ckpt.close();
  db.close();
});

test('without the checkpointer and with automatic checkpoints off, the same writes grow the WAL (the control)', async () => {
  const { db, path } = open();
  db.pragma('wal_autocheckpoint = 0');
  const maxWal = await writeSteadily(db, null, path, 200);
  assert.ok(maxWal > 200 * 8 * 4000, `the WAL holds all ${maxWal} bytes`);
  db.close();
});

test('a checkpointer thread that cannot run hands the checkpoints back to SQLite', async () => {
  const { db, path } = open();
  // The thread opens the store with fileMustExist: a path that does not exist fails it at once.
  const ckpt = checkpoints(db, join(dir, 'missing.db'), { resetPages: 128, intervalMs: 5 });
  for (let i = 0; i < 200 && ckpt.stats.failed === null; i++) await sleep(10);
  assert.match(ckpt.stats.failed ?? '', /cannot open .*missing\.db/);
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 128, 'automatic checkpoints are back');
  const maxWal = await writeSteadily(db, ckpt, path, 100);
  assert.ok(maxWal < 100 * 8 * 4000, `SQLite checkpointed at its commits: the WAL stayed at ${maxWal} bytes`);
  await ckpt.close();
  db.close();
});

test("a store's writer thread reports its checkpoints in stats(); an inline store has none", async () => {
  const path = join(dir, `c${++n}.db`);
  const store = Store.open({ path, writer: 'thread' });
  assert.deepEqual(store.stats().checkpoints, { rounds: 0, restarts: 0, maxLogPages: 0, failed: null });
  await store.write([{ source: null, entries: [makeEntry(Date.now() * 1000)], connections: [] }]);
  // A round follows a commit within the interval (500 ms).
  for (let i = 0; i < 100 && (store.stats().checkpoints?.rounds ?? 0) === 0; i++) await sleep(20);
  const c = store.stats().checkpoints;
  assert.ok(c && c.rounds >= 1, `rounds: ${c?.rounds}`);
  assert.ok(c.maxLogPages > 0, 'the round found the commit in the WAL');
  assert.equal(c.failed, null);
  await store.close();
  const inline = Store.open({ path: join(dir, `c${++n}.db`) });
  assert.equal(inline.stats().checkpoints, null);
  await inline.close();
});
