/**
 * MySQL between real programs: the machine's MariaDB server on 127.0.0.1:3306, tcpdump on `lo`.
 * - the `mariadb` client in batch mode with -vvv runs known statements (a temporary table, an
 *   INSERT of three rows, a SELECT of two, a missing table, a syntax error, PREPARE/EXECUTE as SQL,
 *   LOAD DATA LOCAL INFILE); its own report of each (rows affected, rows in set, ERROR codes) must be
 *   in podwire's entries;
 * - `mariadb --compress` reads a large table: the row count the client printed must come out of
 *   the compressed connection;
 * - the mysql2 driver's execute() uses the binary protocol (COM_STMT_PREPARE / EXECUTE / CLOSE):
 *   statement ids, parameters, affected rows, rows and the error code it reports must match; and
 *   its multi-statement query gives two result sets in one answer.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { type Capture, captureInterface } from '../../support/netns.js';
import { tempDir } from '../../support/pcap-writer.js';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

async function serverUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(3306, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const isRoot = process.getuid?.() === 0;
const available = isRoot && have('tcpdump') && have('mariadb') && (await serverUp());

const MARIADB = ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--skip-ssl'];

/** What the client reported for one statement. */
interface ClientResult {
  statement: string;
  affected?: number;
  rows?: number;
  error?: number;
}

/**
 * Reads `mariadb -vvv --force` output: each statement between dashed lines, then "Query OK, N rows
 * affected", "N rows in set" / "Empty set", or nothing (its error went to stderr as
 * "ERROR code (state) at line L", in statement order).
 */
function clientResults(stdout: string, stderr: string): ClientResult[] {
  const errors = [...stderr.matchAll(/^ERROR (\d+) \(\w+\) at line (\d+)/gm)].map((m) => Number(m[1]));
  const blocks = stdout.split(/^-{14}\n/m);
  const out: ClientResult[] = [];
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const statement = blocks[i]!.trim();
    const body = blocks[i + 1]!;
    const r: ClientResult = { statement };
    const affected = /Query OK, (\d+) rows? affected/.exec(body);
    const rows = /(\d+) rows? in set/.exec(body);
    if (affected) r.affected = Number(affected[1]);
    else if (rows) r.rows = Number(rows[1]);
    else if (/Empty set/.test(body)) r.rows = 0;
    else r.error = errors.shift();
    out.push(r);
  }
  return out;
}

