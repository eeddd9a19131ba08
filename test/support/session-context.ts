/**
 * A SessionContext for driving one dissector session directly in a test: it collects the entries
 * (with the connection's endpoints filled in, as the router does) and the parse errors, and
 * ignores annotations and protocol switches.
 */
import type { SessionContext, TcpSession } from '../../src/dissect/dissector.js';
import type { Entry, EntryEndpoint } from '../../src/dissect/entry.js';

export type Emitted = Omit<Entry, 'type' | 'id' | 'connectionId'>;

export interface Collected<E = Emitted> {
  entries: E[];
  errors: string[];
}

export function collectingContext<E = Emitted>(
  client: EntryEndpoint,
  server: EntryEndpoint,
): SessionContext & Collected<E> {
  const entries: E[] = [];
  const errors: string[] = [];
  return {
    entries,
    errors,
    connectionId: 1,
    client,
    server,
    emit: (e) => entries.push({ src: client, dst: server, ...e } as E),
    parseError: (d) => errors.push(d),
    annotate: () => {},
    switchTo: (): TcpSession | null => null,
  };
}
