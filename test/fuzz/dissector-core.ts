/**
 * Fuzzing every registered TCP dissector the same way (test/fuzz/dissectors.test.ts runs it for a
 * few seconds; `npm run fuzz` for longer). Not a test file.
 *
 * Inputs are real streams: each capture of the dissector's protocol runs through the real pipeline
 * with a recording "dissector" that claims every connection and keeps its events (bytes per
 * direction in order, gaps, ends). A case replays one stream into a fresh session of the dissector
 * under test, mutated from a 32-bit seed: bytes flipped or overwritten, the stream cut short, chunks
 * re-split at random points, gaps inserted, random bytes spliced in, a direction's bytes dropped.
 * Nothing may throw out of a session, every entry must be plain JSON, and sessions that switch
 * protocol (HTTP Upgrade, PostgreSQL's SSLRequest) are followed into the dissector they switch to.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureFile } from '../../src/capture/file-source.js';
import type { SessionContext, TcpDissector, TcpSession } from '../../src/dissect/dissector.js';
import type { EntryEndpoint } from '../../src/dissect/entry.js';
import { TCP_DISSECTORS } from '../../src/dissect/registry.js';
import { checkedTiming } from '../../src/dissect/router.js';
import type { Direction } from '../../src/flows/stream.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Rng } from './fuzz-core.js';

export type StreamEvent =
  | { kind: 'data'; dir: Direction; data: Uint8Array; ts: number }
  | { kind: 'gap'; dir: Direction; bytes: number; ts: number }
  | { kind: 'end'; dir: Direction; ts: number };

export interface RecordedStream {
  file: string;
  events: StreamEvent[];
}

/**
 * Where each dissector's real streams come from (folders of test/captures), and which dissector the
 * stream starts in when the protocol is reached only by a switch (WebSocket after an HTTP Upgrade).
 * A dissector missing here fails the test: every dissector is fuzzed.
 */
export const FUZZ_SOURCES: Record<string, { dirs: string[]; via?: string }> = {
  'dns-tcp': { dirs: ['dns'] },
  tls: { dirs: ['tls'] },
  http2: { dirs: ['http2', 'grpc'] },
  http1: { dirs: ['http1'] },
  websocket: { dirs: ['websocket'], via: 'http1' },
  redis: { dirs: ['redis'] },
  postgres: { dirs: ['postgresql'] },
  mysql: { dirs: ['mysql'] },
  kafka: { dirs: ['kafka'] },
  amqp: { dirs: ['amqp'] },
  mqtt: { dirs: ['mqtt'] },
  nats: { dirs: ['nats'] },
};

const MAX_STREAM_BYTES = 64 * 1024;

/** Records every TCP connection of `file` as a list of stream events (at most 64 KiB of bytes each). */
export async function recordStreams(file: string): Promise<RecordedStream[]> {
  const streams: RecordedStream[] = [];
  const recorder: TcpDissector = {
    name: 'recorder',
    protocol: 'http',
    ports: [],
    spec: 'none',
    detect: () => 'yes',
    createSession(): TcpSession {
      const events: StreamEvent[] = [];
      let bytes = 0;
      streams.push({ file, events });
      return {
        onData(dir, data, ts) {
          if (bytes >= MAX_STREAM_BYTES) return;
          bytes += data.length;
          events.push({ kind: 'data', dir, data: new Uint8Array(data), ts });
        },
        onGap(dir, n, ts) {
          events.push({ kind: 'gap', dir, bytes: n, ts });
        },
        onEnd(dir, ts) {
          events.push({ kind: 'end', dir, ts });
        },
        onClose() {},
      };
    },
  };
  const pipeline = new Pipeline(() => {}, {}, { onEntry: () => {}, tcp: [recorder], udp: [] });
  await readCaptureFile(file, pipeline.onPacket, pipeline.errors);
  pipeline.finish();
  return streams.filter((s) => s.events.some((e) => e.kind === 'data'));
}

/** The first bytes of a direction, as the router would show them to `detect`. */
function firstBytes(s: RecordedStream, dir: Direction): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const e of s.events) {
    if (e.kind === 'gap' && e.dir === dir) break;
    if (e.kind !== 'data' || e.dir !== dir) continue;
    parts.push(e.data);
    n += e.data.length;
    if (n >= 8192) break;
  }
  return parts.length ? Buffer.concat(parts) : null;
}

export function byName(name: string): TcpDissector {
  const d = TCP_DISSECTORS.find((x) => x.name === name);
  if (!d) throw new Error(`no dissector ${name}`);
  return d;
}

/** Streams of test/captures that the dissector (or the one it is reached through) claims. */
export async function streamsFor(captures: string, name: string, max = 6): Promise<RecordedStream[]> {
  const source = FUZZ_SOURCES[name];
  if (!source) throw new Error(`dissector '${name}' has no fuzz source in FUZZ_SOURCES`);
  const start = byName(source.via ?? name);
  const out: RecordedStream[] = [];
  for (const dir of source.dirs) {
    for (const f of readdirSync(join(captures, dir)).sort()) {
      for (const s of await recordStreams(join(captures, dir, f))) {
        const claims = ([0, 1] as const).some((d) => {
          const b = firstBytes(s, d);
          return b !== null && start.detect(d, b) === 'yes';
        });
        if (claims) out.push(s);
      }
    }
  }
  // A spread over the files rather than the first few streams of one.
  const step = Math.max(1, Math.floor(out.length / max));
  return out.filter((_, i) => i % step === 0).slice(0, max);
}

/** What a session under fuzz reported. */
export interface FuzzOutcome {
  entries: number;
  parseErrors: number;
  /** Protocols the session switched to. */
  switched: string[];
}

