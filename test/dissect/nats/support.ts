/** A fake session context and a driver for one NATS connection. */
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import { NatsSession } from '../../../src/dissect/nats/session.js';
import { collectingContext, type Emitted } from '../../support/session-context.js';

export type { Emitted };

export const CLIENT: EntryEndpoint = { ip: '198.18.21.10', port: 41000 };
export const SERVER: EntryEndpoint = { ip: '198.18.21.42', port: 4222 };

export const INFO =
  'INFO {"server_id":"S1","version":"2.10.7","proto":1,"headers":true,"max_payload":1048576}\r\n';

export class Conn {
  readonly ctx = collectingContext(CLIENT, SERVER);
  readonly entries: Emitted[] = this.ctx.entries;
  readonly errors: string[] = this.ctx.errors;
  readonly session = new NatsSession(this.ctx);
  ts = 1_000_000;

  /** `at`, or 100 µs after the last call. */
  private tick(at?: number): number {
    this.ts = at ?? this.ts + 100;
    return this.ts;
  }

  c(s: string | Uint8Array, at?: number): this {
    this.session.onData(0, typeof s === 'string' ? Buffer.from(s) : s, this.tick(at));
    return this;
  }

  s(s: string | Uint8Array, at?: number): this {
    this.session.onData(1, typeof s === 'string' ? Buffer.from(s) : s, this.tick(at));
    return this;
  }

  close(): this {
    this.session.onClose(this.ts + 100);
    return this;
  }

  rows(): (string | number | null)[][] {
    return this.entries.map((e) => [e.method, e.path, e.status]);
  }
}
