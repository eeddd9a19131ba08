/**
 * DNS over UDP (RFC 1035 §4.2.1): one handler for every datagram, pairing each response with its
 * query by (client ip:port, server ip:port, ID). Multicast DNS (RFC 6762) is special: multicast
 * queries from port 5353 and multicast responses answer no one in particular (§6: responses carry
 * ID 0 and go to the group), so each is an entry of its own; a one-shot query from another port
 * (§6.7), like an LLMNR query (RFC 4795 §2.1), is answered by unicast from whichever host knows.
 */
import type { UdpContext, UdpHandler } from '../dissector.js';
import type { EntryEndpoint } from '../entry.js';
import { PendingTable } from './matcher.js';
import { parseMessage } from './parser.js';
import { answers, buildEntry, isMulticast, type Seen } from './summary.js';

export const MDNS_PORT = 5353;

export interface DnsUdpOptions {
  pendingCap?: number;
  timeoutMicros?: number;
}

const key = (client: EntryEndpoint, server: string, id: number): string =>
  `${client.ip}|${client.port}|${server}|${id}`;

export class DnsUdpHandler implements UdpHandler {
  private readonly pending: PendingTable<string, Seen>;

  constructor(
    private readonly ctx: UdpContext,
    options: DnsUdpOptions = {},
  ) {
    this.pending = new PendingTable(options.pendingCap, options.timeoutMicros);
  }

  onDatagram(src: EntryEndpoint, dst: EntryEndpoint, data: Uint8Array, ts: number): void {
    const mdns = src.port === MDNS_PORT || dst.port === MDNS_PORT;
    const { message, error } = parseMessage(data, { mdns });
    if (error) this.ctx.parseError(`dns ${src.ip}:${src.port} -> ${dst.ip}:${dst.port}: ${error}`);
    if (!message) return;
    const seen: Seen = { message, parseError: error, ts, size: data.length, src, dst };
    const id = message.header.id;
    const toGroup = isMulticast(dst.ip);
    if (!message.header.flags.qr) {
      if (toGroup && src.port === MDNS_PORT) {
        this.emit(seen, null, null);
        return;
      }
      const k = key(src, toGroup ? '*' : `${dst.ip}|${dst.port}`, id);
      const { replaced, evicted } = this.pending.add(k, seen, ts, seen.size);
      if (replaced) this.emit(replaced, null, 'no response (query sent again)');
      for (const q of evicted) this.emit(q, null, 'no response (too many queries pending)');
      return;
    }
    if (toGroup) {
      this.emit(null, seen, null);
      return;
    }
    const query =
      this.claim(key(dst, `${src.ip}|${src.port}`, id), seen) ?? this.claim(key(dst, '*', id), seen);
    if (query) this.emit(query, seen, null);
    else this.emit(null, seen, mdns ? null : 'no query seen');
  }

  private claim(k: string, response: Seen): Seen | null {
    const q = this.pending.peek(k);
    if (!q || !answers(q, response)) return null;
    this.pending.take(k);
    return q;
  }

  tick(ts: number): void {
    for (const q of this.pending.expire(ts)) this.emit(q, null, 'no response');
  }

  close(_ts: number): void {
    for (const q of this.pending.drain()) this.emit(q, null, 'no response');
  }

  private emit(query: Seen | null, response: Seen | null, missing: string | null): void {
    this.ctx.emit(buildEntry(query, response, missing));
  }
}