const CLIENT: EntryEndpoint = { ip: '10.0.0.1', port: 40000 };
const SERVER: EntryEndpoint = { ip: '10.0.0.2', port: 5000 };

/**
 * A SessionContext like the router's: counts, checks each entry is plain JSON of the entry shape,
 * follows switches. Throws (failing the case) when an entry is malformed.
 */
export function fuzzContext(): { ctx: SessionContext; outcome: FuzzOutcome; current(): TcpSession | null } {
  const outcome: FuzzOutcome = { entries: 0, parseErrors: 0, switched: [] };
  let session: TcpSession | null = null;
  const ctx: SessionContext = {
    connectionId: 1,
    client: CLIENT,
    server: SERVER,
    emit(raw) {
      outcome.entries++;
      // What the router passes on (it turns a negative latency into none, with a note).
      const e = checkedTiming(raw);
      const json = JSON.stringify(e);
      const back = JSON.parse(json) as Record<string, unknown>;
      for (const k of ['protocol', 'method', 'path'])
        if (typeof back[k] !== 'string')
          throw new Error(`entry field ${k} is not a string: ${json.slice(0, 300)}`);
      if (!Number.isFinite(e.timestamp)) throw new Error(`entry timestamp ${e.timestamp}`);
      if (e.elapsedMs !== null && !(Number.isFinite(e.elapsedMs) && e.elapsedMs >= 0))
        throw new Error(`entry elapsedMs ${e.elapsedMs}`);
      if (!(e.requestSize >= 0 && e.responseSize >= 0)) throw new Error('negative entry size');
    },
    parseError() {
      outcome.parseErrors++;
    },
    annotate() {},
    switchTo(name) {
      const d = TCP_DISSECTORS.find((x) => x.name === name);
      if (!d) return null;
      outcome.switched.push(name);
      session = d.createSession(ctx);
      return session;
    },
  };
  return { ctx, outcome, current: () => session };
}

/** Replays events into a fresh session of `d`, following switches as the router does. */
export function replay(d: TcpDissector, events: readonly StreamEvent[]): FuzzOutcome {
  const { ctx, outcome, current } = fuzzContext();
  const first = d.createSession(ctx);
  const target = (): TcpSession => current() ?? first;
  let lastTs = 0;
  for (const e of events) {
    lastTs = e.ts;
    if (e.kind === 'data') target().onData(e.dir, e.data, e.ts);
    else if (e.kind === 'gap') target().onGap(e.dir, e.bytes, e.ts);
    else target().onEnd(e.dir, e.ts);
  }
  target().onClose(lastTs);
  return outcome;
}

/** One mutated copy of a stream, derived from `seed` alone. */
export function mutate(s: RecordedStream, seed: number): StreamEvent[] {
  const rng = new Rng(seed);
  let events: StreamEvent[] = s.events.map((e) =>
    e.kind === 'data' ? { ...e, data: new Uint8Array(e.data) } : e,
  );
  const ops = rng.range(1, 4);
  for (let k = 0; k < ops; k++) {
    const dataIdx = events.flatMap((e, i) => (e.kind === 'data' ? [i] : []));
    if (dataIdx.length === 0) break;
    const i = rng.pick(dataIdx);
    const e = events[i] as Extract<StreamEvent, { kind: 'data' }>;
    switch (rng.int(8)) {
      case 0: // flip bits
        for (let n = rng.range(1, 8); n > 0; n--) {
          const at = rng.int(e.data.length);
          e.data[at] = e.data[at]! ^ (1 << rng.int(8));
        }
        break;
      case 1: // overwrite bytes with extremes (lengths, counts)
        for (let n = rng.range(1, 4); n > 0; n--)
          e.data[rng.int(e.data.length)] = rng.pick([0, 0xff, 0x7f, 0x80]);
        break;
      case 2: // cut the stream short here
        events = events.slice(0, i);
        events.push({ ...e, data: e.data.subarray(0, rng.int(e.data.length)) });
        break;
      case 3: {
        // re-split one chunk at random points
        const parts: StreamEvent[] = [];
        let at = 0;
        while (at < e.data.length) {
          const n = rng.range(1, Math.max(1, Math.min(64, e.data.length - at)));
          parts.push({ ...e, data: e.data.subarray(at, at + n) });
          at += n;
        }
        events.splice(i, 1, ...parts);
        break;
      }
      case 4: // a gap instead of part of a chunk
        {
          const keep = rng.int(e.data.length);
          events.splice(
            i,
            1,
            { ...e, data: e.data.subarray(0, keep) },
            { kind: 'gap', dir: e.dir, bytes: e.data.length - keep, ts: e.ts },
          );
        }
        break;
      case 5: // random bytes spliced in
        events.splice(i, 0, { ...e, data: rng.bytes(rng.range(1, 300)) });
        break;
      case 6: // a direction's chunk lost without a gap (a buggy sender, a mid-stream pick-up)
        events.splice(i, 1);
        break;
      default: // a huge length-looking prefix
        events.splice(i, 0, { ...e, data: Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 0x2a, 0x2a, 0x2a, 0x2a) });
    }
  }
  return events;
}

/** A valid start (the stream's first chunk of each direction), then `n` random chunks both ways. */
export function garbage(s: RecordedStream, seed: number, chunks: number, size: number): StreamEvent[] {
  const rng = new Rng(seed);
  const out: StreamEvent[] = [];
  const seen = new Set<Direction>();
  let ts = 0;
  for (const e of s.events) {
    if (e.kind !== 'data' || seen.has(e.dir)) continue;
    seen.add(e.dir);
    out.push(e);
    ts = e.ts;
    if (seen.size === 2) break;
  }
  for (let i = 0; i < chunks; i++) {
    ts += 10;
    out.push({ kind: 'data', dir: (i & 1) as Direction, data: rng.bytes(size), ts });
  }
  return out;
}
