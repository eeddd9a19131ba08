/** `podwire hub` as a user starts it: clear refusals for bad flags and unsafe exposure, a clean stop. */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PODWIRE } from '../support/paths.js';

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PODWIRE, args, { env: { ...process.env, PODWIRE_TOKEN: '', ...env } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** Starts a hub and resolves with it and its URL once it says where it listens. */
async function startHub(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(PODWIRE, ['hub', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PODWIRE_TOKEN: '' },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`hub exited: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

describe('podwire hub', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-hub-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('listening beyond loopback without a token: refused, saying how to set one', async () => {
    const r = await run(['hub', '--listen', '0.0.0.0:0', '--store', ':memory:']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exposes captured traffic.*--token-file FILE or PODWIRE_TOKEN/);
  });

  test('a bad --listen, --retention-size or --token-file is a usage error (exit 2)', async () => {
    const listen = await run(['hub', '--listen', 'localhost']);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /--listen takes HOST:PORT/);
    const size = await run(['hub', '--retention-size', 'lots']);
    assert.equal(size.code, 2);
    assert.match(size.stderr, /--retention-size takes a size like 500MiB/);
    const token = await run(['hub', '--token-file', join(dir, 'missing')]);
    assert.equal(token.code, 2);
    assert.match(token.stderr, /--token-file .*missing: ENOENT/);
    writeFileSync(join(dir, 'short'), 'abc\n');
    const short = await run(['hub', '--token-file', join(dir, 'short'), '--store', ':memory:']);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 16 characters/);
  });

  test('serves, refuses a second hub on the same store, stops cleanly on SIGTERM', async () => {
    const store = join(dir, 'hub.db');
    const hub = await startHub(['--store', store]);
    try {
      assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
      const entries = await fetch(`${hub.url}/api/entries`);
      assert.equal(entries.status, 200);
      assert.deepEqual(await entries.json(), { entries: [], cursor: null });
      const graph = await fetch(`${hub.url}/nodegraph/api/graph/data?stats-type=bytes`);
      assert.deepEqual(await graph.json(), { nodes: [], edges: [] });
      const second = await run(['hub', '--listen', '127.0.0.1:0', '--store', store]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /locked|in use|another/i);
    } finally {
      hub.child.kill('SIGTERM');
      const [code] = (await once(hub.child, 'exit')) as [number];
      assert.equal(code, 0, hub.stderr());
    }
  });

  test('a file that is not a store: a clear error, exit 1', async () => {
    const bogus = join(dir, 'notes.txt');
    writeFileSync(
      bogus,
      'not a database, just text that is long enough to look like a file header\n'.repeat(20),
    );
    const r = await run(['hub', '--listen', '127.0.0.1:0', '--store', bogus]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a podwire store|not a database|not-a-store/i);
  });
});
