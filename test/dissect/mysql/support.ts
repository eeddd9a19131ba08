/** A fake SessionContext that collects what a MySQL session reports, and a way to drive one. */
import type { SessionContext, TcpSession } from '../../../src/dissect/dissector.js';
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import { MysqlSession } from '../../../src/dissect/mysql/session.js';
import type { EntryFields } from '../../../src/dissect/mysql/summary.js';

export const CLIENT: EntryEndpoint = { ip: '198.18.30.10', port: 40000 };
export const SERVER: EntryEndpoint = { ip: '198.18.30.20', port: 3306 };

export interface Collected {
  entries: EntryFields[];
  errors: string[];
  annotations: Record<string, unknown>;
  /** Bytes handed to the session a switchTo returned, per direction. */
  switched: { name: string; data: Uint8Array[] } | null;
}

export function context(): SessionContext & Collected {
  const c: SessionContext & Collected = {
    entries: [],
    errors: [],
    annotations: {},
    switched: null,
    connectionId: 1,
    client: CLIENT,
    server: SERVER,
    emit: (e) => c.entries.push(e),
    parseError: (d) => c.errors.push(d),
    annotate: (k, v) => {
      c.annotations[k] = v;
    },
    switchTo: (name): TcpSession => {
      const sw = { name, data: [] as Uint8Array[] };
      c.switched = sw;
      return {
        onData: (_dir, data) => sw.data.push(data.slice()),
        onGap: () => {},
        onEnd: () => {},
        onClose: () => {},
      };
    },
  };
  return c;
}

export type Step = [dir: 0 | 1, data: Uint8Array] | ['gap', dir: 0 | 1, bytes: number];

/** Runs a conversation through a fresh session; each step is one segment (10 µs apart). */
export function run(
  steps: Step[],
  session?: (ctx: SessionContext) => MysqlSession,
): Collected & { session: MysqlSession } {
  const ctx = context();
  const s = session ? session(ctx) : new MysqlSession(ctx);
  let ts = 1_000_000;
  for (const st of steps) {
    ts += 10;
    if (st[0] === 'gap') s.onGap(st[1], st[2], ts);
    else s.onData(st[0], st[1], ts);
  }
  s.onClose(ts + 10);
  return { ...ctx, session: s };
}
