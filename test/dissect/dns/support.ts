/** Fake contexts that collect what a DNS handler or session reports. */
import type { SessionContext, UdpContext } from '../../../src/dissect/dissector.js';
import type { DnsEntry } from '../../../src/dissect/dns/summary.js';
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import { collectingContext } from '../../support/session-context.js';

export interface Collected {
  entries: DnsEntry[];
  errors: string[];
}

export function udpContext(): UdpContext & Collected {
  const entries: DnsEntry[] = [];
  const errors: string[] = [];
  return { entries, errors, emit: (e) => entries.push(e), parseError: (d) => errors.push(d) };
}

export const CLIENT: EntryEndpoint = { ip: '198.18.14.10', port: 40000 };
export const SERVER: EntryEndpoint = { ip: '198.18.14.53', port: 53 };

export function tcpContext(): SessionContext & Collected {
  return collectingContext<DnsEntry>(CLIENT, SERVER);
}
