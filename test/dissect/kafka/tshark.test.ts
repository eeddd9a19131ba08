/**
 * Kafka entries against tshark on every capture of test/captures/kafka (decode-as rules from
 * _expected/decode_as.txt), per connection: the requests (API key, version, correlation id, client
 * id) in order, their topic names, the responses (correlation ids) and their error codes.
 *
 * tshark 4.0's Kafka dissector knows versions up to Kafka 2.x (Produce v8, Fetch v11, Metadata v9...).
 * On newer versions it reads the header, then marks the frame malformed, and (having failed on the
 * request) later shows that request's response as "Request missing". Those cases are handled one by
 * one below, each where it arises; nothing else is loosened.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { API_KEYS } from '../../../src/dissect/kafka/apis.js';
import { errorName } from '../../../src/dissect/kafka/errors.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const run = promisify(execFile);
const files = readdirSync(join(CAPTURES, 'kafka')).map((f) => `kafka/${f}`);
const available = await tsharkAvailable();

interface Row {
  frame: number;
  micros: number;
  sport: string;
  dport: string;
  requestKey: string;
  responseKey: string;
  version: string;
  correlationId: string;
  clientId: string;
  topics: string[];
  errors: number[];
  malformed: boolean;
}

const FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'tcp.srcport',
  'tcp.dstport',
  'kafka.request_key',
  'kafka.response_key',
  'kafka.api_version',
  'kafka.correlation_id',
  'kafka.client_id',
  'kafka.topic_name',
  'kafka.error',
  '_ws.malformed',
];

async function tsharkRows(path: string, decodeAs: string[]): Promise<Row[]> {
  const rows = await tsharkFields(path, 'kafka', FIELDS, decodeAs);
  return rows.map(([frame, time, sport, dport, rk, sk, v, corr, id, topics, errors, malformed]) => ({
    frame: Number(frame),
    micros: Math.round(Number(time) * 1e6),
    sport: sport!,
    dport: dport!,
    requestKey: rk ?? '',
    responseKey: sk ?? '',
    version: v ?? '',
    correlationId: corr ?? '',
    clientId: id ?? '',
    topics: topics ? topics.split(',') : [],
    errors: errors ? errors.split(',').map(Number) : [],
    malformed: (malformed ?? '') !== '',
  }));
}

/** The connection as both sides name it: client port > server port. */
const connOf = (e: Pick<Entry, 'src' | 'dst'>) => `${e.src.port}>${e.dst.port}`;

/** Per connection, the keys in order. */
function byConnection(pairs: [string, string][]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [conn, k] of pairs) {
    out[conn] = out[conn] ?? [];
    out[conn].push(k);
  }
  return out;
}

/** The status podwire gives for a list of error codes (top-level first, then nested, in wire order). */
function statusOf(codes: number[]): string {
  const first = codes.find((c) => c !== 0);
  return first === undefined ? 'NONE' : errorName(first);
}

function requestTopics(e: Entry): string[] {
  return ((e.request.topics as { name?: string | null }[] | undefined) ?? [])
    .map((t) => t.name)
    .filter((n): n is string => typeof n === 'string');
}