describe('MySQL on the real MariaDB server and clients', {
  skip: available ? false : 'needs root, tcpdump, the mariadb client and a server on 127.0.0.1:3306',
}, () => {
  const { dir, cleanup } = tempDir('podwire-mysql-');
  const pcap = `${dir}/mysql.pcap`;
  let cap: Capture | null = null;
  let entries: Entry[] = [];
  let version = '';
  let batch: ClientResult[] = [];
  let compressedRows = 0;
  const driver: {
    insert?: { affectedRows: number };
    rows?: unknown[];
    error?: number;
    params?: unknown[];
    multi?: unknown[][];
  } = {};
  const csv = `${dir}/rows.csv`;
  const csvText = '4\td\n5\te\n';

  before(async () => {
    version = execFileSync('mariadb', [...MARIADB, '-N', '-B', '-e', 'SELECT VERSION()'])
      .toString()
      .trim();
    cap = await captureInterface('lo', pcap, ['tcp', 'port', '3306']);
    const script = [
      'CREATE TEMPORARY TABLE pw_rc (id INT PRIMARY KEY, name VARCHAR(20));',
      "INSERT INTO pw_rc VALUES (1,'a'),(2,'b'),(3,'c');",
      'SELECT * FROM pw_rc WHERE id >= 2;',
      'SELECT * FROM pw_missing_table;',
      'SELEC 1;',
      "PREPARE s FROM 'SELECT ? + 1';",
      'SET @a = 41;',
      'EXECUTE s USING @a;',
      'DEALLOCATE PREPARE s;',
      `LOAD DATA LOCAL INFILE '${csv}' INTO TABLE pw_rc;`,
      '',
    ].join('\n');
    writeFileSync(csv, csvText);
    const plain = spawnSync('mariadb', [...MARIADB, '--local-infile=1', '--force', '-vvv', 'test'], {
      input: script,
      timeout: 10_000,
    });
    batch = clientResults(plain.stdout.toString(), plain.stderr.toString());
    const zipped = spawnSync(
      'mariadb',
      [
        ...MARIADB,
        '--compress',
        '-N',
        '-B',
        'test',
        '-e',
        'SELECT * FROM information_schema.COLLATIONS ORDER BY ID',
      ],
      { timeout: 10_000 },
    );
    compressedRows = zipped.stdout.toString().trim().split('\n').length;
    try {
      const mysql = (await import('mysql2/promise')).default;
      const c = await mysql.createConnection({
        host: '127.0.0.1',
        port: 3306,
        user: 'root',
        database: 'test',
        multipleStatements: true,
      });
      await c.query('CREATE TEMPORARY TABLE pw_ps (id INT PRIMARY KEY, name VARCHAR(20), score DOUBLE)');
      const ins = 'INSERT INTO pw_ps VALUES (?, ?, ?)';
      const [r1] = await c.execute(ins, [1, 'one', 1.5]);
      await c.execute(ins, [2, 'two', null]);
      driver.insert = r1 as { affectedRows: number };
      driver.params = [1, 'one', 1.5];
      const [rows] = await c.execute('SELECT id, name, score FROM pw_ps WHERE id >= ?', [1]);
      driver.rows = rows as unknown[];
      try {
        await c.execute('SELECT * FROM pw_missing_ps WHERE id = ?', [1]);
      } catch (err) {
        driver.error = (err as { errno?: number }).errno;
      }
      const [multi] = await c.query('SELECT 1 AS a; SELECT 2 AS b UNION SELECT 3');
      driver.multi = multi as unknown[][];
      c.unprepare(ins);
      await c.query('DO 1'); // the close has no answer: a command after it shows it went out
      await c.end();
    } finally {
      await cap.stop();
      cap = null;
    }
    entries = (await analyze(pcap)).entries.filter((e) => e.protocol === 'mysql');
  });

  after(async () => {
    await cap?.stop();
    cleanup();
  });

  const connections = () => {
    const m = new Map<number, Entry[]>();
    for (const e of entries) m.set(e.src.port, [...(m.get(e.src.port) ?? []), e]);
    return [...m.values()];
  };
  const withPath = (path: string) => connections().find((c) => c.some((e) => e.path === path)) ?? [];

  test('the mariadb client: logins, statements, affected rows, rows in set, error codes', () => {
    assert.equal(batch.length, 10, 'the client ran the ten statements');
    const conn = withPath('SELEC 1');
    const login = conn.find((e) => e.method === 'LOGIN');
    assert.ok(login, 'a LOGIN entry');
    assert.equal(login.status, 'OK');
    assert.equal(login.request.user, 'root');
    assert.equal(login.path, 'test');
    assert.equal(`${login.response?.serverVersion}`, version);
    assert.equal(login.response?.flavor, 'mariadb');
    for (const want of batch) {
      const e = conn.find((x) => x.path === want.statement);
      assert.ok(e, `an entry for ${want.statement}`);
      assert.equal(e.method, want.statement.split(/\s/)[0]!.toUpperCase());
      if (want.error !== undefined) {
        assert.equal(e.status, want.error, want.statement);
      } else {
        assert.equal(e.status, 'OK', want.statement);
        if (want.affected !== undefined)
          assert.equal(e.response?.affectedRows, want.affected, want.statement);
        if (want.rows !== undefined) assert.equal(e.response?.rows, want.rows, want.statement);
      }
      assert.equal(e.error, null);
    }
    assert.deepEqual(
      batch.filter((b) => b.error).map((b) => b.error),
      [1146, 1064],
    );
    assert.deepEqual(conn.find((e) => e.path === 'EXECUTE s USING @a')?.response?.sample, [['42']]);
    const load = conn.find((e) => e.method === 'LOAD')!;
    assert.equal(load.response?.infile, csv);
    assert.equal(load.request.uploadBytes, csvText.length);
    assert.equal(load.response?.affectedRows, 2);
  });

  test('mariadb --compress: the rows the client printed, through the compression protocol', () => {
    const sql = 'SELECT * FROM information_schema.COLLATIONS ORDER BY ID';
    const conn = withPath(sql);
    const e = conn.find((x) => x.path === sql)!;
    assert.ok(compressedRows > 100);
    assert.equal(e.request.compressed, true);
    assert.equal(e.response?.rows, compressedRows);
    assert.equal(e.response?.columns, 6);
    assert.equal(conn.find((x) => x.method === 'LOGIN')?.request.compressed, true);
  });

  test('mysql2 execute(): COM_STMT_PREPARE / EXECUTE / CLOSE in the binary protocol', () => {
    const ins = 'INSERT INTO pw_ps VALUES (?, ?, ?)';
    const conn = withPath(ins);
    const prepares = conn.filter((e) => e.method === 'STMT_PREPARE');
    assert.deepEqual(
      prepares.map((e) => [e.path, e.status, e.response?.params ?? null]),
      [
        [ins, 'OK', 3],
        ['SELECT id, name, score FROM pw_ps WHERE id >= ?', 'OK', 1],
        ['SELECT * FROM pw_missing_ps WHERE id = ?', driver.error, null],
      ],
    );
    const inserts = conn.filter((e) => e.method === 'INSERT' && e.request.command === 'STMT_EXECUTE');
    assert.equal(inserts.length, 2);
    assert.equal(inserts[0]!.response?.affectedRows, driver.insert?.affectedRows);
    assert.deepEqual(
      (inserts[0]!.request.params as { value: unknown }[]).map((p) => p.value),
      driver.params,
    );
    assert.equal((inserts[1]!.request.params as { value: unknown }[])[2]!.value, null);
    const select = conn.find((e) => e.method === 'SELECT' && e.request.command === 'STMT_EXECUTE')!;
    assert.equal(select.response?.rows, driver.rows?.length);
    assert.deepEqual(select.response?.sample, [
      [1, 'one', 1.5],
      [2, 'two', null],
    ]);
    assert.equal(driver.error, 1146);
    const multi = conn.find((e) => e.path === 'SELECT 1 AS a; SELECT 2 AS b UNION SELECT 3')!;
    assert.equal(multi.response?.resultSets, driver.multi?.length);
    assert.equal(multi.response?.rows, driver.multi?.flat().length);
    const close = conn.find((e) => e.method === 'STMT_CLOSE');
    assert.equal(close?.path, ins);
    assert.equal(close?.request.statementId, prepares[0]!.response?.statementId);
  });
});
