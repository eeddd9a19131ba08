/** A fake SessionContext that collects what a Kafka session reports, and ways to feed it. */
import type { SessionContext } from '../../../src/dissect/dissector.js';
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import { KafkaSession } from '../../../src/dissect/kafka/session.js';
import { type Collected, collectingContext, type Emitted } from '../../support/session-context.js';

export const CLIENT: EntryEndpoint = { ip: '198.18.9.10', port: 50100 };
export const SERVER: EntryEndpoint = { ip: '198.18.9.20', port: 9092 };

export type { Collected, Emitted };

export function context(): SessionContext & Collected {
  return collectingContext(CLIENT, SERVER);
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
