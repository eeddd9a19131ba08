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
}

export class UdpDispatcher {
  private readonly handlers: { dissector: UdpDissector; handler: UdpHandler }[];
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
    target.onDatagram(
      { ip: formatIp(d.src0, d.src1, d.src2, d.src3), port: d.srcPort },
      { ip: formatIp(d.dst0, d.dst1, d.dst2, d.dst3), port: d.dstPort },
      data,
      d.tsMicros,
    );
  }

  private choose(srcPort: number, dstPort: number, data: Uint8Array): UdpHandler | null {
    const forced = this.options.decodeAs?.get(dstPort) ?? this.options.decodeAs?.get(srcPort);
    if (forced) return this.handlers.find((h) => h.dissector.name === forced)?.handler ?? null;
    let fallback: UdpHandler | null = null;
    for (const { dissector, handler } of this.handlers) {
      const onPort = dissector.ports.includes(dstPort) || dissector.ports.includes(srcPort);
      if (onPort && dissector.detect(data) === 'yes') return handler;
      if (!onPort && !fallback && dissector.detect(data) === 'yes') fallback = handler;
    }
    return fallback;
  }

  tick(ts: number): void {
    for (const h of this.handlers) h.handler.tick(ts);
  }

  close(ts: number): void {
    for (const h of this.handlers) h.handler.close(ts);
  }
}
