/**
 * The real capture corpus (test/captures, origins in test/captures/INDEX.md) and the fixtures
 * (test/fixtures, written by Wireshark's editcap/mergecap; see test/fixtures/README.md): every
 * packet's time (µs), frame length, captured length and interface agree with tshark's; reading in
 * small chunks and reading the file gzipped give the same packets.
 *
 * tshark takes a quarter of a second to start, so it does not read the ~100 files one by one:
 * Wireshark's mergecap concatenates them (`-a`: in file order, not by time; `-I none`: every
 * file keeps its own interfaces, so interface k of the merged file belongs to exactly one input)
 * into one pcapng that tshark reads once. The packets tshark reports are still Wireshark's reading
 * of each original file; nothing of podwire's is involved.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { tsharkAvailable } from '../reference/tshark.js';
import { CAPTURES, FIXTURES } from '../support/paths.js';
import { tempDir, writeFile } from '../support/pcap-writer.js';
import {
  assertSameAsTshark,
  type ReadAll,
  type ReadPacket,
  readAll,
  type TsharkFrame,
  tsharkFrames,
} from './helpers.js';

const run = promisify(execFile);

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!name.startsWith('_')) out.push(...captures(p));
    } else if (/\.(pcap|pcapng)(\.gz)?$/.test(name)) out.push(p);
  }
  return out;
}

const haveTshark = await tsharkAvailable();
const files = [...captures(CAPTURES), ...captures(FIXTURES)];
const root = CAPTURES.slice(0, CAPTURES.length - 'captures'.length);
const { dir, cleanup } = tempDir('podwire-corpus-');
after(cleanup);

// podwire's reading of every file, and how many interfaces each declares (1 for pcap).
const ours: ReadAll[] = [];
for (const f of files) ours.push(await readAll(f));

/** tshark's frames for each file, from one run over the merged corpus. */
async function tsharkPerFile(): Promise<TsharkFrame[][]> {
  const merged = join(dir, 'corpus.pcapng');
  await run('mergecap', ['-a', '-I', 'none', '-F', 'pcapng', '-w', merged, ...files]);
  const frames = await tsharkFrames(merged);
  const perFile: TsharkFrame[][] = files.map(() => []);
  // Merged interface ids: file 0's interfaces first, then file 1's, ...
  const owner: Array<{ file: number; base: number }> = [];
  ours.forEach((r, k) => {
    const n = r.result.format === 'pcapng' ? r.result.linkTypes.length : 1;
    for (let j = 0; j < n; j++) owner.push({ file: k, base: owner.length - j });
  });
  for (const f of frames) {
    if (f.interfaceId === null) continue; // a pcapng Custom Block, not a packet
    const o = owner[f.interfaceId];
    assert.ok(o, `merged interface ${f.interfaceId} belongs to no file`);
    perFile[o.file]!.push({ ...f, interfaceId: f.interfaceId - o.base });
  }
  return perFile;
}

const tshark: TsharkFrame[][] = haveTshark ? await tsharkPerFile() : [];

function same(a: ReadPacket[], b: ReadPacket[], what: string): void {
  assert.equal(a.length, b.length, `${what}: packet count`);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `${what}: packet ${i + 1}`);
}

describe('capture corpus', () => {
  test('the corpus and the fixtures are there', () => {
    assert.ok(files.length >= 90, `${files.length} files`);
  });

  files.forEach((file, i) => {
    const name = file.slice(root.length);
    test(`${name}: per-packet time, lengths and interface equal tshark's; chunked and gzipped reads the same`, async () => {
      const whole = ours[i]!;
      assert.equal(whole.result.error, undefined, whole.result.error?.message);
      assert.ok(whole.packets.length > 0);
      // Through mergecap every file is pcapng: interface ids are those of the file (0 for pcap).
      if (haveTshark) assertSameAsTshark(whole.packets, tshark[i]!, 'pcapng', name);

      const chunked = await readAll(file, { chunkSize: 997 });
      assert.equal(chunked.result.error, undefined);
      same(chunked.packets, whole.packets, `${name}, 997-byte chunks`);

      if (!file.endsWith('.gz')) {
        const gz = writeFile(dir, `corpus-${i}.gz`, gzipSync(readFileSync(file), { level: 1 }));
        const zipped = await readAll(gz);
        assert.equal(zipped.result.error, undefined);
        same(zipped.packets, whole.packets, `${name}, gzipped`);
      }
    });
  });
});
