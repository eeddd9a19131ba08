/** A fake SessionContext that collects what a PostgreSQL session reports, and a conversation driver. */
import type { SessionContext, TcpSession } from '../../../src/dissect/dissector.js';
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import type { PostgresEntry } from '../../../src/dissect/postgres/exchange.js';
import { PostgresSession } from '../../../src/dissect/postgres/session.js';
import type { Bytes } from './build.js';

export const CLIENT: EntryEndpoint = { ip: '198.18.20.10', port: 40000 };
export const SERVER: EntryEndpoint = { ip: '198.18.20.5', port: 5432 };

type Emitted = PostgresEntry & { src?: EntryEndpoint; dst?: EntryEndpoint };

export interface Collected {
  entries: Emitted[];
  errors: string[];
  annotations: Record<string, unknown>;
  /** switchTo calls, and the bytes handed to the new session per direction. */
  switched: { name: string; data: [number[], number[]] }[];
}

export function context(): SessionContext & Collected {
  const c: Collected = { entries: [], errors: [], annotations: {}, switched: [] };
  return {
    ...c,
    connectionId: 1,
    client: CLIENT,
    server: SERVER,
    emit: (e) => c.entries.push(e),
    parseError: (d) => c.errors.push(d),
    annotate: (k, v) => {
      c.annotations[k] = v;
    },
    switchTo: (name): TcpSession => {
      const s = { name, data: [[], []] as [number[], number[]] };
      c.switched.push(s);
      return {
        onData: (dir, data) => s.data[dir].push(...data),
        onGap: () => {},
        onEnd: () => {},
        onClose: () => {},
      };
    },
  };
}

/** One step of a conversation: who sends, what, and when (µs). */
export type Step = [0 | 1, Bytes, number?];

/** Runs a conversation through a fresh session, each step one chunk; closes it. */
export function converse(
  steps: Step[],
  close = true,
): { ctx: SessionContext & Collected; session: PostgresSession } {
  const ctx = context();
  const session = new PostgresSession(ctx);
  let ts = 1_000_000;
  for (const [dir, data, at] of steps) {
    ts = at ?? ts + 1000;
    session.onData(dir, data, ts);
  }
  if (close) session.onClose(ts + 1000);
  return { ctx, session };
}
