/**
 * Redaction on entries built in the shapes the HTTP-family dissectors give them (src/dissect/http1,
 * http2, grpc, graphql, websocket summaries): what must go, what must stay, and that an entry with
 * nothing secret comes back as itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Entry } from '../../src/dissect/entry.js';
import { DEFAULT_RULES, extendRules, redactEntry } from '../../src/redact/index.js';

const R = '[REDACTED]';

function entry(over: Partial<Entry>): Entry {
  return {
    type: 'entry',
    id: '1-1',
    protocol: 'http',
    timestamp: 1_700_000_000_000_000,
    elapsedMs: 1,
    src: { ip: '10.0.0.1', port: 40000 },
    dst: { ip: '10.0.0.2', port: 80 },
    method: 'GET',
    path: '/',
    status: 200,
    request: {},
    response: null,
    requestSize: 10,
    responseSize: 0,
    connectionId: 1,
    error: null,
    ...over,
  };
}

/** A deep copy, to show the original was not changed. */
function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('headers', () => {
  test('HTTP/1.x: Authorization, Proxy-Authorization, Cookie, Set-Cookie and API-key-like names, any case', () => {
    const e = entry({
      request: {
        httpVersion: '1.1',
        method: 'GET',
        path: '/',
        headers: {
          Host: 'shop',
          Authorization: 'Bearer eyJhbGciOi.payload.sig',
          'Proxy-Authorization': 'Basic dXNlcjpwYXNz',
          Cookie: 'session=abc; theme=dark',
          'X-Api-Key': 'k-123',
          'X-Auth-Token': 't-456',
          'x-amz-security-token': 'FwoGZXIvYXdz',
          'Private-Token': 'glpat-xyz',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'X-Max-Tokens': '100',
          Accept: '*/*',
        },
        bodySize: 0,
      },
      response: {
        httpVersion: '1.1',
        status: 200,
        statusText: 'OK',
        headers: { 'Set-Cookie': 'session=new; HttpOnly', 'Content-Type': 'text/plain' },
        bodySize: 0,
      },
    });
    const before = clone(e);
    const out = redactEntry(e);
    assert.deepEqual(e, before, 'the argument is not changed');
    assert.deepEqual(out.request.headers, {
      Host: 'shop',
      Authorization: R,
      'Proxy-Authorization': R,
      Cookie: R,
      'X-Api-Key': R,
      'X-Auth-Token': R,
      'x-amz-security-token': R,
      'Private-Token': R,
      // A WebSocket handshake nonce (RFC 6455 §4.1), not a credential; `tokens` is not the word `token`.
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'X-Max-Tokens': '100',
      Accept: '*/*',
    });
    assert.deepEqual(out.response?.headers, { 'Set-Cookie': R, 'Content-Type': 'text/plain' });
  });

  test('HTTP/2 and gRPC: lower-case names, trailers, metadata', () => {
    const e = entry({
      protocol: 'grpc',
      method: 'POST',
      path: '/shop.Cart/Add',
      request: {
        httpVersion: '2',
        headers: { authorization: 'aDummyToken', 'content-type': 'application/grpc', 'x-api-key': 'k' },
        trailers: { 'x-session-token': 's' },
        messages: [
          { compressed: false, length: 4, json: { item: 'book', auth: { password: 'p', user: 'u' } } },
        ],
      },
      response: {
        httpVersion: '2',
        headers: { 'content-type': 'application/grpc', 'set-cookie': 'a=b' },
        trailers: { 'grpc-status': '0' },
        messages: [{ compressed: false, length: 2, protobuf: [{ field: 1, value: 'x' }] }],
      },
    });
    const out = redactEntry(e);
    assert.deepEqual(out.request.headers, {
      authorization: R,
      'content-type': 'application/grpc',
      'x-api-key': R,
    });
    assert.deepEqual(out.request.trailers, { 'x-session-token': R });
    assert.deepEqual(out.request.messages, [
      { compressed: false, length: 4, json: { item: 'book', auth: { password: R, user: 'u' } } },
    ]);
    assert.deepEqual(out.response?.headers, { 'content-type': 'application/grpc', 'set-cookie': R });
    assert.equal(out.response?.messages, e.response?.messages, 'unchanged parts are shared, not copied');
    assert.equal(out.response?.trailers, e.response?.trailers);
  });

  test('URLs in Location and Referer; Kubernetes WebSocket bearer subprotocol; 1xx headers', () => {
    const e = entry({
      request: {
        headers: {
          Referer: 'https://app/cb?code=x&state=y&access_token=T1',
          'Sec-WebSocket-Protocol': 'base64url.bearer.authorization.k8s.io.ZXlKaGJH, v4.channel.k8s.io',
        },
      },
      response: {
        status: 302,
        headers: { Location: 'https://app/#access_token=T2&token_type=Bearer&expires_in=3600' },
        informational: [{ status: 103, statusText: 'Early Hints', headers: { 'Set-Cookie': 'x=y' } }],
      },
    });
    const out = redactEntry(e);
    assert.deepEqual(out.request.headers, {
      Referer: `https://app/cb?code=x&state=y&access_token=${R}`,
      'Sec-WebSocket-Protocol': `base64url.bearer.authorization.k8s.io.${R}, v4.channel.k8s.io`,
    });
    assert.deepEqual(out.response?.headers, {
      Location: `https://app/#access_token=${R}&token_type=${R}&expires_in=3600`,
    });
    assert.deepEqual(out.response?.informational, [
      { status: 103, statusText: 'Early Hints', headers: { 'Set-Cookie': R } },
    ]);
  });
});

