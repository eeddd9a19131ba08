/**
 * PostgreSQL between real programs: psql and pgbench against the machine's server on 127.0.0.1:5432,
 * tcpdump on the loopback. What psql printed (command tags, `(n rows)`, verbose errors with their
 * SQLSTATE, the asynchronous notification with the server's PID, COPY output) and what pgbench
 * reported (transactions processed, its built-in script) must come out of podwire's entries.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { captureInterface } from '../../support/netns.js';

const run = promisify(execFile);

async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

const SERVER = 'host=127.0.0.1 port=5432';
const serverUp = await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432']).then(
  () => true,
  () => false,
);
const tools = (await have('psql')) && (await have('pgbench')) && (await have('tcpdump'));
const root = process.getuid?.() === 0;
const skip = !tools
  ? 'needs psql, pgbench and tcpdump'
  : !root
    ? 'needs root (tcpdump on lo)'
    : !serverUp
      ? 'no PostgreSQL server on 127.0.0.1:5432'
      : false;
const sslOn = skip
  ? false
  : await run('psql', [`${SERVER} dbname=test sslmode=disable`, '-XAtc', 'show ssl']).then(
      (r) => r.stdout.trim() === 'on',
      () => false,
    );

const APP = `podwire-pg-${process.pid}`;
const BENCH_DB = `pw_bench_${process.pid}`;

/** The psql script: statement lines, COPY data, and what each statement is expected to do. */
const SCRIPT = [
  '\\set VERBOSITY verbose',
  'CREATE TEMP TABLE pw_t (id int, name text);',
  "INSERT INTO pw_t SELECT g, 'n' || g FROM generate_series(1, 5) g;",
  'SELECT * FROM pw_t WHERE id <= 3;',
  "UPDATE pw_t SET name = 'x' WHERE id > 3;",
  'SELEC 1;',
  'SELECT 1/0;',
  'COPY pw_t FROM STDIN;',
  '6\tsix',
  '7\tseven',
  '\\.',
  'COPY pw_t TO STDOUT;',
  'LISTEN pw_chan;',
  "NOTIFY pw_chan, 'hello';",
  'SELECT 1 AS a \\; SELECT 2 AS b, 3 AS c;',
  'DELETE FROM pw_t;',
];
const COPY_IN_DATA = '6\tsix\n7\tseven\n';

/** pgbench scripts in pipeline mode: three statements, and three with an error in the middle. */
const PIPELINE = [
  '\\startpipeline',
  'SELECT 1 AS one;',
  'SELECT g FROM generate_series(1, 3) g;',
  "SELECT 'x' || :client_id;",
  '\\endpipeline',
];
const PIPELINE_FAIL = [
  '\\startpipeline',
  'SELECT 1 AS one;',
  'SELECT 1/0;',
  'SELECT 3 AS three;',
  '\\endpipeline',
];

interface Psql {
  stdout: string;
  /** SQLSTATE by script line, from psql's verbose error messages. */
  errors: Map<number, { code: string; message: string }>;
}

