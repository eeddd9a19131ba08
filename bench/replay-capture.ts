/**
 * Builds a capture for replaying onto an interface (bench/live.sh, test/capture/live-source.test.ts):
 * Ethernet/IPv4/TCP traffic shaped like a node's service calls, written byte by byte with correct
 * IPv4 and TCP checksums. Connections alternate between an HTTP/1.1 API (port 8080: a GET, a JSON
 * answer) and Redis (port 6379: SET then GET), several exchanges each on keep-alive, 32 open at
 * once with their packets interleaved, each with a full handshake and FIN close.
 *
 * Every connection is 3 + 3 * exchanges + 3 packets (a request, its response, the client's ACK per
 * exchange); the last ones have fewer exchanges, and the very last up to 8 window updates from the
 * server, so that the capture holds exactly the number of packets asked for.
 *
 * usage: node dist/bench/replay-capture.js OUT.pcap PACKETS
 */
import { createWriteStream } from 'node:fs';

export const SUBNET = '198.18.99';
export const HTTP_PORT = 8080;
export const REDIS_PORT = 6379;
const EXCHANGES = 10;
const CONCURRENT = 32;

export interface ReplayCaptureInfo {
  packets: number;
  connections: number;
  /** Requests per protocol: HTTP GETs, Redis commands. */
  http: number;
  redis: number;
  /** Per connection (by client port), TCP payload bytes each way. */
  bytes: Map<number, { sent: number; received: number; server: number }>;
}

interface Frame {
  fromClient: boolean;
  flags: number;
  payload: Uint8Array;
  window?: number;
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

function exchanges(n: number, http: boolean, id: number): { req: Uint8Array; res: Uint8Array }[] {
  const out: { req: Uint8Array; res: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    if (http) {
      const body = JSON.stringify({
        kind: 'Item',
        id: `${id}-${i}`,
        labels: { app: 'checkout' },
        data: 'x'.repeat(200),
      });
      out.push({
        req: Buffer.from(
          `GET /api/v1/items/${id}/${i} HTTP/1.1\r\nHost: api:8080\r\nUser-Agent: replay\r\n\r\n`,
        ),
        res: Buffer.from(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ),
      });
    } else if (i % 2 === 0) {
      const key = `key:${id}:${i}`;
      out.push({
        req: Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$5\r\nvalue\r\n`),
        res: Buffer.from('+OK\r\n'),
      });
    } else {
      const key = `key:${id}:${i - 1}`;
      out.push({
        req: Buffer.from(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`),
        res: Buffer.from('$5\r\nvalue\r\n'),
      });
    }
  }
  return out;
}

function* connectionFrames(ex: { req: Uint8Array; res: Uint8Array }[], updates: number): Generator<Frame> {
  const none = new Uint8Array(0);
  yield { fromClient: true, flags: SYN, payload: none };
  yield { fromClient: false, flags: SYN | ACK, payload: none };
  yield { fromClient: true, flags: ACK, payload: none };
  for (const { req, res } of ex) {
    yield { fromClient: true, flags: PSH | ACK, payload: req };
    yield { fromClient: false, flags: PSH | ACK, payload: res };
    yield { fromClient: true, flags: ACK, payload: none };
  }
  for (let i = 0; i < updates; i++) yield { fromClient: false, flags: ACK, payload: none, window: 65000 + i };
  yield { fromClient: true, flags: FIN | ACK, payload: none };
  yield { fromClient: false, flags: FIN | ACK, payload: none };
  yield { fromClient: true, flags: ACK, payload: none };
}