describe('query strings', () => {
  const cases: [string, string][] = [
    ['/login?user=ann&password=hunter2', `/login?user=ann&password=${R}`],
    ['/api?access_token=abc&page=2', `/api?access_token=${R}&page=2`],
    ['/maps?key=AIzaSy&q=berlin', `/maps?key=${R}&q=berlin`],
    ['/blob?sv=2021&sig=abc%2Bdef&se=2030', `/blob?sv=2021&sig=${R}&se=2030`],
    [
      '/s3?X-Amz-Credential=AKIA%2F2024&X-Amz-Signature=beef',
      `/s3?X-Amz-Credential=${R}&X-Amz-Signature=${R}`,
    ],
    ['/x?api%5Fkey=1&apiKey=2&API-KEY=3', `/x?api%5Fkey=${R}&apiKey=${R}&API-KEY=${R}`],
    ['/x?client_secret=s#frag', `/x?client_secret=${R}#frag`],
    ['/x?max_tokens=5&tokenizer=bpe&token', '/x?max_tokens=5&tokenizer=bpe&token'],
    ['http://bob:s3cret@proxy.example/a?b=c', `http://bob:${R}@proxy.example/a?b=c`],
    ['/plain/path', '/plain/path'],
    ['/odd?%E0%A4%A=1&password', '/odd?%E0%A4%A=1&password'],
  ];
  for (const [path, want] of cases)
    test(path, () => {
      const e = entry({ path, request: { httpVersion: '1.1', path, headers: {} } });
      const out = redactEntry(e);
      assert.equal(out.path, want);
      assert.equal(out.request.path, want);
      if (want === path) assert.equal(out, e, 'nothing secret: the same entry back');
    });

  test('a WebSocket entry: the upgrade path', () => {
    const e = entry({
      protocol: 'websocket',
      method: 'text',
      path: '/ws?token=abc',
      request: { payload: 'hi', payloadEncoding: 'utf8' },
    });
    assert.equal(redactEntry(e).path, `/ws?token=${R}`);
  });

  test('request.query, as a string or as parsed parameters', () => {
    const out = redactEntry(entry({ request: { query: 'a=1&password=2' } }));
    assert.equal(out.request.query, `a=1&password=${R}`);
    const out2 = redactEntry(entry({ request: { query: { a: '1', refresh_token: 'x' } } }));
    assert.deepEqual(out2.request.query, { a: '1', refresh_token: R });
  });
});

