/**
 * PostgreSQL entries against tshark's pgsql dissector on every capture of test/captures/postgresql,
 * per connection: the statements sent (`pgsql.query` of Query and Parse messages, in order), every
 * message by type and direction (`pgsql.type`), the SQLSTATEs of errors and notices (`pgsql.code`),
 * the CommandComplete tags in order (`pgsql.tag`) and the DataRows paired into entries. The
 * SSLRequest capture must hand the connection to TLS and show its handshake.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const files = readdirSync(join(CAPTURES, 'postgresql')).map((f) => `postgresql/${f}`);
const available = await tsharkAvailable();
/** Joins several occurrences of a field in one frame (a segment holding many messages). */
const SEP = '\x1e';

/** tshark's names for message types (epan/dissectors/packet-pgsql.c) to podwire's. */
const TSHARK_TYPES: Record<string, string> = {
  'Startup message': 'StartupMessage',
  'SSL request': 'SSLRequest',
  'GSS encrypt request': 'GSSENCRequest',
  'Cancel request': 'CancelRequest',
  'Password message': 'PasswordMessage',
  'SASLInitialResponse message': 'SASLInitialResponse',
  'SASLResponse message': 'SASLResponse',
  'GSSResponse message': 'GSSResponse',
  'Simple query': 'Query',
  Parse: 'Parse',
  Bind: 'Bind',
  Describe: 'Describe',
  Execute: 'Execute',
  Sync: 'Sync',
  Flush: 'Flush',
  Close: 'Close',
  'Function call': 'FunctionCall',
  Termination: 'Terminate',
  'Copy data': 'CopyData',
  'Copy completion': 'CopyDone',
  'Copy failure': 'CopyFail',
  'Authentication request': 'Authentication',
  'Backend key data': 'BackendKeyData',
  'Parameter status': 'ParameterStatus',
  'Ready for query': 'ReadyForQuery',
  'Parse completion': 'ParseComplete',
  'Bind completion': 'BindComplete',
  'Close completion': 'CloseComplete',
  'Row description': 'RowDescription',
  'Data row': 'DataRow',
  'Command completion': 'CommandComplete',
  'Empty query': 'EmptyQueryResponse',
  'No data': 'NoData',
  'Parameter description': 'ParameterDescription',
  'Portal suspended': 'PortalSuspended',
  Error: 'ErrorResponse',
  Notice: 'NoticeResponse',
  Notification: 'NotificationResponse',
  'CopyIn response': 'CopyInResponse',
  'CopyOut response': 'CopyOutResponse',
  'CopyBoth response': 'CopyBothResponse',
  'Function call response': 'FunctionCallResponse',
  'Negotiate protocol version': 'NegotiateProtocolVersion',
};

/**
 * How tshark prints a string field (format_text): C escapes for control characters. tshark 4.0 reads
 * pgsql strings as ASCII (ENC_ASCII), so each byte of a non-ASCII UTF-8 character prints as U+FFFD.
 */
function tsharkText(s: string): string {
  const named: Record<string, string> = {
    '\x07': 'a',
    '\b': 'b',
    '\f': 'f',
    '\n': 'n',
    '\r': 'r',
    '\t': 't',
    '\v': 'v',
  };
  return s
    .replace(
      /[\x00-\x1f\x7f]/g,
      (c) => `\\${named[c] ?? `x${c.charCodeAt(0).toString(16).padStart(2, '0')}`}`,
    )
    .replace(/[^\x00-\x7f]/gu, (c) => '\ufffd'.repeat(Buffer.byteLength(c)));
}

interface PgInfo {
  messages: { client: Record<string, number>; server: Record<string, number> };
  errors: string[];
}

function add(m: Map<string, Record<string, number>>, key: string, name: string): void {
  const counts = m.get(key) ?? {};
  counts[name] = (counts[name] ?? 0) + 1;
  m.set(key, counts);
}

function push<T>(m: Map<string, T[]>, key: string, ...values: T[]): void {
  const list = m.get(key) ?? [];
  list.push(...values);
  m.set(key, list);
}

