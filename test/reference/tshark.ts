/**
 * tshark, the independent reference: runs Debian's tshark on a capture and reads its TCP
 * conversations two ways — the `-q -z conv,tcp` table (what a user reads) and per-frame fields
 * grouped by `tcp.stream` (exact byte counts, which the table rounds to kB).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function tsharkAvailable(): Promise<boolean> {
  try {
    await run('tshark', ['-v']);
    return true;
  } catch {
    return false;
  }
}

export interface ConvRow {
  a: string;
  b: string;
  /** frames and bytes B -> A ("<-") and A -> B ("->"); bytes as printed ("41 kB", "916 bytes"). */
  framesBA: number;
  bytesBA: string;
  framesAB: number;
  bytesAB: string;
}

/** `tshark -r FILE -q -z conv,tcp`, parsed. */
export async function tsharkConvTcp(file: string): Promise<ConvRow[]> {
  const { stdout } = await run('tshark', ['-n', '-r', file, '-q', '-z', 'conv,tcp'], { maxBuffer: 64 << 20 });
  const rows: ConvRow[] = [];
  const re = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+ (?:bytes|[kMGT]B))\s+(\d+)\s+(\d+ (?:bytes|[kMGT]B))\s+/;
  for (const line of stdout.split('\n')) {
    const m = re.exec(line);
    if (m)
      rows.push({ a: m[1]!, b: m[2]!, framesBA: +m[3]!, bytesBA: m[4]!, framesAB: +m[5]!, bytesAB: m[6]! });
  }
  return rows;
}

export interface StreamSide {
  frames: number;
  /** Sum of frame.len. */
  bytes: number;
  /** Sum of tcp.len. */
  payload: number;
}

export interface TsharkStream {
  stream: number;
  /** "ip:port" of the first frame's sender and receiver. */
  first: string;
  second: string;
  /** first -> second, and back. */
  fwd: StreamSide;
  rev: StreamSide;
}

function endpoint(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Per-stream exact counts from `tshark -T fields`, in stream order. */
export async function tsharkStreams(file: string, decodeAs: string[] = []): Promise<TsharkStream[]> {
  const fields = [
    'tcp.stream',
    'ip.src',
    'ipv6.src',
    'tcp.srcport',
    'ip.dst',
    'ipv6.dst',
    'tcp.dstport',
    'frame.len',
    'tcp.len',
    'frame.protocols',
  ];
  // occurrence=l: a tunnelled packet has an address per IP layer; the last is the innermost, and
  // frame.protocols says whether that is IPv4 or IPv6 (IPv6 inside IPv4 has both fields).
  const args = [
    '-n',
    '-r',
    file,
    ...decodeAs.flatMap((d) => ['-d', d]),
    '-Y',
    'tcp',
    '-T',
    'fields',
    '-E',
    'occurrence=l',
  ];
  for (const f of fields) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  const streams = new Map<number, TsharkStream>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [id, ip4s, ip6s, sport, ip4d, ip6d, dport, flen, tlen, protocols] = line.split('\t');
    const layers = `${protocols ?? ''}:`;
    const v6 = ip6s && (!ip4s || layers.lastIndexOf(':ipv6:') > layers.lastIndexOf(':ip:'));
    const src = endpoint((v6 ? ip6s : ip4s) || '', sport ?? '');
    const dst = endpoint((v6 ? ip6d : ip4d) || '', dport ?? '');
    const n = Number(id);
    let s = streams.get(n);
    if (!s) {
      s = {
        stream: n,
        first: src,
        second: dst,
        fwd: { frames: 0, bytes: 0, payload: 0 },
        rev: { frames: 0, bytes: 0, payload: 0 },
      };
      streams.set(n, s);
    }
    const side = src === s.first ? s.fwd : s.rev;
    side.frames++;
    side.bytes += Number(flen);
    side.payload += Number(tlen || 0);
  }
  return [...streams.values()].sort((x, y) => x.stream - y.stream);
}

/** How tshark prints a byte count in the conversation table (format_size: integer division, so
 * 10,999 bytes is "10 kB", and anything under 10,000 is printed in bytes). */
export function tsharkSize(n: number): string {
  if (n >= 1e13) return `${Math.floor(n / 1e12)} TB`;
  if (n >= 1e10) return `${Math.floor(n / 1e9)} GB`;
  if (n >= 1e7) return `${Math.floor(n / 1e6)} MB`;
  if (n >= 1e4) return `${Math.floor(n / 1e3)} kB`;
  return `${n} bytes`;
}

/**
 * Runs `tshark -r FILE [-d RULE]... -Y FILTER -T fields -e F...` and returns one array of values per
 * frame (occurrences of a field within a frame are joined by `,` as tshark does with
 * `-E occurrence=a`, the default).
 */
export async function tsharkFields(
  file: string,
  filter: string,
  fields: string[],
  decodeAs: string[] = [],
  extra: string[] = [],
): Promise<string[][]> {
  const args = ['-n', '-r', file];
  for (const d of decodeAs) args.push('-d', d);
  args.push(...extra, '-Y', filter, '-T', 'fields', '-E', 'separator=\t');
  for (const f of fields) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/**
 * The TCP payload of a capture in each direction, as tshark reads it frame by frame (in capture
 * order, retransmissions included): [to `serverPort`, from it]. Seeds for fuzzing a dissector.
 */
export async function tsharkPayloads(file: string, serverPort: number): Promise<[Buffer, Buffer]> {
  const { stdout } = await run(
    'tshark',
    ['-r', file, '-Y', 'tcp.len > 0', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'tcp.payload'],
    { maxBuffer: 64 << 20 },
  );
  const parts: [Buffer[], Buffer[]] = [[], []];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [port, hex] = line.split('\t');
    parts[port === String(serverPort) ? 0 : 1].push(Buffer.from(hex!, 'hex'));
  }
  return [Buffer.concat(parts[0]), Buffer.concat(parts[1])];
}
