/** A fake session context, RESP encoders that write exact bytes, and a driver for one connection. */
import type { SessionContext } from '../../../src/dissect/dissector.js';
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import { RedisSession } from '../../../src/dissect/redis/session.js';
import { type Collected, collectingContext, type Emitted } from '../../support/session-context.js';

export const CLIENT: EntryEndpoint = { ip: '198.18.20.10', port: 40000 };
export const SERVER: EntryEndpoint = { ip: '198.18.20.63', port: 6379 };

export type { Collected, Emitted };

export function context(): SessionContext & Collected {
  return collectingContext(CLIENT, SERVER);
}

/** A command as clients send it: an array of bulk strings (spec, "Sending commands"). */
export function cmd(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

export const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
export const simple = (s: string) => `+${s}\r\n`;
export const err = (s: string) => `-${s}\r\n`;
export const int = (n: number) => `:${n}\r\n`;
export const arr = (...items: string[]) => `*${items.length}\r\n${items.join('')}`;
export const push = (...items: string[]) => `>${items.length}\r\n${items.join('')}`;

/** Latin-1: one byte per character, for byte-exact fixtures. */
export const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** One connection driven by hand: `c` sends from the client, `s` from the server (strings as UTF-8), time in µs. */
export class Conn {
  readonly ctx = context();
  readonly session = new RedisSession(this.ctx);
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

  close(): Collected {
    this.session.onClose(this.ts + 100);
    return this.ctx;
  }
}
