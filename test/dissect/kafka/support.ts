/** A fake SessionContext that collects what a Kafka session reports, and ways to feed it. */
import type { SessionContext, TcpSession } from '../../../src/dissect/dissector.js';
import type { Entry, EntryEndpoint } from '../../../src/dissect/entry.js';
import { KafkaSession } from '../../../src/dissect/kafka/session.js';

export type Emitted = Omit<Entry, 'type' | 'id' | 'connectionId'>;

export const CLIENT: EntryEndpoint = { ip: '198.18.9.10', port: 50100 };
export const SERVER: EntryEndpoint = { ip: '198.18.9.20', port: 9092 };

export interface Collected {
  entries: Emitted[];
  errors: string[];
}

export function context(): SessionContext & Collected {
  const entries: Emitted[] = [];
  const errors: string[] = [];
  return {
    entries,
    errors,
    connectionId: 1,
    client: CLIENT,
    server: SERVER,
    emit: (e) => entries.push({ src: CLIENT, dst: SERVER, ...e }),
    parseError: (d) => errors.push(d),
    annotate: () => {},
    switchTo: (): TcpSession | null => null,
  };
}

export interface Step {
  dir: 0 | 1;
  data: Uint8Array;
  ts: number;
}

/** Runs steps through a new session, closes it, and returns what it reported. */
export function run(steps: Step[], close = 1e12): Collected & { session: KafkaSession } {
  const ctx = context();
  const session = new KafkaSession(ctx);
  for (const s of steps) {
    // A fresh copy, overwritten after the call as a reused capture buffer would be: whatever the
    // session kept without copying then shows up as wrong bytes.
    const piece = s.data.slice();
    session.onData(s.dir, piece, s.ts);
    piece.fill(0xee);
  }
  session.onClose(close);
  return { entries: ctx.entries, errors: ctx.errors, session };
}