function checksum(b: Uint8Array, from: number, to: number, initial = 0): number {
  let sum = initial;
  for (let i = from; i + 1 < to; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((to - from) & 1) sum += b[to - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

class Conn {
  seqC = 1_000_000;
  seqS = 5_000_000;
  ipId = 1;
  frames: Generator<Frame>;
  constructor(
    readonly clientIp: number,
    readonly serverIp: number,
    readonly clientPort: number,
    readonly serverPort: number,
    ex: { req: Uint8Array; res: Uint8Array }[],
    updates: number,
  ) {
    this.frames = connectionFrames(ex, updates);
  }

  /** The frame as bytes: Ethernet, IPv4 (DF), TCP with the timestamps option, payload. */
  encode(f: Frame, tsval: number): Uint8Array {
    const tcpLen = 32; // 20 bytes + NOP NOP timestamps
    const len = 14 + 20 + tcpLen + f.payload.length;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    // Ethernet: locally administered MACs, IPv4.
    b.set([2, 0, 0, 0, 0, f.fromClient ? 2 : 1, 2, 0, 0, 0, 0, f.fromClient ? 1 : 2], 0);
    dv.setUint16(12, 0x0800);
    const ip = 14;
    b[ip] = 0x45;
    dv.setUint16(ip + 2, 20 + tcpLen + f.payload.length);
    dv.setUint16(ip + 4, this.ipId++ & 0xffff);
    dv.setUint16(ip + 6, 0x4000);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    dv.setUint32(ip + 12, f.fromClient ? this.clientIp : this.serverIp);
    dv.setUint32(ip + 16, f.fromClient ? this.serverIp : this.clientIp);
    dv.setUint16(ip + 10, checksum(b, ip, ip + 20));
    const t = ip + 20;
    dv.setUint16(t, f.fromClient ? this.clientPort : this.serverPort);
    dv.setUint16(t + 2, f.fromClient ? this.serverPort : this.clientPort);
    const seq = f.fromClient ? this.seqC : this.seqS;
    const ack = f.fromClient ? this.seqS : this.seqC;
    dv.setUint32(t + 4, seq >>> 0);
    dv.setUint32(t + 8, f.flags === SYN ? 0 : ack >>> 0);
    b[t + 12] = (tcpLen / 4) << 4;
    b[t + 13] = f.flags;
    dv.setUint16(t + 14, f.window ?? 64240);
    b.set([1, 1, 8, 10], t + 20);
    dv.setUint32(t + 24, tsval >>> 0);
    dv.setUint32(t + 28, (tsval - 1) >>> 0);
    b.set(f.payload, t + tcpLen);
    // TCP checksum over the pseudo-header (RFC 793 §3.1) and the segment.
    const segLen = tcpLen + f.payload.length;
    let pseudo = 0;
    for (let i = ip + 12; i < ip + 20; i += 2) pseudo += (b[i]! << 8) | b[i + 1]!;
    pseudo += 6 + segLen;
    dv.setUint16(t + 16, checksum(b, t, t + segLen, pseudo));
    const advance = f.payload.length + (f.flags & (SYN | FIN) ? 1 : 0);
    if (f.fromClient) this.seqC += advance;
    else this.seqS += advance;
    return b;
  }
}

function ipv4(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

/** Writes `packets` packets to `path` (classic pcap, microseconds, Ethernet). */
export async function buildReplayCapture(path: string, packets: number): Promise<ReplayCaptureInfo> {
  const minimum = 6 + 3; // a connection with one exchange
  if (packets < minimum) throw new Error(`at least ${minimum} packets`);
  const out = createWriteStream(path);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const chunks: Buffer[] = [header];
  let pending = header.length;
  const info: ReplayCaptureInfo = { packets: 0, connections: 0, http: 0, redis: 0, bytes: new Map() };
  // The plan: exchanges per connection, and the window updates that make the count exact.
  const plan: number[] = [];
  let left = packets;
  while (left >= minimum) {
    const n = Math.min(EXCHANGES, Math.floor((left - 6) / 3));
    plan.push(n);
    left -= 6 + 3 * n;
  }
  const updates = left;
  let ts = 1_700_000_000_000_000;
  const active: Conn[] = [];
  const serverIp = ipv4(`${SUBNET}.2`);
  const open = (): boolean => {
    const id = info.connections;
    const n = plan[id];
    if (n === undefined) return false;
    info.connections++;
    const http = id % 2 === 0;
    const clientPort = 20_000 + (id % 40_000);
    const clientIp = ipv4(`${SUBNET}.${10 + (Math.floor(id / 40_000) % 200)}`);
    const ex = exchanges(n, http, id);
    if (http) info.http += n;
    else info.redis += n;
    let sent = 0;
    let received = 0;
    for (const e of ex) {
      sent += e.req.length;
      received += e.res.length;
    }
    info.bytes.set(clientPort, { sent, received, server: http ? HTTP_PORT : REDIS_PORT });
    const last = id === plan.length - 1;
    active.push(
      new Conn(clientIp, serverIp, clientPort, http ? HTTP_PORT : REDIS_PORT, ex, last ? updates : 0),
    );
    return true;
  };
  while (active.length < CONCURRENT && open());
  let i = 0;
  while (active.length) {
    const idx = i++ % active.length;
    const c = active[idx]!;
    const next = c.frames.next();
    if (next.done) {
      active.splice(idx, 1);
      open();
      continue;
    }
    ts += 10;
    const frame = c.encode(next.value, Math.floor(ts / 1000));
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(ts / 1_000_000), 0);
    rec.writeUInt32LE(ts % 1_000_000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    chunks.push(rec, Buffer.from(frame.buffer, frame.byteOffset, frame.length));
    pending += 16 + frame.length;
    info.packets++;
    if (pending > 1 << 20) {
      if (!out.write(Buffer.concat(chunks))) await new Promise<void>((r) => out.once('drain', () => r()));
      chunks.length = 0;
      pending = 0;
    }
  }
  out.end(Buffer.concat(chunks));
  await new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  return info;
}

if (process.argv[1]?.endsWith('replay-capture.js')) {
  const [path, n] = process.argv.slice(2);
  if (!path || !n || !/^\d+$/.test(n)) {
    process.stderr.write('usage: node dist/bench/replay-capture.js OUT.pcap PACKETS\n');
    process.exit(2);
  }
  const info = await buildReplayCapture(path, Number(n));
  process.stdout.write(
    `${JSON.stringify({ packets: info.packets, connections: info.connections, http: info.http, redis: info.redis })}\n`,
  );
}