describe('PostgreSQL entries agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const serverPort = decodeAs.length ? decodeAs[0]!.replace(/^tcp\.port==(\d+),.*$/, '$1') : '5432';
      const { entries, connections, summary } = await analyze(path, decodeAs);
      const rows = await tsharkFields(
        path,
        'pgsql',
        ['tcp.srcport', 'tcp.dstport', 'pgsql.type', 'pgsql.query', 'pgsql.code', 'pgsql.tag'],
        decodeAs,
        ['-E', `aggregator=${SEP}`],
      );
      const split = (v: string | undefined) => (v ? v.split(SEP) : []);
      // tshark, per connection (client port > server port).
      const tsTypes = new Map<string, Record<string, number>>();
      const tsQueries = new Map<string, string[]>();
      const tsCodes = new Map<string, string[]>();
      const tsTags = new Map<string, string[]>();
      for (const [sp, dp, types, queries, codes, tags] of rows) {
        const fromServer = sp === serverPort;
        const key = fromServer ? `${dp}>${sp}` : `${sp}>${dp}`;
        for (const t of split(types)) {
          const name = TSHARK_TYPES[t];
          assert.ok(name, `unknown tshark type ${t}`);
          add(tsTypes, key, `${fromServer ? 'server' : 'client'} ${name}`);
        }
        push(tsQueries, key, ...split(queries));
        push(tsCodes, key, ...split(codes));
        push(tsTags, key, ...split(tags));
      }
      // podwire, per connection.
      const pg = entries.filter((e) => e.protocol === 'postgres');
      const key = (e: Pick<Entry, 'src' | 'dst'>) =>
        String(e.src.port) === serverPort ? `${e.dst.port}>${e.src.port}` : `${e.src.port}>${e.dst.port}`;
      const pwQueries = new Map<string, string[]>();
      const pwCodes = new Map<string, string[]>();
      const pwTags = new Map<string, string[]>();
      const pwRows = new Map<string, number>();
      for (const e of pg) {
        const k = key(e);
        const req = e.request as { type: string; query?: string; queryLength?: number; parsed?: boolean };
        if (req.query !== undefined && (req.type === 'query' || req.parsed)) push(pwQueries, k, req.query);
        const resp = (e.response ?? {}) as {
          error?: { code?: string };
          notices?: { code?: string }[];
          tag?: string;
          results?: { tag: string }[];
          rowsReturned?: number;
        };
        push(pwCodes, k, ...(resp.notices ?? []).map((n) => n.code ?? ''));
        if (resp.error?.code) push(pwCodes, k, resp.error.code);
        push(
          pwTags,
          k,
          ...(resp.results ? resp.results.map((r) => r.tag) : resp.tag !== undefined ? [resp.tag] : []),
        );
        pwRows.set(k, (pwRows.get(k) ?? 0) + (resp.rowsReturned ?? 0));
      }
      const pwTypes = new Map<string, Record<string, number>>();
      for (const c of connections) {
        const info = (c.l7 as { postgres?: PgInfo } | undefined)?.postgres;
        if (!info) continue;
        const k = `${c.src.port}>${c.dst.port}`;
        for (const [dir, counts] of Object.entries(info.messages))
          for (const [name, n] of Object.entries(counts)) {
            // tshark 4.0 does not show the one-byte answer to SSLRequest / GSSENCRequest as a
            // message of its own (it is the '<' without type in its Info column).
            if (name === 'EncryptionResponse') continue;
            for (let i = 0; i < n; i++) add(pwTypes, k, `${dir} ${name}`);
          }
        push(pwCodes, k, ...info.errors);
      }

      const keys = [...new Set([...tsTypes.keys(), ...pwTypes.keys()])].sort();
      assert.ok(keys.length > 0);
      for (const k of keys) {
        const ts = tsTypes.get(k) ?? {};
        const pw = pwTypes.get(k) ?? {};
        assert.deepEqual(pw, ts, `${k}: messages by type`);
        // Statements in order; text past TEXT_CAP is cut in podwire, with its full length kept.
        const theirs = tsQueries.get(k) ?? [];
        const ours = (pwQueries.get(k) ?? []).map(tsharkText);
        assert.equal(ours.length, theirs.length, `${k}: statement count`);
        for (const [i, q] of ours.entries()) {
          const t = theirs[i]!;
          if (q.length < t.length)
            assert.ok(t.startsWith(q) && q.length >= 4000, `${k}: statement ${i} prefix`);
          else assert.equal(q, t, `${k}: statement ${i}`);
        }
        assert.deepEqual((pwCodes.get(k) ?? []).sort(), (tsCodes.get(k) ?? []).sort(), `${k}: SQLSTATEs`);
        assert.deepEqual(pwTags.get(k) ?? [], tsTags.get(k) ?? [], `${k}: command tags`);
        // Every DataRow tshark saw was paired into an entry's rowsReturned.
        assert.equal(pwRows.get(k) ?? 0, ts['server DataRow'] ?? 0, `${k}: rows returned`);
      }
      assert.equal(summary.protocols.postgres?.parseErrors ?? 0, 0, 'no parse errors');
      const unmatched = connections.reduce(
        (n, c) => n + ((c.l7 as { postgres?: { unmatched: number } } | undefined)?.postgres?.unmatched ?? 0),
        0,
      );
      assert.equal(unmatched, 0, 'every server message paired');
    });
  }

  test('SSLRequest answered S hands the connection to TLS', async () => {
    const file = 'postgresql/zeek__psql-aws-ssl-require.pcap';
    const { entries } = await analyze(join(CAPTURES, file));
    const ssl = entries.find((e) => e.method === 'SSLREQUEST');
    assert.ok(ssl);
    assert.equal(ssl.status, 'S');
    const tls = entries.find((e) => e.protocol === 'tls' && e.connectionId === ssl.connectionId);
    assert.ok(tls, 'a TLS handshake entry on the same connection');
    // tshark reads the same handshake once the SSLRequest is answered.
    const [row] = await tsharkFields(join(CAPTURES, file), 'tls.handshake.type == 1', [
      'tls.handshake.extensions_server_name',
    ]);
    assert.equal(tls.path, row?.[0]);
  });
});
