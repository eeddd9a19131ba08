/**
 * Redaction on entries the real dissectors made of real captures (test/captures, INDEX.md), with
 * the secrets read independently by tshark: HTTP/1.1 cookies, gRPC `authorization` metadata over
 * HTTP/2, the cookie of a WebSocket upgrade; GraphQL from wire bytes through the HTTP/1.1
 * dissector. And the protocols that drop their own secrets (MQTT, MySQL, AMQP, PostgreSQL): tshark shows
 * the secret on the wire, podwire's entries must not hold it, before any redaction.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Entry } from '../../src/dissect/entry.js';
import { http1Dissector } from '../../src/dissect/http1/index.js';
import { redactEntry } from '../../src/redact/index.js';
import { bytes, run } from '../dissect/http1/harness.js';
import { tsharkAvailable, tsharkFields } from '../reference/tshark.js';
import { analyze, decodeAsFor } from '../support/analyze.js';
import { CAPTURES } from '../support/paths.js';

const R = '[REDACTED]';

async function entriesOf(rel: string): Promise<Entry[]> {
  return (await analyze(join(CAPTURES, rel), decodeAsFor(rel))).entries;
}

/** Every string anywhere in a value. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) strings(x, out);
  return out;
}

function headerValues(entries: Entry[], side: 'request' | 'response', name: string): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const h = (e[side] as { headers?: Record<string, string> } | null)?.headers ?? {};
    for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) out.push(v);
  }
  return out;
}

let haveTshark = false;
before(async () => {
  haveTshark = await tsharkAvailable();
});

describe('HTTP-family captures', () => {
  const cases: { rel: string; header: string; field: string; decodeAs?: string[] }[] = [
    { rel: 'http1/zeek__pipelined-requests.pcap', header: 'cookie', field: 'http.cookie' },
    { rel: 'websocket/zeek__jupyter-websocket.pcap', header: 'cookie', field: 'http.cookie' },
    { rel: 'websocket/suricata-verify__basic_websockets.pcap', header: 'cookie', field: 'http.cookie' },
    {
      rel: 'grpc/gRPC-Go-for-Professionals__Unary.pcapng',
      header: 'authorization',
      field: 'http2.headers.authorization',
    },
  ];
  for (const c of cases)
    test(`${c.rel}: ${c.header} (tshark's ${c.field}) is gone, the rest is as it was`, async (t) => {
      if (!haveTshark) return t.skip('tshark is not installed');
      const rows = await tsharkFields(join(CAPTURES, c.rel), c.field, [c.field], decodeAsFor(c.rel));
      const secrets = [...new Set(rows.map((r) => r[0]!).filter(Boolean))];
      assert.ok(secrets.length > 0, 'tshark sees the secret on the wire');
      const entries = await entriesOf(c.rel);
      // The dissector keeps it (so the test is not vacuous) ...
      const kept = headerValues(entries, 'request', c.header);
      for (const s of secrets) assert.ok(kept.includes(s), `the dissector kept ${s.slice(0, 20)}...`);
      const redacted = entries.map((e) => redactEntry(e));
      // ... and redaction removes every copy, wherever it was.
      for (const s of secrets)
        for (const e of redacted)
          assert.ok(
            !JSON.stringify(e).includes(JSON.stringify(s).slice(1, -1)),
            `${e.id} still holds the secret`,
          );
      assert.ok(headerValues(redacted, 'request', c.header).every((v) => v === R));
      // Nothing else changed: put the secret back and the entries are the originals.
      for (const [i, e] of redacted.entries()) {
        const orig = entries[i]!;
        if (e === orig) continue;
        const h = { ...(e.request.headers as Record<string, string>) };
        for (const k of Object.keys(h))
          if (k.toLowerCase() === c.header) h[k] = (orig.request.headers as Record<string, string>)[k]!;
        assert.deepEqual({ ...e, request: { ...e.request, headers: h } }, orig);
      }
    });

  test('entries with nothing secret come back as themselves (the same object, nothing copied)', async () => {
    for (const rel of [
      'http1/zeek__http-post-large.pcap',
      'http1/zeek__bro.org.pcap',
      'http2/suricata-verify__http2-keywords.pcap',
      'grpc/deepflow__grpc-unary.pcap',
    ]) {
      const entries = await entriesOf(rel);
      assert.ok(entries.length > 0, rel);
      for (const e of entries) assert.equal(redactEntry(e), e, `${rel} ${e.id}`);
    }
  });
});

describe('GraphQL through the HTTP/1.1 dissector', () => {
  test('a login mutation and its token in the response', () => {
    const body = JSON.stringify({
      query: 'mutation Login($pw: String!) { login(email: "a@b.c", password: $pw) { accessToken } }',
      operationName: 'Login',
      variables: { pw: 'hunter2-secret', password: 'hunter2-secret' },
    });
    const resp = '{"data":{"login":{"accessToken":"eyJ.secret.token"}}}';
    const ctx = run(http1Dissector, [
      {
        dir: 0,
        ts: 1_000,
        data: bytes(
          `POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nAuthorization: Bearer eyJ.secret.token\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ),
      },
      {
        dir: 1,
        ts: 2_000,
        data: bytes(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${resp.length}\r\n\r\n${resp}`,
        ),
      },
    ]);
    const [emitted] = ctx.entries;
    assert.equal(emitted?.protocol, 'graphql');
    const e: Entry = { type: 'entry', connectionId: 1, ...emitted! };
    assert.ok(JSON.stringify(e).includes('hunter2-secret') && JSON.stringify(e).includes('eyJ.secret.token'));
    const out = redactEntry(e);
    const text = JSON.stringify(out);
    assert.ok(!text.includes('hunter2-secret'), 'variables');
    assert.ok(!text.includes('eyJ.secret.token'), 'Authorization and the response token');
    // The variable the password is passed through is a name, not a value: it stays.
    assert.match(
      String((out.request.graphql as { operations: { query: string }[] }).operations[0]!.query),
      /password: \$pw/,
    );
    assert.equal(out.method, 'mutation');
    assert.equal(out.path, 'Login');
  });
});

describe('protocols that drop their own secrets', () => {
  test('MQTT CONNECT password (suricata-verify mqtt311-sub-userpass)', async (t) => {
    if (!haveTshark) return t.skip('tshark is not installed');
    const rel = 'mqtt/suricata-verify__mqtt311-sub-userpass.pcap';
    const [[user, password]] = (await tsharkFields(join(CAPTURES, rel), 'mqtt.passwd', [
      'mqtt.username',
      'mqtt.passwd',
    ])) as [[string, string]];
    const entries = await entriesOf(rel);
    const all = strings(entries);
    assert.ok(all.includes(user), 'the user name is kept');
    assert.ok(!all.includes(password), 'the password is not');
  });

  test('MySQL auth responses (zeek caching_sha2_password, zeek mysql)', async (t) => {
    if (!haveTshark) return t.skip('tshark is not installed');
    for (const rel of ['mysql/zeek__caching_sha2_password.pcap', 'mysql/zeek__mysql.pcap']) {
      const rows = await tsharkFields(join(CAPTURES, rel), 'mysql.passwd', ['mysql.user', 'mysql.passwd']);
      assert.ok(rows.length > 0, rel);
      const entries = await entriesOf(rel);
      const all = strings(entries);
      const text = JSON.stringify(entries);
      for (const [user, passwd] of rows) {
        assert.ok(all.includes(user!), `${rel}: the user ${user} is kept`);
        const raw = Buffer.from(passwd!, 'hex');
        for (const form of [passwd!, raw.toString('base64'), raw.toString('latin1')])
          assert.ok(!text.includes(JSON.stringify(form).slice(1, -1)), `${rel}: the auth response appears`);
      }
    }
  });

  test('AMQP SASL PLAIN response (deepflow amqp1)', async (t) => {
    if (!haveTshark) return t.skip('tshark is not installed');
    const rel = 'amqp/deepflow__amqp1.pcap';
    const rows = await tsharkFields(join(CAPTURES, rel), 'amqp.method.method == 11', [
      'amqp.method.arguments.response',
    ]);
    const raw = Buffer.from(rows[0]![0]!, 'hex'); // \0user\0password (RFC 4616)
    const text = JSON.stringify(await entriesOf(rel));
    for (const form of [raw.toString('latin1'), raw.toString('hex'), raw.toString('base64')])
      assert.ok(!text.includes(JSON.stringify(form).slice(1, -1)), `the response appears as ${form}`);
  });

  test('PostgreSQL SCRAM messages (zeek psql-login)', async (t) => {
    if (!haveTshark) return t.skip('tshark is not installed');
    const rel = 'postgresql/zeek__psql-login.pcap';
    const rows = await tsharkFields(join(CAPTURES, rel), 'pgsql.auth.sasl.data', ['pgsql.auth.sasl.data']);
    const messages = rows.map((r) => Buffer.from(r[0]!, 'hex').toString('latin1'));
    const proof = messages.find((m) => m.includes(',p='));
    assert.ok(proof, 'tshark shows the client proof');
    const text = JSON.stringify(await entriesOf(rel));
    for (const m of messages)
      for (const part of m.split(',')) if (part.length > 8) assert.ok(!text.includes(part), part);
  });
});
