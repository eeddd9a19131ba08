/**
 * The hub killed with SIGKILL mid-stream (issue 7: "nothing acknowledged is lost"). The hub is a
 * child process (bench/hub-load.mjs's hub role, `--kind store`: the agent stream into the store);
 * the agent streams from this process. Right after the kill, the store on disk must hold every
 * entry the agent had seen acknowledged; after a restart on the same port and the replay, it must
 * hold every entry exactly once. Then the load benchmark itself, short: two agent processes, one
 * hub killed and restarted, its own read-back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { Store } from '../../src/store/index.js';
import { HubClient } from '../../src/transport/index.js';
import { ROOT } from '../support/paths.js';
import { entry, removeDir, tempDir, until } from './fixtures.js';

const BENCH = join(ROOT, 'bench', 'hub-load.mjs');
const work = tempDir('kill');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  removeDir(work);
});

/** Starts the hub process on `port` (0: any) and resolves with the port it listens on. */
async function startHub(store: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [BENCH, 'hub', '--kind', 'store', '--store', store, '--port', String(port)],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  children.push(child);
  const listening = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the hub exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = JSON.parse(l) as { event: string; port: number };
      if (m.event === 'listening') resolve(m.port);
    });
  });
  return { child, port: listening };
}

/** How many times each agent entry id (the store's localId) is stored, read through the store's API. */
function stored(path: string): Map<string, number> {
  const store = Store.open({ path });
  const counts = new Map<string, number>();
  try {
    let cursor: string | undefined;
    for (;;) {
      const page = store.entries({ limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const e of page.entries) {
        const id = (e as { localId?: string }).localId ?? '';
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    return counts;
  } finally {
    store.close();
  }
}

describe('the hub killed mid-stream', () => {
  test('SIGKILL: every acknowledged entry is on disk at once; after the restart, every entry exactly once', async () => {
    const store = join(work, 'kill.db');
    let hub = await startHub(store, 0);
    const port = hub.port;
    const c = new HubClient({
      url: `http://127.0.0.1:${port}`,
      agent: 'victim',
      node: 'node-1',
      batchRecords: 50,
      window: 4,
      spoolDir: join(work, 'spool'),
      maxMemoryBytes: 256 << 10,
      minBackoffMs: 50,
      maxBackoffMs: 300,
    });
    c.start();
    let n = 0;
    let producing = true;
    const produce = () => {
      if (!producing) return;
      if (c.status().queuedRecords < 3000) for (let i = 0; i < 100; i++) c.sendEntry(entry(n++));
      setTimeout(produce, 1);
    };
    produce();
    await until(() => c.status().acked >= 1500, '1500 acknowledged before the kill', 20_000);
    hub.child.kill('SIGKILL');
    const ackedAtKill = c.status().acked;
    await new Promise((r) => hub.child.once('exit', r));

    // Acks are cumulative and nothing was dropped: the acknowledged entries are e-0 .. e-(acked-1).
    const afterKill = stored(store);
    for (let i = 0; i < ackedAtKill; i++)
      assert.equal(afterKill.get(`e-${i}`), 1, `e-${i} acknowledged, not on disk`);

    await until(() => n >= ackedAtKill + 1000, 'entries produced while the hub is down', 20_000);
    hub = await startHub(store, port);
    await until(() => c.status().connected && c.status().acked > ackedAtKill + 1000, 'the replay', 20_000);
    producing = false;
    assert.deepEqual(await c.close(20_000), { unacked: 0 });
    const s = c.status();
    assert.equal(s.dropped, 0);
    assert.equal(s.acked, n);
    assert.ok(s.reconnects >= 1);
    hub.child.kill('SIGTERM');
    await new Promise((r) => hub.child.once('exit', r));

    const counts = stored(store);
    assert.equal(counts.size, n);
    for (let i = 0; i < n; i++) assert.equal(counts.get(`e-${i}`), 1, `e-${i}`);
    const check = Store.open({ path: store });
    try {
      assert.equal(
        check.watermark('victim'),
        c.status().nextSeq - 1,
        "the store's watermark is the last seq sent",
      );
    } finally {
      check.close();
    }
  });

  test('bench/hub-load.mjs, short: agent processes, the hub killed and restarted, nothing acknowledged lost', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [BENCH, '--agents', '2', '--seconds', '2', '--down-ms', '300', '--batch-records', '200', '--json'],
        { timeout: 120_000, maxBuffer: 16 << 20 },
        (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout)),
      ),
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      ok: boolean;
      problems: string[];
      entries: number;
      storedEntries: number;
      entriesPerSecond: number;
      hubPeakRssBytes: number[];
      perAgent: { acked: number; records: number; reconnects: number; dropped: number; unacked: number }[];
    };
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.perAgent.length, 2);
    assert.ok(r.entries > 1000, `only ${r.entries} entries`);
    assert.equal(r.storedEntries, r.entries);
    for (const a of r.perAgent) {
      assert.equal(a.acked, a.records);
      assert.equal(a.dropped, 0);
      assert.equal(a.unacked, 0);
      assert.ok(a.reconnects >= 1, 'each agent reconnected after the kill');
    }
    assert.equal(r.hubPeakRssBytes.length, 2);
    assert.ok(r.hubPeakRssBytes.every((b) => b > 10 << 20));
    assert.ok(r.entriesPerSecond > 0);
  });
});