describe('bodies', () => {
  test('JSON at any depth, any value type, formatting kept', () => {
    const body = `{
  "user": "ann",
  "password": "hu\\"nter2",
  "profile": {"api_key": 12345, "tags": ["a", {"secret": {"x": [1, 2]}}], "clientSecret": null},
  "access_token": true,
  "max_tokens": 7
}`;
    const e = entry({
      method: 'POST',
      request: {
        headers: { 'Content-Type': 'application/json' },
        body,
        bodyEncoding: 'utf8',
        bodySize: body.length,
      },
    });
    const out = redactEntry(e);
    assert.equal(
      out.request.body,
      `{
  "user": "ann",
  "password": "${R}",
  "profile": {"api_key": "${R}", "tags": ["a", {"secret": "${R}"}], "clientSecret": "${R}"},
  "access_token": "${R}",
  "max_tokens": 7
}`,
    );
    assert.deepEqual(JSON.parse(out.request.body as string).profile.tags, ['a', { secret: R }]);
  });

  test('JSON cut at the capture cap: redacted up to where it stops', () => {
    const body = '{"items":[{"id":1,"token":"abcdef"},{"id":2,"password":"xy';
    const e = entry({
      request: {
        headers: { 'content-type': 'application/json' },
        body,
        bodyEncoding: 'utf8',
        bodyTruncated: true,
      },
    });
    assert.equal(redactEntry(e).request.body, `{"items":[{"id":1,"token":"${R}"},{"id":2,"password":"${R}"`);
  });

  test('HTTP/2 body objects, JSON without a JSON content type, responses', () => {
    const e = entry({
      request: {
        httpVersion: '2',
        headers: {},
        body: {
          size: 20,
          mimeType: 'text/plain',
          encoding: 'utf8',
          text: ' [{"pwd":"1"}]',
          truncated: false,
        },
      },
      response: {
        httpVersion: '2',
        headers: {},
        body: {
          size: 40,
          mimeType: 'application/json',
          encoding: 'utf8',
          text: '{"id_token":"a","expires_in":3600}',
          truncated: false,
        },
      },
    });
    const out = redactEntry(e);
    assert.equal((out.request.body as { text: string }).text, ` [{"pwd":"${R}"}]`);
    const respBody = out.response!.body as { text: string; size: number };
    assert.equal(respBody.text, `{"id_token":"${R}","expires_in":3600}`);
    assert.equal(respBody.size, 40);
  });

  test('base64 (binary) bodies are left alone', () => {
    const e = entry({ request: { headers: {}, body: 'eyJwYXNzd29yZCI6IngifQ==', bodyEncoding: 'base64' } });
    assert.equal(redactEntry(e), e);
  });

  test('form bodies: urlencoded and multipart', () => {
    const form = entry({
      method: 'POST',
      request: {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password&username=ann&password=p%40ss&client_secret=cs',
        bodyEncoding: 'utf8',
      },
    });
    assert.equal(
      redactEntry(form).request.body,
      `grant_type=password&username=ann&password=${R}&client_secret=${R}`,
    );
    const multipart = [
      '--XyZ',
      'Content-Disposition: form-data; name="user"',
      '',
      'ann',
      '--XyZ',
      'Content-Disposition: form-data; name="password"',
      'Content-Type: text/plain',
      '',
      'hunter2',
      '--XyZ--',
      '',
    ].join('\r\n');
    const mp = entry({
      request: {
        headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' },
        body: multipart,
        bodyEncoding: 'utf8',
      },
    });
    assert.equal(redactEntry(mp).request.body, multipart.replace('hunter2', R));
  });

  test('WebSocket text payloads that are JSON (graphql-ws connection_init)', () => {
    const e = entry({
      protocol: 'websocket',
      method: 'text',
      request: {
        payload: '{"type":"connection_init","payload":{"Authorization":"Bearer x"}}',
        payloadEncoding: 'utf8',
      },
    });
    assert.equal(
      redactEntry(e).request.payload,
      `{"type":"connection_init","payload":{"Authorization":"${R}"}}`,
    );
  });
});

