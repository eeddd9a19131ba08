/**
 * UDP datagrams to the UDP dissectors (DNS): decode-as first, then the dissectors whose ports match,
 * then the rest, each asked to `detect` the payload. One handler per dissector serves every
 * datagram, so query/response matching lives in the dissector.
 */
import type { DecodedPacket } from '../decode/packet.js';
import { formatIp } from '../wire/bytes.js';
import type { UdpDissector, UdpHandler } from './dissector.js';
import type { Entry, Protocol } from './entry.js';

export interface UdpDispatchOptions {
  dissectors: readonly UdpDissector[];
  decodeAs?: ReadonlyMap<number, string>;
  onEntry(entry: Entry): void;
  onParseError?(protocol: Protocol, detail: string): void;
  /** A handler threw (a bug): the datagram is dropped and counted, the run goes on. */
  onException?(protocol: Protocol, error: unknown): void;
}

interface Slot {
  dissector: UdpDissector;
  handler: UdpHandler;
}

export class UdpDispatcher {
  private readonly handlers: Slot[];
  private seq = 0;

  constructor(private readonly options: UdpDispatchOptions) {
    this.handlers = options.dissectors.map((dissector) => ({
      dissector,
      handler: dissector.createHandler({
        emit: (e) =>
          options.onEntry({ type: 'entry', id: `u${++this.seq}`, connectionId: null, ...e } as Entry),
        parseError: (detail) => options.onParseError?.(dissector.protocol, detail),
      }),
    }));
  }

  onDatagram(d: DecodedPacket): void {
    if (d.payloadLength <= 0 || this.handlers.length === 0) return;
    const data = d.data.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength);
    const target = this.choose(d.srcPort, d.dstPort, data);
    if (!target) return;
    this.guard(target, () =>
      target.handler.onDatagram(
        { ip: formatIp(d.src0, d.src1, d.src2, d.src3), port: d.srcPort },
        { ip: formatIp(d.dst0, d.dst1, d.dst2, d.dst3), port: d.dstPort },
        data,
        d.tsMicros,
      ),
    );
  }

  /**
   * Decode-as first; then a dissector on its own port; then any that recognises the payload. A
   * datagram on a dissector's port that nobody recognises is counted as malformed for it (tshark
   * marks such a datagram malformed too), not silently skipped.
   */
  private choose(srcPort: number, dstPort: number, data: Uint8Array): Slot | null {
    const forced = this.options.decodeAs?.get(dstPort) ?? this.options.decodeAs?.get(srcPort);
    if (forced) return this.handlers.find((h) => h.dissector.name === forced) ?? null;
    let fallback: Slot | null = null;
    let refused: Slot | null = null;
    for (const slot of this.handlers) {
      const { dissector } = slot;
      const onPort = dissector.ports.includes(dstPort) || dissector.ports.includes(srcPort);
      if (onPort) {
        if (dissector.detect(data) === 'yes') return slot;
        refused ??= slot;
      } else if (!fallback && dissector.detect(data) === 'yes') fallback = slot;
    }
    if (!fallback && refused)
      this.options.onParseError?.(
        refused.dissector.protocol,
        `a ${data.length}-byte datagram on port ${refused.dissector.ports.includes(dstPort) ? dstPort : srcPort} is not ${refused.dissector.name}`,
      );
    return fallback;
  }

  tick(ts: number): void {
    for (const h of this.handlers) this.guard(h, () => h.handler.tick(ts));
  }

  close(ts: number): void {
    for (const h of this.handlers) this.guard(h, () => h.handler.close(ts));
  }

  private guard(slot: Slot, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.onException?.(slot.dissector.protocol, err);
    }
  }
}
