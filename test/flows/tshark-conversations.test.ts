/**
 * podwire's TCP connections against tshark's, for every capture in test/captures (copied from
 * ../shared/captures, origins in test/captures/INDEX.md). tshark's side is generated here by
 * test/reference/tshark.ts; nothing of podwire's own earlier output is compared with.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyzeFiles } from '../../src/cli/analyze.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { tsharkAvailable, tsharkConvTcp, tsharkSize, tsharkStreams } from '../reference/tshark.js';
import { CAPTURES } from '../support/paths.js';

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

function ep(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const haveTshark = await tsharkAvailable();

describe('TCP connections agree with tshark', {
  skip: haveTshark ? false : 'tshark is not installed',
}, () => {
  for (const file of captures(CAPTURES)) {
    const name = file.slice(CAPTURES.length + 1);
    test(name, async () => {
      const conns: ConnectionRecord[] = [];
      // tshark has no idle timeout (a conversation idle for 15 minutes is still one), so podwire's
      // is switched off here; test/flows/tracker.test.ts covers timeouts.
      const tracker = { closeOlderThanMicros: Number.POSITIVE_INFINITY };
      const { summary } = await analyzeFiles([file], { tracker, progress: false }, (c) => conns.push(c));
      assert.equal(summary.files[0]?.error, undefined);
      const [conv, streams] = await Promise.all([tsharkConvTcp(file), tsharkStreams(file)]);
      assert.equal(conns.length, streams.length, 'connection count vs tcp.stream count');
      assert.equal(conns.length, conv.length, 'connection count vs conv,tcp rows');

      // Pair each tshark stream with one of our connections: same endpoints, in order of appearance.
      const unused = [...conns].sort((a, b) => a.start - b.start || a.id - b.id);
      for (const s of streams) {
        const i = unused.findIndex((c) => {
          const src = ep(c.src.ip, c.src.port);
          const dst = ep(c.dst.ip, c.dst.port);
          return (src === s.first && dst === s.second) || (src === s.second && dst === s.first);
        });
        assert.ok(i >= 0, `tshark stream ${s.stream} ${s.first} <-> ${s.second} has no podwire connection`);
        const c = unused.splice(i, 1)[0]!;
        const same = ep(c.src.ip, c.src.port) === s.first;
        const toFirst = same ? c.received : c.sent;
        const fromFirst = same ? c.sent : c.received;
        const where = `stream ${s.stream} ${s.first} <-> ${s.second}`;
        assert.deepEqual(
          { frames: fromFirst.packets, bytes: fromFirst.wireBytes, payload: fromFirst.bytes },
          s.fwd,
          `${where}: first -> second`,
        );
        assert.deepEqual(
          { frames: toFirst.packets, bytes: toFirst.wireBytes, payload: toFirst.bytes },
          s.rev,
          `${where}: second -> first`,
        );
      }

      // And the conversation table a user reads: endpoints, frames, bytes as tshark prints them.
      const ours = conns.map((c) => {
        const a = `${c.src.ip}:${c.src.port}`;
        const b = `${c.dst.ip}:${c.dst.port}`;
        return [a, b, c.sent, c.received] as const;
      });
      for (const row of conv) {
        const i = ours.findIndex(([a, b, ab, ba]) => {
          if (a === row.a && b === row.b) return ab.packets === row.framesAB && ba.packets === row.framesBA;
          if (a === row.b && b === row.a) return ba.packets === row.framesAB && ab.packets === row.framesBA;
          return false;
        });
        assert.ok(
          i >= 0,
          `conv,tcp row ${row.a} <-> ${row.b} (${row.framesAB}/${row.framesBA} frames) has no match`,
        );
        const [a, , ab, ba] = ours.splice(i, 1)[0]!;
        const [toB, toA] = a === row.a ? [ab, ba] : [ba, ab];
        assert.equal(tsharkSize(toB.wireBytes), row.bytesAB, `${row.a} -> ${row.b} bytes`);
        assert.equal(tsharkSize(toA.wireBytes), row.bytesBA, `${row.b} -> ${row.a} bytes`);
      }
    });
  }
});