describe('Kafka entries agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const { entries, summary, connections } = await analyze(path, decodeAs);
      /**
       * A response that podwire's tracker put on a connection of its own, on which only the broker
       * spoke: it came after the idle timeout (nDPI frame 5 is 300 s after the previous one), so the
       * tracker closed the connection and opened a new one mid-stream. A response alone cannot be
       * recognised as Kafka (it holds nothing but a correlation id); tshark goes by the port.
       */
      const aloneAfterIdle = (r: Row) =>
        connections.some(
          (c) =>
            c.src.port === Number(r.dport) &&
            c.dst.port === Number(r.sport) &&
            c.start <= r.micros &&
            r.micros <= c.end &&
            c.midstream &&
            c.sent.bytes === 0 &&
            c.l7 === undefined,
        );
      const kafka = entries.filter((e) => e.protocol === 'kafka');
      const rows = await tsharkRows(path, decodeAs);
      assert.ok(rows.length > 0, 'tshark sees Kafka in the capture');

      // Requests: per connection, in order, with key, version, correlation id and client id.
      const tsRequests = rows.filter((r) => r.requestKey !== '');
      const requestKey = (k: unknown, v: unknown, c: unknown, id: unknown) => `${k} v${v} #${c} ${id}`;
      assert.deepEqual(
        byConnection(
          kafka
            .filter((e) => e.request.apiKey !== undefined)
            .map((e) => [
              connOf(e),
              requestKey(
                e.request.apiKey,
                e.request.apiVersion,
                e.request.correlationId,
                e.request.clientId ?? '',
              ),
            ]),
        ),
        byConnection(
          tsRequests.map((r) => [
            `${r.sport}>${r.dport}`,
            requestKey(r.requestKey, r.version, r.correlationId, r.clientId),
          ]),
        ),
        'requests',
      );

      // Topic names of each request tshark could read. Where tshark marked the request malformed, it
      // stopped inside the body (an API version it does not know): podwire must still have read it.
      for (const r of tsRequests) {
        const e = kafka.find(
          (x) => connOf(x) === `${r.sport}>${r.dport}` && String(x.request.correlationId) === r.correlationId,
        )!;
        if (r.malformed) {
          assert.equal(
            e.request.parseError,
            undefined,
            `frame ${r.frame}: tshark 4.0 fails on ${e.method} v${r.version}; podwire reads it`,
          );
          continue;
        }
        assert.deepEqual(requestTopics(e), r.topics, `frame ${r.frame}: topics`);
      }

      // Responses: every one tshark shows is an entry's response on the same connection.
      const withResponse = kafka.filter((e) => e.response);
      const has = (r: Row) =>
        withResponse.some(
          (x) =>
            connOf(x) === `${r.dport}>${r.sport}` && String(x.response!.correlationId) === r.correlationId,
        );
      const tsResponses = rows.filter((r) => r.requestKey === '' && (has(r) || !aloneAfterIdle(r)));
      assert.deepEqual(
        withResponse.map((e) => `${connOf(e)} #${e.response!.correlationId}`).sort(),
        tsResponses.map((r) => `${r.dport}>${r.sport} #${r.correlationId}`).sort(),
        'responses',
      );
      for (const r of tsResponses) {
        const conn = `${r.dport}>${r.sport}`;
        const e = withResponse.find(
          (x) => connOf(x) === conn && String(x.response!.correlationId) === r.correlationId,
        )!;
        if (r.responseKey === '') {
          // tshark did not pair it ("Request missing"). Either the request was not captured (podwire
          // says so too), or tshark failed on the request (a version it does not know) and dropped it.
          const request = tsRequests.find(
            (q) => `${q.sport}>${q.dport}` === conn && q.correlationId === r.correlationId,
          );
          if (request) {
            assert.ok(request.malformed, `frame ${r.frame}: tshark pairs every request it could read`);
            assert.equal(e.request.apiKey, Number(request.requestKey), `frame ${r.frame}: podwire pairs it`);
            assert.equal(e.error, null);
          } else {
            assert.equal(e.error, 'request not captured', `frame ${r.frame}`);
          }
          continue;
        }
        assert.equal(
          String(e.request.apiKey),
          r.responseKey,
          `frame ${r.frame}: paired with the same request`,
        );
        if (r.malformed) {
          // tshark 4.0 stops inside a response of a version it does not know (Metadata v12 here): its
          // error codes are partial. podwire read the whole body.
          assert.equal(e.response!.parseError, undefined, `frame ${r.frame}`);
          continue;
        }
        assert.equal(e.status, statusOf(r.errors), `frame ${r.frame}: status from error codes ${r.errors}`);
      }

      // Requests tshark shows no response for are podwire's unanswered ones, and the reverse.
      const answered = new Set(tsResponses.map((r) => `${r.dport}>${r.sport} #${r.correlationId}`));
      for (const e of kafka.filter((x) => x.request.apiKey !== undefined)) {
        const k = `${connOf(e)} #${e.request.correlationId}`;
        assert.equal(e.response !== null, answered.has(k), `${k}: answered in both or in neither`);
        if (!e.response) assert.equal(e.error, 'no response', k);
      }
      assert.equal(summary.protocols.kafka?.parseErrors ?? 0, 0, 'no parse errors');
    });
  }

  test('API names: the keys tshark 4.0 knows (0..47) have the same names', async () => {
    // `tshark -G values` prints every field's values (about 90 MB): grep keeps the ones wanted.
    const { stdout: out } = await run('sh', [
      '-c',
      'tshark -G values 2>/dev/null | grep -F kafka.request_key',
    ]);
    const theirs = new Map<number, string>();
    for (const line of out.split('\n')) {
      const [kind, field, value, name] = line.split('\t');
      if (kind === 'V' && field === 'kafka.request_key') theirs.set(Number(value), name!);
    }
    assert.ok(theirs.size >= 48);
    for (const [k, name] of theirs) {
      const ours = API_KEYS.find((a) => a.key === k)?.name;
      // tshark keeps key 2's pre-KIP-482 name; Kafka's JSON calls it ListOffsets.
      if (k === 2) assert.equal(`${name}/${ours}`, 'Offsets/ListOffsets');
      else assert.equal(ours, name, `key ${k}`);
    }
  });
});
