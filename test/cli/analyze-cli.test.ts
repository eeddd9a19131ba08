/**
 * `bin/podwire analyze` as a user runs it: output formats, exit codes and error messages. The
 * connection counts are checked against tshark on the same file, not against fixed numbers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { tsharkAvailable, tsharkStreams } from '../reference/tshark.js';
import { PODWIRE, ROOT } from '../support/paths.js';

const DEMO = join(ROOT, 'samples', 'demo.pcap');
const run = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function podwire(...args: string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(PODWIRE, args, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'podwire-cli-'));
const haveTshark = await tsharkAvailable();

describe('podwire analyze', () => {
  test('--format jsonl prints one record per line (entries, connections), then the summary', async () => {
    const r = await podwire('analyze', DEMO, '--format', 'jsonl');
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '', 'no progress bar or noise when stderr is not a terminal');
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = lines.pop();
    assert.equal(summary.type, 'summary');
    const connections = lines.filter((l) => l.type === 'connection');
    const entries = lines.filter((l) => l.type === 'entry');
    assert.equal(connections.length + entries.length, lines.length, 'only entries and connections');
    assert.ok(connections.length > 0);
    for (const l of connections) {
      assert.equal(typeof l.src.ip, 'string');
      assert.ok(['open', 'fin', 'rst', 'timeout'].includes(l.closeReason));
    }
    for (const e of entries)
      assert.ok(
        connections.some((c) => c.id === e.connectionId),
        'entry names its connection',
      );
    assert.equal(summary.connections, connections.length);
    assert.equal(summary.entries, entries.length);
    assert.equal(summary.packets, summary.tcpPackets + summary.udpPackets + summary.otherPackets);
    if (haveTshark)
      assert.equal(connections.length, (await tsharkStreams(DEMO)).length, 'as many as tshark tcp.streams');
  });

  test('--format json prints one document with connections and summary', async () => {
    const r = await podwire('analyze', DEMO, '--format', 'json');
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.summary.connections, doc.connections.length);
    const starts = doc.connections.map((c: { start: number }) => c.start);
    assert.deepEqual(
      starts,
      [...starts].sort((a: number, b: number) => a - b),
      'sorted by start time',
    );
  });

  test('--format summary prints only the totals, the same as the table ends with', async () => {
    const [totals, table, jsonl] = await Promise.all([
      podwire('analyze', DEMO, '--format', 'summary'),
      podwire('analyze', DEMO),
      podwire('analyze', DEMO, '--format', 'jsonl'),
    ]);
    assert.equal(totals.code, 0);
    assert.ok(table.stdout.endsWith(totals.stdout), 'the table ends with the same totals');
    assert.doesNotMatch(totals.stdout, /^ID\s+CLIENT/m, 'no connection table');
    const summary = JSON.parse(jsonl.stdout.trimEnd().split('\n').at(-1)!);
    assert.match(totals.stdout, new RegExp(`^${summary.entries} entries: `, 'm'));
    assert.match(totals.stdout, new RegExp(`^${summary.connections} TCP connections`, 'm'));
  });

  test('the default table names every connection and ends with the summary', async () => {
    const r = await podwire('analyze', DEMO);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ID\s+CLIENT\s+SERVER\s+STATE/m);
    assert.match(r.stdout, /\d+ packets, .* in 1 file/);
    assert.match(r.stdout, /errors: none/);
    const doc = JSON.parse((await podwire('analyze', DEMO, '--format', 'json')).stdout);
    for (const c of doc.connections) assert.ok(r.stdout.includes(`${c.src.ip}:${c.src.port}`));
  });

  test('a gzipped capture gives the same connections', async () => {
    const gz = join(tmp, 'demo.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(DEMO)));
    const plain = JSON.parse((await podwire('analyze', DEMO, '--format', 'json')).stdout);
    const zipped = JSON.parse((await podwire('analyze', gz, '--format', 'json')).stdout);
    assert.deepEqual(zipped.connections, plain.connections);
  });

  test('several files continue one another', async () => {
    const r = await podwire('analyze', DEMO, DEMO, '--format', 'json');
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.summary.files.length, 2);
  });

  test('a truncated file prints what it read, names the offset, and exits 1', async () => {
    const bytes = readFileSync(DEMO);
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const r = await podwire('analyze', cut, '--format', 'json');
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.summary.packets > 0, 'packets before the cut are delivered');
    assert.equal(doc.summary.errors['capture.truncated'], 1);
    assert.match(r.stderr, /cut short at offset \d+/);
    assert.equal(doc.summary.files[0].errorOffset > 0, true);
  });

  test('a file that is not a capture is named as such', async () => {
    const r = await podwire('analyze', join(ROOT, 'package.json'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a pcap or pcapng file/);
  });

  test('a missing file is a clear error', async () => {
    const r = await podwire('analyze', join(tmp, 'nope.pcap'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read '.*nope\.pcap': no such file/);
  });

  test('a directory is a clear error that names it', async () => {
    const r = await podwire('analyze', tmp);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `podwire analyze: cannot read '${tmp}': is a directory`);
  });

  test('bad options exit 2 with the usage', async () => {
    for (const args of [
      ['--format', 'xml'],
      ['--flush-period', 'soon'],
      ['--max-connections', '0'],
      ['--bogus'],
      [],
    ]) {
      const r = await podwire('analyze', ...(args.length ? [DEMO, ...args] : []));
      assert.equal(r.code, 2, `args ${args.join(' ')}`);
      assert.match(r.stderr, /usage: podwire analyze/);
    }
  });

  test('tuning flags are accepted and change behaviour', async () => {
    // A 1µs idle timeout closes every connection as soon as time moves on.
    const r = await podwire(
      'analyze',
      DEMO,
      '--format',
      'json',
      '--close-older-than',
      '1us',
      '--flush-period',
      '1us',
    );
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.connections.some((c: { closeReason: string }) => c.closeReason === 'timeout'));
  });

  test('on a terminal, a progress bar is drawn on stderr and cleared at the end', async () => {
    // `script` runs podwire under a pseudo-terminal; stdout goes to a file, so only stderr is seen.
    const out = join(tmp, 'tty.jsonl');
    const { stdout } = await run(
      'script',
      ['-qfec', `${PODWIRE} analyze ${DEMO} --format jsonl > ${out}`, '/dev/null'],
      {
        env: { ...process.env, PODWIRE_PROGRESS_DELAY_MS: '0' },
      },
    );
    assert.match(stdout, /\[#+\]\s+100%\s+85 packets/);
    assert.ok(stdout.endsWith('\r\x1b[K'), 'the bar is erased when done');
    const piped = await podwire('analyze', DEMO, '--format', 'jsonl');
    assert.equal(readFileSync(out, 'utf8'), piped.stdout, 'stdout unaffected by the bar');
  });

  test('unknown commands and --help', async () => {
    const bad = await podwire('frobnicate');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown command 'frobnicate'/);
    const help = await podwire('analyze', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--max-pages-per-connection/);
  });
});
