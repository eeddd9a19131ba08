/**
 * Bodies are kept as views of the chunk being read and copied only when they outlive the call
 * (BodyCollector.add / secure): a response that comes while its request is still being sent, and a
 * GraphQL request whose entry waits for its response, must show their bytes as sent although the
 * harness overwrites every chunk after the call. And without detail (SessionContext.detail) the
 * entries are the same but for request and response, GraphQL still told apart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NO_DETAIL, type TcpDissector } from '../../../src/dissect/dissector.js';
import { http1Dissector } from '../../../src/dissect/http1/index.js';
import { ascii, FakeContext, run, type Wire } from './harness.js';

const GRAPHQL = '{"query":"query Shop { items { id } }"}';

const CONVO: Wire[] = [
  { dir: 0, ts: 10, data: ascii('POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello') },
  // The server answers before the request's body is all sent (RFC 9110 §15: it may).
  {
    dir: 1,
    ts: 20,
    data: ascii('HTTP/1.1 413 Too Large\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nsorry'),
  },
  { dir: 0, ts: 30, data: ascii('world') },
  {
    dir: 0,
    ts: 40,
    data: ascii(
      `POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${GRAPHQL.length}\r\n\r\n${GRAPHQL}`,
    ),
  },
  {
    dir: 1,
    ts: 50,
    data: ascii(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{"data":{"items":[]}}',
    ),
  },
];

/** A context whose sessions are told that no one reads request and response. */
class LeanContext extends FakeContext {
  get detail(): boolean {
    return false;
  }
}

function runLean(first: TcpDissector, convo: Wire[]): FakeContext {
  const ctx = new LeanContext(first);
  for (const w of convo) {
    const piece = w.data.slice();
    ctx.session.onData(w.dir, piece, w.ts);
    piece.fill(0xee);
  }
  ctx.session.onClose(convo[convo.length - 1]!.ts);
  return ctx;
}

describe('HTTP/1 bodies and detail', () => {
  test('bodies that outlive the call that brought them are copied, not read from reused buffers', () => {
    const ctx = run(http1Dissector, CONVO);
    assert.deepEqual(ctx.errors, []);
    const [upload, gql] = ctx.entries;
    assert.equal(upload?.status, 413);
    assert.equal(upload?.request.body, 'helloworld');
    assert.equal(upload?.response?.body, 'sorry');
    assert.equal(gql?.protocol, 'graphql');
    assert.equal(gql?.request.body, GRAPHQL);
    assert.equal(gql?.response?.body, '{"data":{"items":[]}}');
  });

  test('without detail: the same entries but for request and response', () => {
    const full = run(http1Dissector, CONVO);
    const lean = runLean(http1Dissector, CONVO);
    assert.equal(lean.entries.length, full.entries.length);
    lean.entries.forEach((e, i) => {
      assert.equal(e.request, NO_DETAIL);
      assert.equal(e.response, NO_DETAIL);
      assert.deepEqual(
        { ...e, request: null, response: null },
        { ...full.entries[i], request: null, response: null },
      );
    });
    assert.equal(lean.entries[1]?.protocol, 'graphql', 'GraphQL is still told apart');
    assert.equal(lean.entries[1]?.method, 'query');
    assert.equal(lean.entries[1]?.path, 'Shop');
  });
});
