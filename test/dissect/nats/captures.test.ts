/**
 * NATS entries on every capture of test/captures/nats against the verb counts INDEX.md gives for
 * each (tshark has no NATS dissector; the corpus counted the verbs in the raw bytes). Each protocol
 * message is one entry, except +OK, -ERR and PONG, which complete the entry they answer: the counts
 * are rebuilt from the entries' method and response.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const files = readdirSync(join(CAPTURES, 'nats')).map((f) => `nats/${f}`);

/** `- `nats/F` | ... | NATS verbs (...): +OK×1 -ERR×1 CONNECT×1 ...` */
function indexCounts(): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const line of readFileSync(join(CAPTURES, 'INDEX.md'), 'utf8').split('\n')) {
    const m = /^- `(nats\/[^`]+)`.*NATS verbs[^:]*:(.*)$/.exec(line);
    if (!m) continue;
    const counts: Record<string, number> = {};
    for (const [, verb, n] of m[2]!.matchAll(/([+-]?[A-Z]+)×(\d+)/g)) counts[verb!] = Number(n);
    out.set(m[1]!, counts);
  }
  return out;
}

const VERBS = [
  'INFO',
  'CONNECT',
  'PUB',
  'HPUB',
  'SUB',
  'UNSUB',
  'MSG',
  'HMSG',
  'PING',
  'PONG',
  '+OK',
  '-ERR',
];

function ourCounts(entries: Entry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (v: string) => {
    if (VERBS.includes(v)) counts[v] = (counts[v] ?? 0) + 1;
  };
  for (const e of entries) {
    add(e.method);
    // The answer (+OK, -ERR, PONG), unless the entry is a lone +OK or -ERR (method and answer alike).
    const answer = e.response?.verb;
    if (typeof answer === 'string' && answer !== e.method) add(answer);
  }
  return counts;
}

describe('NATS entries against the verb counts of INDEX.md', () => {
  const expected = indexCounts();

  test('INDEX.md lists every NATS capture', () => {
    assert.deepEqual([...expected.keys()].sort(), [...files].sort());
  });

  for (const file of files) {
    test(file, async () => {
      const { entries, summary } = await analyze(join(CAPTURES, file));
      const nats = entries.filter((e) => e.protocol === 'nats');
      assert.deepEqual(ourCounts(nats), expected.get(file));
      assert.deepEqual(
        nats.filter((e) => e.error !== null).map((e) => `${e.method}: ${e.error}`),
        [],
      );
      // The client in nats-err sends "DEADBEEF", an operation NATS does not have: the server answers
      // -ERR 'Unknown Protocol Operation', and podwire counts the violation.
      const unknown = file === 'nats/deepflow__nats-err.pcap' ? 1 : 0;
      assert.equal(summary.protocols.nats?.parseErrors ?? 0, unknown);
      for (const e of nats) {
        // Server to client: INFO, MSG, HMSG, and PINGs the server sent.
        const fromServer = e.src.port === 4222;
        assert.equal(
          fromServer,
          ['INFO', 'MSG', 'HMSG'].includes(e.method) || (e.method === 'PING' && fromServer),
        );
        assert.ok(e.requestSize > 0);
      }
    });
  }

  test('nats-err: the unknown operation carries the server`s -ERR', async () => {
    const { entries } = await analyze(join(CAPTURES, 'nats/deepflow__nats-err.pcap'));
    const bad = entries.find((e) => e.method === 'DEADBEEF');
    assert.ok(bad);
    assert.equal(bad.status, '-ERR');
    assert.deepEqual(bad.response, { verb: '-ERR', error: 'Unknown Protocol Operation' });
    // Verbose CONNECT: +OK; "CONNECT {\"verbose\":true,...}" (166 bytes) -> "+OK\r\n"
    const connect = entries.find((e) => e.method === 'CONNECT')!;
    assert.equal(connect.status, '+OK');
    assert.equal(connect.requestSize, 166);
    assert.equal(connect.responseSize, 5);
    assert.equal((connect.request.options as Record<string, unknown>).lang, 'go');
  });

  test('nats-headers: HPUB/HMSG headers and payload sizes, as in the bytes', async () => {
    const { entries } = await analyze(join(CAPTURES, 'nats/deepflow__nats-headers.pcap'));
    // "HPUB FRONT.DOOR JOKE.22 45 56\r\nNATS/1.0\r\nBREAKFAST: donut\r\nLUNCH: burger\r\n\r\nKnock Knock\r\n"
    const hpub = entries.find((e) => e.method === 'HPUB' && e.path === 'FRONT.DOOR')!;
    assert.deepEqual(hpub.request, {
      subject: 'FRONT.DOOR',
      replyTo: 'JOKE.22',
      headerSize: 45,
      totalSize: 56,
      headers: { version: '1.0', headers: { BREAKFAST: 'donut', LUNCH: 'burger' } },
      payloadSize: 11,
      payload: 'Knock Knock',
    });
    assert.equal(hpub.status, '+OK');
    assert.equal(hpub.requestSize, 'HPUB FRONT.DOOR JOKE.22 45 56\r\n'.length + 56 + 2);
    // "HMSG FRONT.DOOR bob JOKE.22 45 56\r\n..."
    const hmsg = entries.find((e) => e.method === 'HMSG' && e.path === 'FRONT.DOOR')!;
    assert.equal(hmsg.request.sid, 'bob');
    assert.equal(hmsg.request.replyTo, 'JOKE.22');
    assert.equal(hmsg.src.port, 4222);
    // "UNSUB alice 3": the subject is the one SUB gave sid alice.
    const unsub = entries.find((e) => e.method === 'UNSUB' && e.request.sid === 'alice')!;
    assert.equal(unsub.path, 'FOO');
    assert.equal(unsub.request.maxMsgs, 3);
  });
});