describe('PostgreSQL on real psql and pgbench traffic', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-pg-'));
  const pcap = join(dir, 'pg.pcap');
  let psql: Psql;
  let bench = '';
  let pipeline = '';
  let pipelineFail = '';
  let entries: Entry[] = [];
  let sslWindow: [number, number] = [0, 0];
  let sslError = '';

  before(async () => {
    await run('psql', [
      `${SERVER} dbname=test sslmode=disable`,
      '-Xqc',
      `DROP DATABASE IF EXISTS ${BENCH_DB}`,
    ]);
    await run('psql', [`${SERVER} dbname=test sslmode=disable`, '-Xqc', `CREATE DATABASE ${BENCH_DB}`]);
    // Tables and data only (no vacuum, no keys): the run needs them, not their speed.
    await run('pgbench', ['-h', '127.0.0.1', '-i', '-s', '1', '-q', '-I', 'dtg', BENCH_DB], {
      env: { ...process.env, PGSSLMODE: 'disable' },
    });
    const script = join(dir, 'script.sql');
    writeFileSync(script, `${SCRIPT.join('\n')}\n`);
    // tcpdump on a busy machine may drop a segment; the comparisons below need a whole capture.
    for (let attempt = 1; ; attempt++) {
      const cap = await captureInterface('lo', pcap, ['tcp', 'port', '5432']);
      try {
        const r = await run('psql', [`${SERVER} dbname=test sslmode=disable`, '-X', '-f', script], {
          env: { ...process.env, PGAPPNAME: APP },
        });
        const errors = new Map<number, { code: string; message: string }>();
        for (const m of r.stderr.matchAll(/^psql:[^:]+:(\d+): ERROR:\s+([0-9A-Z]{5}): (.*)$/gm))
          errors.set(Number(m[1]), { code: m[2]!, message: m[3]! });
        psql = { stdout: r.stdout, errors };
        bench = (
          await run('pgbench', ['-h', '127.0.0.1', '-n', '-M', 'prepared', '-t', '20', '-c', '2', BENCH_DB], {
            env: { ...process.env, PGSSLMODE: 'disable' },
          })
        ).stdout;
        // libpq pipeline mode (§55.2.4): Bind/Describe/Execute for each statement, one Sync at the end.
        const pipe = join(dir, 'pipe.sql');
        writeFileSync(pipe, `${PIPELINE.join('\n')}\n`);
        const pipeFail = join(dir, 'pipe-fail.sql');
        writeFileSync(pipeFail, `${PIPELINE_FAIL.join('\n')}\n`);
        const benchEnv = { env: { ...process.env, PGSSLMODE: 'disable', PGAPPNAME: `${APP}-pipe` } };
        pipeline = (
          await run(
            'pgbench',
            ['-h', '127.0.0.1', '-n', '-M', 'prepared', '-t', '3', '-c', '1', '-f', pipe, BENCH_DB],
            benchEnv,
          )
        ).stdout;
        // pgbench aborts the client on the error (and exits non-zero): what it printed is the reference.
        pipelineFail = await run(
          'pgbench',
          ['-h', '127.0.0.1', '-n', '-M', 'extended', '-t', '1', '-c', '1', '-f', pipeFail, BENCH_DB],
          { env: { ...process.env, PGSSLMODE: 'disable', PGAPPNAME: `${APP}-fail` } },
        ).then(
          (r) => r.stdout + r.stderr,
          (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
        );
        const t0 = Date.now() * 1000;
        sslError = await run('psql', [`${SERVER} dbname=test sslmode=require`, '-XAtc', 'select 1']).then(
          () => '',
          (e: { stderr?: string }) => e.stderr ?? 'failed',
        );
        sslWindow = [t0, Date.now() * 1000 + 1000];
      } finally {
        await cap.stop();
      }
      const result = await analyze(pcap);
      entries = result.entries.filter((e) => e.protocol === 'postgres' || e.protocol === 'tls');
      const lossy = result.connections.filter((c) => c.sent.gaps + c.received.gaps > 0).length;
      if (lossy === 0 || attempt === 3) break;
      console.log(`# capture lost segments on ${lossy} connection(s), attempt ${attempt}: again`);
    }
  });

  after(async () => {
    await run('psql', [
      `${SERVER} dbname=test sslmode=disable`,
      '-Xqc',
      `DROP DATABASE IF EXISTS ${BENCH_DB}`,
    ]).catch(() => {});
  });

  /** Entries of the connections whose startup matches. */
  function connectionsOf(match: (startup: Entry) => boolean): Entry[][] {
    const ids = entries.filter((e) => e.method === 'STARTUP' && match(e)).map((e) => e.connectionId);
    return ids.map((id) => entries.filter((e) => e.connectionId === id));
  }

  test('psql: the startup, then one entry per statement with psql`s tags, row counts and SQLSTATEs', () => {
    const [conn] = connectionsOf((s) => s.request.application === APP);
    assert.ok(conn, 'the psql connection');
    const [startup, ...rest] = conn;
    assert.equal(startup!.status, 'OK');
    assert.equal(startup!.path, 'test');
    assert.equal(startup!.request.user, userInfo().username, 'libpq`s default: the OS user');
    assert.equal(startup!.response!.authMethod, 'trust', 'pg_hba trust: AuthenticationOk at once');
    assert.match(String((startup!.response!.parameters as Record<string, string>).server_version), /^\d+/);
    const queries = rest.filter((e) => e.request.type === 'query');
    const statements = SCRIPT.map((line, i) => ({ line, n: i + 1 })).filter(
      (s) => /^[A-Z]/.test(s.line) && !/^\d/.test(s.line),
    );
    // psql sends each statement as written; `\;` joins two into one Query message.
    assert.deepEqual(
      queries.map((e) => e.path),
      statements.map((s) => s.line.replace(' \\;', ' ;')),
    );
    for (const [i, s] of statements.entries()) {
      const e = queries[i]!;
      const err = psql.errors.get(s.n);
      assert.equal(e.status, err ? err.code : 'OK', s.line);
      if (err) assert.equal((e.response!.error as { message: string }).message, err.message);
      assert.equal(e.method, s.line.split(/[ ;]/)[0], s.line);
      assert.equal(e.error, null);
      assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
    }
    assert.deepEqual(
      [...psql.errors.values()].map((x) => x.code),
      ['42601', '22012'],
    );
    const byPath = (p: string) => queries.find((e) => e.path.startsWith(p))!;
    // The tags psql printed, in order, are the entries' tags.
    const printed = psql.stdout
      .split('\n')
      .filter((l) => /^(CREATE TABLE|INSERT|UPDATE|DELETE|COPY|LISTEN|NOTIFY)\b/.test(l));
    assert.deepEqual(
      printed,
      queries.map((e) => String(e.response!.tag ?? '')).filter((t) => printed.includes(t)),
    );
    assert.deepEqual(printed, [
      'CREATE TABLE',
      'INSERT 0 5',
      'UPDATE 2',
      'COPY 2',
      'LISTEN',
      'NOTIFY',
      'DELETE 7',
    ]);
    assert.equal(byPath('INSERT').response!.rows, 5);
    assert.match(psql.stdout, /\(3 rows\)/);
    assert.equal(byPath('SELECT * FROM pw_t').response!.rows, 3);
    assert.equal(byPath('SELECT * FROM pw_t').response!.rowsReturned, 3);
    assert.deepEqual(
      (byPath('SELECT * FROM pw_t').response!.columns as { name: string }[]).map((c) => c.name),
      ['id', 'name'],
    );
    assert.equal(byPath('UPDATE').response!.rows, 2);
    assert.equal(byPath('DELETE').response!.rows, 7);
    // The syntax error points at its position (§55.8 field P, 1-based).
    assert.equal((byPath('SELEC 1').response!.error as { position: string }).position, '1');
    // COPY FROM STDIN: the two data lines went to the server (CopyData), which counted 2. psql
    // may send the end-of-data line `\.` too; it is in the bytes, not a row.
    const copyIn = byPath('COPY pw_t FROM');
    const copy = copyIn.response!.copy as Record<string, unknown>;
    assert.ok(
      [COPY_IN_DATA, `${COPY_IN_DATA}\\.\n`].map((d) => Buffer.byteLength(d)).includes(copy.bytes as number),
    );
    assert.deepEqual(
      { ...copy, bytes: 0, rows: copyIn.response!.rows },
      {
        direction: 'in',
        format: 'text',
        columns: 2,
        messages: copy.messages,
        bytes: 0,
        lines: 2,
        done: true,
        failed: null,
        rows: 2,
      },
    );
    // COPY TO STDOUT: the lines psql printed are the lines that came.
    const copyOut = byPath('COPY pw_t TO');
    const outLines = psql.stdout.split('\n').filter((l) => /^\d+\t/.test(l));
    assert.equal(outLines.length, 7);
    assert.equal((copyOut.response!.copy as { lines: number }).lines, outLines.length);
    assert.equal(
      (copyOut.response!.copy as { bytes: number }).bytes,
      Buffer.byteLength(`${outLines.join('\n')}\n`),
    );
    assert.equal(copyOut.response!.rows, 7);
    // One Query, two statements: both results listed.
    const multi = byPath('SELECT 1 AS a');
    assert.deepEqual(
      (multi.response!.results as { tag: string; rowsReturned: number }[]).map((r) => [
        r.tag,
        r.rowsReturned,
      ]),
      [
        ['SELECT 1', 1],
        ['SELECT 1', 1],
      ],
    );
    assert.equal(multi.response!.rowsReturned, 2);
  });

  test('psql: LISTEN/NOTIFY gives a notification entry with psql`s PID and payload', () => {
    const [conn] = connectionsOf((s) => s.request.application === APP);
    const m =
      /Asynchronous notification "(\w+)" with payload "(\w+)" received from server process with PID (\d+)/.exec(
        psql.stdout,
      );
    assert.ok(m, psql.stdout);
    const n = conn!.filter((e) => e.method === 'NOTIFICATION');
    assert.equal(n.length, 1);
    assert.equal(n[0]!.path, m[1]);
    assert.equal(n[0]!.request.payload, m[2]);
    assert.equal(n[0]!.request.pid, Number(m[3]));
    // The server notified its own listening session: the startup's BackendKeyData has that PID.
    assert.equal(conn![0]!.response!.backendPid, Number(m[3]));
    assert.equal(n[0]!.src.port, 5432, 'from the server');
  });

  test('pgbench -M prepared: one Execute entry per statement run, texts from its built-in script', async () => {
    const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(bench);
    assert.ok(processed, bench);
    assert.equal(processed[1], processed[2]);
    // pgbench prints the script on stderr.
    const shown = await run('pgbench', ['--show-script=tpcb-like']).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    // The script's SQL lines with `:var` replaced by $1, $2... in order of first use, as pgbench's
    // prepared mode sends them.
    const script = shown
      .split('\n')
      .filter((l) => /^[A-Z]/.test(l))
      .map((l) => {
        const vars: string[] = [];
        return l.replace(/:(\w+)/g, (_m, v: string) => {
          if (!vars.includes(v)) vars.push(v);
          return `$${vars.indexOf(v) + 1}`;
        });
      });
    assert.equal(script.length, 7);
    const conns = connectionsOf((s) => s.path === BENCH_DB && s.request.application === 'pgbench');
    const clients = conns.filter((c) => c.some((e) => e.request.type === 'execute'));
    assert.equal(clients.length, 2, 'two client connections');
    const executes = clients.flat().filter((e) => e.request.type === 'execute');
    assert.equal(executes.length, Number(processed[1]) * script.length);
    for (const c of clients) {
      const ex = c.filter((e) => e.request.type === 'execute');
      // Each transaction runs the script's statements in order.
      assert.deepEqual(
        ex.map((e) => e.path),
        Array.from({ length: ex.length }, (_, i) => script[i % script.length]),
      );
      for (const e of ex) {
        assert.equal(e.status, 'OK');
        assert.equal(e.error, null);
        assert.equal(e.method, e.path.split(/[ ;]/)[0]);
        assert.equal(e.request.parsed, false, 'pgbench prepares once, then only binds');
      }
      // Each statement was prepared once (Parse + Sync, no Execute).
      const prepares = c.filter((e) => e.request.type === 'prepare').map((e) => e.path);
      assert.deepEqual(prepares.sort(), [...script].sort());
      const select = ex.find((e) => e.method === 'SELECT')!;
      assert.equal(select.response!.rowsReturned, 1);
      assert.equal((select.request.params as string[]).length, 1);
      const insert = ex.find((e) => e.method === 'INSERT')!;
      assert.equal(insert.response!.tag, 'INSERT 0 1');
    }
  });

  test('pgbench pipeline mode: pipelined executions pair in order; after an error the rest is skipped', () => {
    const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(pipeline);
    assert.ok(processed, pipeline);
    // pgbench's first connection only checks the database; the client runs on the second.
    const conn = connectionsOf((s) => s.request.application === `${APP}-pipe`).find((c) =>
      c.some((e) => e.request.type === 'execute'),
    );
    assert.ok(conn);
    const executes = conn.filter((e) => e.request.type === 'execute');
    const statements = PIPELINE.filter((l) => l.startsWith('SELECT')).map((l) =>
      l.replace(':client_id', '$1'),
    );
    assert.equal(executes.length, Number(processed[1]) * statements.length);
    assert.deepEqual(
      executes.map((e) => [e.path, e.status, e.response!.rowsReturned]),
      Array.from({ length: executes.length }, (_, i) => [statements[i % 3], 'OK', [1, 3, 1][i % 3]]),
    );
    // Only the last of each pipeline carries the Sync.
    assert.deepEqual(
      executes.map((e) => (e.request.messages as string[]).includes('Sync')),
      executes.map((_, i) => i % 3 === 2),
    );

    const failed = /aborted in command \d+ query \d+: ERROR:\s+(.*)$/m.exec(pipelineFail);
    assert.ok(failed, pipelineFail);
    const bad = connectionsOf((s) => s.request.application === `${APP}-fail`).find((c) =>
      c.some((e) => e.request.type === 'execute'),
    );
    assert.ok(bad);
    const runs = bad.filter((e) => e.request.type === 'execute');
    assert.deepEqual(
      runs.map((e) => [e.path, e.status]),
      [
        ['SELECT 1 AS one;', 'OK'],
        ['SELECT 1/0;', '22012'],
        ['SELECT 3 AS three;', null],
      ],
    );
    assert.equal((runs[1]!.response!.error as { message: string }).message, failed[1]);
    assert.match(runs[2]!.error ?? '', /not executed/);
  });

  test('sslmode=require: SSLRequest, then TLS when the server has SSL', { skip: false }, (t) => {
    const ssl = entries.filter(
      (e) => e.method === 'SSLREQUEST' && e.timestamp >= sslWindow[0] && e.timestamp <= sslWindow[1],
    );
    assert.equal(ssl.length, 1);
    if (sslOn) {
      assert.equal(ssl[0]!.status, 'S');
      assert.ok(entries.some((e) => e.protocol === 'tls' && e.connectionId === ssl[0]!.connectionId));
    } else {
      // The server refused ('N') and psql, requiring SSL, gave up: no startup on that connection.
      assert.match(sslError, /does not support SSL/);
      assert.equal(ssl[0]!.status, 'N');
      assert.equal(entries.filter((e) => e.connectionId === ssl[0]!.connectionId).length, 1);
      t.diagnostic('server has ssl off: the TLS hand-over is checked on the zeek capture only');
    }
  });
});
