/** Who may reach the hub: loopback by default, a bearer token anywhere else (RFC 6750). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { checkExposure, HubConfigError, isLoopback, requireToken } from '../../src/hub/auth.js';

const TOKEN = 'a'.repeat(12) + 'secret-token';

async function app(token: string | undefined) {
  const a = Fastify();
  requireToken(a, token);
  a.get('/healthz', async () => 'ok');
  a.get('/api/entries', async () => ({ entries: [] }));
  a.get('/api/stream', async () => 'stream');
  a.get('/metrics', async () => '# metrics');
  await a.ready();
  return a;
}

describe('hub exposure', () => {
  test('loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'hub.example', '128.0.0.1'])
      assert.equal(isLoopback(h), false, h);
  });

  test('any other address needs a token, and the message says how to give one', () => {
    assert.doesNotThrow(() => checkExposure('127.0.0.1', undefined));
    assert.doesNotThrow(() => checkExposure('0.0.0.0', TOKEN));
    assert.throws(
      () => checkExposure('0.0.0.0', undefined),
      (e: Error) => {
        assert.ok(e instanceof HubConfigError);
        assert.match(e.message, /--token-file|PODWIRE_TOKEN/);
        return true;
      },
    );
  });

  test('a short token is refused', () => {
    assert.throws(() => checkExposure('127.0.0.1', 'short'), /at least 16 characters/);
  });
});

describe('bearer token', () => {
  test('without a token set, every route answers', async () => {
    const a = await app(undefined);
    assert.equal((await a.inject('/api/entries')).statusCode, 200);
  });

  test('with a token set: 401 with WWW-Authenticate without it, 200 with it', async () => {
    const a = await app(TOKEN);
    const none = await a.inject('/api/entries');
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer realm=/);
    assert.equal(none.json().error.code, 'hub.unauthorized');
    const wrong = await a.inject({ url: '/api/entries', headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(wrong.statusCode, 401);
    const basic = await a.inject({ url: '/metrics', headers: { authorization: `Basic ${TOKEN}` } });
    assert.equal(basic.statusCode, 401);
    const ok = await a.inject({ url: '/api/entries', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.statusCode, 200);
    const caseInsensitive = await a.inject({
      url: '/metrics',
      headers: { authorization: `bearer ${TOKEN}` },
    });
    assert.equal(caseInsensitive.statusCode, 200);
  });

  test('probes stay open; the token in the query string only for the live stream', async () => {
    const a = await app(TOKEN);
    assert.equal((await a.inject('/healthz')).statusCode, 200);
    assert.equal((await a.inject(`/api/stream?access_token=${TOKEN}`)).statusCode, 200);
    assert.equal((await a.inject(`/api/entries?access_token=${TOKEN}`)).statusCode, 401);
  });
});
