/**
 * HTTP/1.x entries against tshark on every capture of test/captures/http1 (and the HTTP handshakes
 * of test/captures/websocket): the same requests (method and URI, per connection), the same
 * response codes, the same request/response pairs (tshark's http.request_in), and the same body
 * sizes where tshark gives a Content-Length.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const files = [
  ...readdirSync(join(CAPTURES, 'http1')).map((f) => `http1/${f}`),
  ...readdirSync(join(CAPTURES, 'websocket'))
    .filter((f) => !f.startsWith('nDPI'))
    .map((f) => `websocket/${f}`),
];

const available = await tsharkAvailable();

function counts(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

function sorted(keys: string[]): string[] {
  return [...keys].sort();
}

/**
 * `ours` must hold everything tshark found; what it holds beyond that must be explained by `why`
 * (tshark 4.0 drops a response whose body had a hole in the capture; podwire keeps it, marked).
 */
function covers(ours: { key: string; gap: boolean }[], theirs: string[], what: string): void {
  const have = counts(ours.map((o) => o.key));
  const missing = [...counts(theirs)].filter(([k, n]) => (have.get(k) ?? 0) < n).map(([k]) => k);
  assert.deepEqual(missing, [], `${what}: tshark's, missing in podwire`);
  const want = counts(theirs);
  const extra: string[] = [];
  // Entries marked by a gap are matched last: they are the ones tshark may lack.
  for (const o of [...ours].sort((a, b) => Number(a.gap) - Number(b.gap))) {
    const left = want.get(o.key) ?? 0;
    if (left > 0) want.set(o.key, left - 1);
    else if (!o.gap) extra.push(o.key);
  }
  assert.deepEqual(extra, [], `${what}: podwire's, not in tshark (and not explained by a gap)`);
}

/** Connection key both sides agree on: the client's port and the server's port. */
function connKey(e: Pick<Entry, 'src' | 'dst'>): string {
  return `${e.src.port}>${e.dst.port}`;
}

describe('HTTP/1.x entries agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const { entries, summary } = await analyze(path, decodeAs);
      const http = entries.filter((e) => e.protocol === 'http' || e.protocol === 'graphql');
      const reqRows = await tsharkFields(
        path,
        'http.request',
        ['frame.number', 'tcp.srcport', 'tcp.dstport', 'http.request.method', 'http.request.uri'],
        decodeAs,
      );
      const respRows = await tsharkFields(
        path,
        'http.response',
        [
          'frame.number',
          'tcp.srcport',
          'tcp.dstport',
          'http.response.code',
          'http.request_in',
          'http.content_length',
        ],
        decodeAs,
      );
      // Requests: per connection, in order.
      const tsReq = reqRows.map(([, sp, dp, m, u]) => `${sp}>${dp} ${m} ${u}`);
      const pwReq = http
        .filter((e) => e.request.method !== undefined)
        .map((e) => `${connKey(e)} ${e.request.method} ${e.request.path}`);
      assert.deepEqual(sorted(pwReq), sorted(tsReq), 'requests');
      // Responses: per connection (server port first in tshark's row).
      // Responses, interim (1xx) ones included as tshark lists them.
      const gap = (e: Entry) => (e.error ?? '').includes('gap');
      const tsResp = respRows.map(([, sp, dp, code]) => `${dp}>${sp} ${code}`);
      const pwResp = http.flatMap((e) =>
        e.response
          ? [
              ...((e.response.informational ?? []) as { status: number }[]).map((i) => ({
                key: `${connKey(e)} ${i.status}`,
                gap: gap(e),
              })),
              { key: `${connKey(e)} ${e.status}`, gap: gap(e) },
            ]
          : [],
      );
      covers(pwResp, tsResp, 'responses');
      // Pairs: tshark's request_in names the request a response answers.
      const byFrame = new Map(reqRows.map((r) => [r[0]!, r]));
      const tsPairs = respRows
        .filter((r) => r[4])
        .map(([, sp, dp, code, reqIn]) => {
          const q = byFrame.get(reqIn!)!;
          return `${dp}>${sp} ${q[3]} ${q[4]} -> ${code}`;
        });
      const pwPairs = http
        .filter((e) => e.response && e.request.method !== undefined)
        .map((e) => ({
          key: `${connKey(e)} ${e.request.method} ${e.request.path} -> ${e.status}`,
          gap: gap(e),
        }));
      covers(pwPairs, tsPairs, 'request/response pairs');
      // Body sizes: tshark's Content-Length of each response, where it gives one, is the body size.
      const tsLen = respRows
        .filter((r) => r[5])
        .map(([, sp, dp, code, , len]) => `${dp}>${sp} ${code} ${len}`);
      const pwLen = http
        .filter(
          (e) => e.response && (e.response.headers as Record<string, string>)['Content-Length'] !== undefined,
        )
        .map((e) => `${connKey(e)} ${e.status} ${e.response!.bodySize}`);
      const missing = [...counts(tsLen)].filter(([k, n]) => (counts(pwLen).get(k) ?? 0) < n);
      assert.deepEqual(missing, [], 'response body sizes');
      assert.equal(summary.protocols.http?.parseErrors ?? 0, 0, 'no parse errors');
    });
  }
});
