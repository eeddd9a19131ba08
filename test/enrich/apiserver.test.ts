/**
 * The stand-in API server on the wire, read with plain HTTP rather than the client, so the informer
 * tests rest on the protocol as the Kubernetes API concepts document describes it: typed lists
 * whose items carry no kind, paging with `continue`, a chunked stream of newline-delimited events,
 * 410 as an ERROR event holding a Status, 401 without the token.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ApiServer } from '../support/apiserver.js';
import { fixtureItems } from './support.js';

const server = new ApiServer();

function get(
  path: string,
  onData?: (chunk: string, done: () => void) => void,
  token = server.token,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      const done = () => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      res.on('data', (c: Buffer) => {
        body += c.toString();
        onData?.(body, done);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('stand-in API server protocol', () => {
  before(async () => {
    await server.start();
    server.load(fixtureItems());
  });
  after(() => server.stop());

  test('a list is typed, items without kind, paged with continue and remainingItemCount', async () => {
    const first = await get('/api/v1/pods?limit=5');
    const page = JSON.parse(first.body);
    assert.equal(page.kind, 'PodList');
    assert.equal(page.apiVersion, 'v1');
    assert.equal(page.items.length, 5);
    assert.equal(page.items[0].kind, undefined);
    assert.equal(page.metadata.remainingItemCount, 6);
    const next = JSON.parse((await get(`/api/v1/pods?limit=5&continue=${page.metadata.continue}`)).body);
    assert.equal(next.metadata.resourceVersion, page.metadata.resourceVersion, 'one consistent list');
    assert.equal(next.items.length, 5);
    const inShop = JSON.parse((await get('/apis/apps/v1/namespaces/shop/replicasets')).body);
    assert.deepEqual(
      inShop.items.map((o: { metadata: { name: string } }) => o.metadata.name),
      ['checkout-7d9f8c6b5', 'frontend-5c6d7b8f9'],
    );
  });

  test('a watch is a chunked stream of one JSON event per line', async () => {
    const rv = server.resourceVersion;
    const pending = get(
      `/api/v1/namespaces/shop/pods?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`,
      (body, done) => {
        if (body.split('\n').length >= 3) done();
      },
    );
    await new Promise((r) => setTimeout(r, 50));
    server.remove('Pod', 'shop', 'postgres-0');
    server.bookmark();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const [deleted, bookmark] = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(deleted.type, 'DELETED');
    assert.equal(deleted.object.kind, 'Pod');
    assert.equal(deleted.object.metadata.name, 'postgres-0');
    assert.ok(Number(deleted.object.metadata.resourceVersion) > Number(rv));
    assert.equal(bookmark.type, 'BOOKMARK');
    assert.deepEqual(bookmark.object.metadata, { resourceVersion: server.resourceVersion });
  });

  test('a resourceVersion older than the compaction: an ERROR event with a 410 Status, then the end', async () => {
    const old = Number(server.resourceVersion) - 1;
    server.compact();
    const res = await get(`/api/v1/pods?watch=true&resourceVersion=${old}`);
    const event = JSON.parse(res.body.trim());
    assert.equal(event.type, 'ERROR');
    assert.equal(event.object.kind, 'Status');
    assert.equal(event.object.code, 410);
    assert.equal(event.object.reason, 'Expired');
  });

  test('no token, no answer', async () => {
    const res = await get('/api/v1/pods', undefined, 'wrong');
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.body).reason, 'Unauthorized');
  });
});
