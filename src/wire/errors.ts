/**
 * The catalogue of counted errors. A sniffer reads hostile and broken bytes all day: none of these
 * stop the pipeline, each is counted under its code and shown in the summary, the agent's status and
 * (later) the metrics. docs/errors.md documents every code; test/wire/errors.test.ts keeps the two
 * in step.
 */
export const ERROR_CODES = {
  'capture.truncated': 'The capture file ends in the middle of a record (the writer was cut off).',
  'capture.corrupt': 'A record or block header is impossible (bad length, bad magic); reading stops there.',
  'capture.unknown_interface':
    'A pcapng packet names an interface that no Interface Description Block declared.',
  'link.unsupported': 'The link type of the capture is not one podwire decodes; the packet is skipped.',
  'link.truncated': 'A packet is shorter than its link-layer header.',
  'ipv4.truncated': 'A packet is shorter than its IPv4 header or total length.',
  'ipv4.bad_header': 'IPv4 header length below 20 bytes or total length below the header length.',
  'ipv6.truncated': 'A packet is shorter than its IPv6 header, payload length or an extension header.',
  'ipv6.bad_extension': 'An IPv6 extension header chain is malformed or too long.',
  'ip.bad_version': 'The IP version nibble does not match the link layer (neither 4 nor 6).',
  'fragment.bad': 'An IP fragment is impossible (offset past 65535, overlap that changes bytes).',
  'fragment.limit': 'Too many datagrams were being reassembled at once; the oldest was dropped.',
  'fragment.timeout': 'A fragmented datagram never completed within the reassembly timeout.',
  'tcp.truncated': 'A packet is shorter than its TCP header.',
  'tcp.bad_offset': 'The TCP data offset is below 5 words or past the end of the segment.',
  'udp.truncated': 'A packet is shorter than its UDP header.',
  'udp.bad_length': 'The UDP length field is below 8 or past the end of the datagram.',
  'tunnel.truncated':
    'A tunnel header (VXLAN, Geneve, GRE, ERSPAN) or the frame inside it is cut short; the packet is skipped.',
  'tunnel.too_deep': 'Tunnels nested more than 4 deep (taken for hostile); the packet is skipped.',
  'flows.table_full': 'The connection table was full; the packet was counted but its connection not tracked.',
  'dissect.malformed':
    'A dissector met bytes that break its protocol; it resynchronised or gave up on the stream.',
  'dissect.exception':
    'A dissector threw on bytes it did not expect (a podwire bug); that connection is no longer dissected.',
  'reassembly.buffer_overflow':
    'Out-of-order data exceeded the per-connection or global buffer cap; the hole was skipped as a gap.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Counters by error code; cheap enough to bump on the hot path. */
export class ErrorCounters {
  private readonly counts = new Map<ErrorCode, number>();

  add(code: ErrorCode, n = 1): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + n);
  }

  get(code: ErrorCode): number {
    return this.counts.get(code) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** Codes in catalogue order, zero counts left out. */
  toJSON(): Partial<Record<ErrorCode, number>> {
    const out: Partial<Record<ErrorCode, number>> = {};
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const n = this.counts.get(code);
      if (n) out[code] = n;
    }
    return out;
  }
}