describe('GraphQL', () => {
  test('variables, inline argument literals, the POST body and the response data', () => {
    const query =
      'mutation Login($u: String!) { login(user: $u, password: "hunter2", otp: 123456) { token user { id } } }';
    const body = JSON.stringify({
      query,
      operationName: 'Login',
      variables: { u: 'ann', input: { newPassword: 'x' } },
    });
    const e = entry({
      protocol: 'graphql',
      method: 'mutation',
      path: 'Login',
      request: {
        httpVersion: '1.1',
        path: '/graphql',
        headers: { 'Content-Type': 'application/json' },
        body,
        bodyEncoding: 'utf8',
        graphql: {
          transport: 'post-json',
          batched: false,
          operations: [
            { type: 'mutation', name: 'Login', query, variables: { u: 'ann', input: { newPassword: 'x' } } },
          ],
        },
      },
      response: {
        headers: { 'Content-Type': 'application/json' },
        body: '{"data":{"login":{"token":"jwt.x.y","user":{"id":"7"}}}}',
        bodyEncoding: 'utf8',
        graphql: { data: { login: { token: 'jwt.x.y', user: { id: '7' } } } },
        errors: [],
      },
    });
    const out = redactEntry(e);
    const wantQuery = `mutation Login($u: String!) { login(user: $u, password: "${R}", otp: "${R}") { token user { id } } }`;
    const op = (out.request.graphql as { operations: { query: string; variables: unknown }[] })
      .operations[0]!;
    assert.equal(op.query, wantQuery);
    assert.deepEqual(op.variables, { u: 'ann', input: { newPassword: R } });
    assert.deepEqual(JSON.parse(out.request.body as string), {
      query: wantQuery,
      operationName: 'Login',
      variables: { u: 'ann', input: { newPassword: R } },
    });
    assert.deepEqual(out.response?.graphql, { data: { login: { token: R, user: { id: '7' } } } });
    assert.deepEqual(JSON.parse(out.response?.body as string), {
      data: { login: { token: R, user: { id: '7' } } },
    });
  });

  test('GET: query and variables in the query string', () => {
    const q = new URLSearchParams({
      query: '{ me(apiKey: "k1") { id } }',
      variables: '{"secret":"s","n":1}',
    }).toString();
    const e = entry({
      protocol: 'graphql',
      method: 'query',
      path: `/graphql?${q}`,
      request: { path: `/graphql?${q}`, headers: {} },
    });
    const out = redactEntry(e);
    const params = new URLSearchParams(out.path.slice(out.path.indexOf('?') + 1));
    assert.equal(params.get('query'), `{ me(apiKey: "${R}") { id } }`);
    assert.deepEqual(JSON.parse(params.get('variables')!), { secret: R, n: 1 });
  });

  test('variables bound to secret arguments, whatever they are called: GET and batched POST', () => {
    const q = new URLSearchParams({
      query: 'query Q($k: String, $n: Int) { me(apiKey: $k, first: $n) { id } }',
      variables: '{"k":"key-1","n":3}',
    }).toString();
    const get = redactEntry(entry({ protocol: 'graphql', path: `/graphql?${q}`, request: { headers: {} } }));
    const params = new URLSearchParams(get.path.slice(get.path.indexOf('?') + 1));
    assert.deepEqual(JSON.parse(params.get('variables')!), { k: R, n: 3 });
    const batch = JSON.stringify([
      {
        query: 'mutation A($p: String!) { a(input: {user: "u", password: $p}) { ok } }',
        variables: { p: 'x1' },
      },
      { query: 'query B($p: String!) { b(name: $p) { ok } }', variables: { p: 'kept' } },
    ]);
    const post = redactEntry(
      entry({
        protocol: 'graphql',
        request: { headers: { 'content-type': 'application/json' }, body: batch, bodyEncoding: 'utf8' },
      }),
    );
    assert.deepEqual(
      (JSON.parse(post.request.body as string) as { variables: unknown }[]).map((o) => o.variables),
      [{ p: R }, { p: 'kept' }],
    );
  });

  test('block strings and application/graphql bodies', () => {
    const doc = 'mutation { setSecret(secret: """multi\nline""") { ok } }';
    const e = entry({
      protocol: 'graphql',
      request: { headers: { 'content-type': 'application/graphql' }, body: doc, bodyEncoding: 'utf8' },
    });
    assert.equal(redactEntry(e).request.body, `mutation { setSecret(secret: "${R}") { ok } }`);
  });
});

