/** A fake session context that collects what an MQTT session reports, and helpers to read entries. */
import type { SessionContext, TcpSession } from '../../../src/dissect/dissector.js';
import type { Entry, EntryEndpoint } from '../../../src/dissect/entry.js';
import type { MqttEntry } from '../../../src/dissect/mqtt/summary.js';

export const CLIENT: EntryEndpoint = { ip: '198.18.15.10', port: 40000 };
export const BROKER: EntryEndpoint = { ip: '198.18.15.1', port: 1883 };

export interface Collected {
  entries: MqttEntry[];
  errors: string[];
  annotations: Record<string, unknown>;
}

export function context(): SessionContext & Collected {
  const entries: MqttEntry[] = [];
  const errors: string[] = [];
  const annotations: Record<string, unknown> = {};
  return {
    entries,
    errors,
    annotations,
    connectionId: 1,
    client: CLIENT,
    server: BROKER,
    emit: (e) => entries.push({ src: CLIENT, dst: BROKER, ...e }),
    parseError: (d) => errors.push(d),
    annotate: (k, v) => {
      annotations[k] = v;
    },
    switchTo: (): TcpSession | null => null,
  };
}

export type Fields = Record<string, unknown>;

/** One MQTT packet an entry accounts for, with the port that sent it. */
export interface EntryPacket {
  sender: number;
  fields: Fields;
}

/**
 * The packets behind an entry: its request, the requester's follow-ups, and its answers (a QoS 2
 * flow lists each step, the publisher's PUBREL among them).
 */
export function packetsOf(e: Pick<Entry, 'src' | 'dst' | 'request' | 'response'>): EntryPacket[] {
  const out: EntryPacket[] = [];
  if (e.request.type) out.push({ sender: e.src.port, fields: e.request });
  for (const f of (e.request.flow as Fields[] | undefined) ?? []) out.push({ sender: e.src.port, fields: f });
  if (e.response) {
    for (const f of (e.response.flow as Fields[] | undefined) ?? [e.response])
      out.push({ sender: f.type === 'PUBREL' ? e.src.port : e.dst.port, fields: f });
  }
  return out;
}
