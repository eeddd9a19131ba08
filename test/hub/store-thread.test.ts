/**
 * The hub with a file store writes on the store's writer thread: an agent's entries are stored and
 * acknowledged through it, and read back through the API; when the thread dies, nothing more is
 * acknowledged (the agent keeps its batches) and /readyz says why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Hub } from '../../src/hub/hub.js';
import { HubClient } from '../../src/transport/index.js';
import { entry, removeDir, tempDir, until } from '../transport/fixtures.js';

const dir = tempDir('podwire-hub-thread-');
after(() => removeDir(dir));

/** A sample's value on the hub's /metrics (`labels` as written there, e.g. `type="entry"`), or null. */
async function metric(hub: Hub, name: string, labels = ''): Promise<number | null> {
  const text = await (await fetch(`${hub.url()}/metrics`)).text();
  const want = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(want));
  return line === undefined ? null : Number(line.slice(want.length));
}

/** A hub on a file store, and an agent's client (not started) streaming to it. */
async function hubWithAgent(path: string): Promise<{ hub: Hub; client: HubClient }> {
  const hub = await Hub.start({ store: { path }, host: '127.0.0.1', port: 0 });
  const client = new HubClient({
    url: hub.url(),
    node: 'node-1',
    agent: 'node-1',
    batchRecords: 10,
    minBackoffMs: 20,
  });
  return { hub, client };
}

test('stored through the writer thread; a dead thread acknowledges nothing and /readyz says so', async () => {
  const { hub, client } = await hubWithAgent(join(dir, 'hub.db'));
  try {
    assert.equal(hub.store.threaded, true);
    client.start();
    for (let i = 0; i < 30; i++) client.sendEntry(entry(i, 'a'));
    await until(() => client.status().acked === 30, 'acknowledged');
    const listed = (await (await fetch(`${hub.url()}/api/entries?limit=100`)).json()) as {
      entries: { localId: string }[];
    };
    assert.equal(listed.entries.length, 30);
    assert.equal((await fetch(`${hub.url()}/readyz`)).status, 200);
    // The hub's intake and store series (src/metrics/store.ts): a checkpoint round follows the commits.
    for (let i = 0; i < 100 && ((await metric(hub, 'podwire_store_checkpoint_rounds_total')) ?? 0) < 1; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(((await metric(hub, 'podwire_store_checkpoint_rounds_total')) ?? 0) >= 1, 'a checkpoint round');
    assert.equal(await metric(hub, 'podwire_store_entries'), 30);
    assert.equal(await metric(hub, 'podwire_hub_records_total', 'type="entry"'), 30);
    const stored = (await metric(hub, 'podwire_hub_batches_total', 'result="stored"')) ?? 0;
    const replays = (await metric(hub, 'podwire_hub_batches_total', 'result="replay"')) ?? 0;
    assert.ok(stored >= 3, `batches stored: ${stored}`);
    // At least one commit, at most one per batch.
    const tx = (await metric(hub, 'podwire_store_transactions_total')) ?? 0;
    assert.ok(tx >= 1 && tx <= stored + replays, `transactions: ${tx}`);
    assert.equal(
      await metric(hub, 'podwire_store_write_seconds_count'),
      stored + replays,
      'every write timed',
    );
    assert.ok(((await metric(hub, 'podwire_store_file_bytes')) ?? 0) > 0);
    assert.equal(await metric(hub, 'podwire_store_write_failed'), 0);
    assert.equal(await metric(hub, 'podwire_store_checkpointer_failed'), 0);

    // The writer thread dies (as a crash would).
    await (
      hub.store as unknown as { thread: { worker: { terminate(): Promise<number> } } }
    ).thread.worker.terminate();
    await until(() => hub.store.writeFailure !== null, 'the failure seen');
    for (let i = 30; i < 40; i++) client.sendEntry(entry(i, 'a'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(client.status().acked, 30, 'nothing acknowledged after the failure');
    const ready = await fetch(`${hub.url()}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /the store cannot write: .*writer thread/);
    assert.equal(await metric(hub, 'podwire_store_write_failed'), 1);
    assert.equal(hub.store.stats().entries, 30);
  } finally {
    client.close(0);
    await hub.close();
  }
});

test("the API's filtered reads run on the store's reader thread; one past the deadline answers 503 hub.query_timeout", async () => {
  const path = join(dir, 'reads.db');
  const { hub, client } = await hubWithAgent(path);
  try {
    client.start();
    for (let i = 0; i < 20; i++)
      client.sendEntry({ ...entry(i, 'a'), path: i % 2 ? `/odd/${i}` : `/even/${i}` });
    await until(() => client.status().acked === 20, 'acknowledged');
    // A regular expression: the reader thread has the query compiler's regexp() too.
    const q = encodeURIComponent('path matches "^/odd/"');
    const odd = (await (await fetch(`${hub.url()}/api/entries?q=${q}&limit=100`)).json()) as {
      entries: { path: string }[];
    };
    assert.equal(odd.entries.length, 10);
    assert.ok(odd.entries.every((e) => e.path.startsWith('/odd/')));
    const map = (await (await fetch(`${hub.url()}/api/servicemap?q=${q}`)).json()) as { edges: unknown[] };
    assert.ok(Array.isArray(map.edges));
  } finally {
    client.close(0);
    await hub.close();
  }
  // The same store, a hub whose reads may take 1 ms: starting the thread alone takes longer.
  const strict = await Hub.start({
    store: { path, reader: { timeoutMs: 1 } },
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const res = await fetch(`${strict.url()}/api/entries?q=http`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'hub.query_timeout');
    assert.match(body.error.message, /abandoned/);
    // What does not go through the reader thread still answers.
    assert.equal((await fetch(`${strict.url()}/healthz`)).status, 200);
  } finally {
    await strict.close();
  }
});
