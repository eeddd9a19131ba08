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

test('stored through the writer thread; a dead thread acknowledges nothing and /readyz says so', async () => {
  const hub = await Hub.start({ store: { path: join(dir, 'hub.db') }, host: '127.0.0.1', port: 0 });
  const client = new HubClient({
    url: hub.url(),
    node: 'node-1',
    agent: 'node-1',
    batchRecords: 10,
    minBackoffMs: 20,
  });
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
    assert.equal(hub.store.stats().entries, 30);
  } finally {
    client.close(0);
    await hub.close();
  }
});