describe('what is left alone', () => {
  test('entries of protocols whose dissectors drop their own secrets', () => {
    for (const protocol of [
      'redis',
      'postgres',
      'mysql',
      'mqtt',
      'amqp',
      'nats',
      'dns',
      'tls',
      'kafka',
    ] as const) {
      const e = entry({ protocol, request: { headers: { Authorization: 'x' }, query: 'password=1' } });
      assert.equal(redactEntry(e), e, protocol);
    }
  });

  test('an HTTP entry with nothing secret comes back as itself', () => {
    const e = entry({
      request: {
        httpVersion: '1.1',
        path: '/a?b=c',
        headers: { Host: 'h', Accept: '*/*' },
        body: '{"a":[1,{"b":"c"}]}',
        bodyEncoding: 'utf8',
      },
      response: {
        headers: { 'Content-Type': 'application/json' },
        body: '{"ok":true}',
        bodyEncoding: 'utf8',
      },
    });
    assert.equal(redactEntry(e), e);
  });

  test('never throws and never changes its argument, on random JSON bodies and paths', () => {
    fc.assert(
      fc.property(jsonText, fc.string(), fc.webPath(), (json, text, path) => {
        for (const body of [json, text, json.slice(0, Math.floor(json.length / 2))]) {
          const e = entry({
            path,
            request: { headers: { 'content-type': 'application/json' }, body, bodyEncoding: 'utf8' },
          });
          const before = clone(e);
          const out = redactEntry(e);
          assert.deepEqual(e, before);
          if (body === json) {
            // Whole JSON stays JSON, and no secret key keeps its value.
            const parsed = JSON.parse(out.request.body as string);
            assert.deepEqual(parsed, redactedReference(JSON.parse(json)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

const key = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    'password',
    'api_key',
    'accessToken',
    'max_tokens',
    'Set-Cookie',
    'tokenizer',
    'user',
    'Secret Key',
    'a"b',
  ),
);
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 6 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));
/** JSON text with secret and harmless keys at any depth, compact or indented. */
const jsonText = fc
  .tuple(jsonValue, fc.constantFrom(undefined, 2, '\t'))
  .map(([v, indent]) => JSON.stringify(v, null, indent));

/** An independent reference for whole JSON: every key the default words or keys name, replaced. */
function redactedReference(v: unknown): unknown {
  const secret = (k: string): boolean => {
    const words = k
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
    const joined = words.join('');
    if (['authorization', 'cookie', 'setcookie', 'jwt'].includes(joined)) return true;
    const targets = [
      'password',
      'passwd',
      'pwd',
      'passphrase',
      'secret',
      'token',
      'apikey',
      'privatekey',
      'credential',
      'credentials',
      'otp',
    ];
    for (let i = 0; i < words.length; i++) {
      let run = '';
      for (let j = i; j < words.length; j++) {
        run += words[j];
        if (targets.includes(run)) return true;
      }
    }
    return false;
  };
  if (Array.isArray(v)) return v.map(redactedReference);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, secret(k) ? R : redactedReference(x)]));
  return v;
}

describe('rules', () => {
  test('extendRules adds names; the defaults stay as they were', () => {
    const rules = extendRules({
      headers: ['X-Tenant'],
      jsonKeys: ['ssn'],
      queryParams: ['code'],
      words: ['pin'],
      replacement: '***',
    });
    const e = entry({
      path: '/cb?code=abc&state=1',
      request: {
        headers: { 'x-tenant': 't', 'X-Pin-Code': '1234' },
        body: '{"ssn":"123","cardPin":"9"}',
        bodyEncoding: 'utf8',
      },
    });
    const out = redactEntry(e, rules);
    assert.equal(out.path, '/cb?code=***&state=1');
    assert.deepEqual(out.request.headers, { 'x-tenant': '***', 'X-Pin-Code': '***' });
    assert.equal(out.request.body, '{"ssn":"***","cardPin":"***"}');
    assert.equal(redactEntry(e), e, 'the default rules do not know these names');
    assert.ok(!DEFAULT_RULES.headers.includes('X-Tenant'));
  });

  test('a name with no letter or digit is refused with a message naming it', () => {
    assert.throws(() => extendRules({ jsonKeys: ['--'] }), /jsonKeys entry "--" has no letter or digit/);
    assert.throws(() => extendRules({ headers: [''] }), /headers entry ""/);
  });
});
