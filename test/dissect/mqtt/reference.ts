/**
 * What tshark's MQTT dissector sees in a capture, packet by packet (a frame may hold several MQTT
 * packets, and tshark shows each as its own `mqtt` layer: `-T json --no-duplicate-keys` keeps them
 * apart as an array). Each packet is reduced to the fields podwire's entries can be checked on.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TsharkMqttPacket {
  frame: number;
  stream: number;
  srcPort: number;
  dstPort: number;
  type: number;
  /** Fixed header flags. */
  flags: number;
  /** Remaining Length (mqtt.len). */
  length: number;
  topics: string[];
  msgid: number | null;
  /** CONNACK's return code (3.x, mqtt.conack.val) or any 5.0 reason code (mqtt.*.reason_code). */
  code: number | null;
  /** SUBACK's granted QoS (3.x) or reason codes (5.0); UNSUBACK's (5.0). */
  codes: number[];
  ver: number | null;
  clientId: string | null;
  username: string | null;
  /** Property identifiers of the packet's own properties (not a Will's), as numbers, in order. */
  propertyIds: number[];
  /** PUBLISH payload bytes. */
  payloadSize: number | null;
}

type Layer = Record<string, unknown>;

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function one(v: unknown): string | undefined {
  return list(v)[0];
}

function num(v: unknown): number | null {
  const s = one(v);
  return s === undefined ? null : Number(s);
}

/** Every MQTT packet tshark finds, in frame order. */
export async function tsharkMqtt(file: string, decodeAs: string[] = []): Promise<TsharkMqttPacket[]> {
  const args = ['-n', '-r', file];
  for (const d of decodeAs) args.push('-d', d);
  args.push('-Y', 'mqtt', '-T', 'json', '--no-duplicate-keys', '-J', 'frame tcp mqtt');
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  const frames = JSON.parse(stdout) as { _source: { layers: Record<string, Layer | Layer[]> } }[];
  const out: TsharkMqttPacket[] = [];
  for (const f of frames) {
    const layers = f._source.layers;
    const frame = layers.frame as Layer;
    const tcp = layers.tcp as Layer;
    const mqtts = Array.isArray(layers.mqtt) ? layers.mqtt : [layers.mqtt!];
    for (const m of mqtts) {
      const hdr = Number.parseInt(one(m['mqtt.hdrflags']) ?? '0', 16);
      const type = hdr >> 4;
      const codeField = Object.keys(m).find((k) => /^mqtt\.(conack\.val|[a-z]+\.reason_code)$/.test(k));
      const props = m['mqtt.properties'] as Layer | undefined;
      const msg = one(m['mqtt.msg']);
      const codes =
        type === 9
          ? list(m['mqtt.suback.qos'] ?? m['mqtt.suback.reason_code'])
          : type === 11
            ? list(m['mqtt.unsuback.reason_code'])
            : [];
      out.push({
        frame: Number(one(frame['frame.number'])),
        stream: Number(one(tcp['tcp.stream'])),
        srcPort: Number(one(tcp['tcp.srcport'])),
        dstPort: Number(one(tcp['tcp.dstport'])),
        type,
        flags: hdr & 15,
        length: Number(one(m['mqtt.len'])),
        topics: list(m['mqtt.topic']),
        msgid: num(m['mqtt.msgid']),
        code: type === 9 || type === 11 || !codeField ? null : num(m[codeField]),
        codes: codes.map(Number),
        ver: num(m['mqtt.ver']),
        clientId: one(m['mqtt.clientid']) ?? null,
        username: one(m['mqtt.username']) ?? null,
        propertyIds: list(props?.['mqtt.property_id']).map((x) => Number.parseInt(x, 16)),
        payloadSize: type !== 3 ? null : msg === undefined || msg === '' ? 0 : msg.split(':').length,
      });
    }
  }
  return out;
}
