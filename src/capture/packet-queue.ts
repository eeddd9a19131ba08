/**
 * The agent's queue between reading the kernel rings and the pipeline: copies of packets, first in
 * first out, in one bounded buffer shared by every interface.
 *
 * Why it exists: the libpcap binding's `dispatch` reads one interface's ring until it is empty
 * (live-source.ts). With the pipeline called from inside that read, an agent that falls behind
 * reads one ring for as long as the pipeline takes, while the other rings fill and drop; and the
 * two copies of a pod-to-pod packet (one per veth) reach the cross-interface dedupe hundreds of
 * thousands of packets apart, too far for its table (dedupe.ts). Reading into this queue costs a
 * copy (tens of nanoseconds) instead of the pipeline's microseconds, so every ring is emptied
 * promptly, in turn; the pipeline then takes the packets in the order they were read, in slices
 * that leave the event loop free to read again. A full queue refuses the packet (the caller counts
 * it as shed): the loss is the agent's, counted per interface, as the kernel's would have been.
 *
 * Layout: packet bytes in one byte ring (a packet never wraps: the end of the buffer is skipped when
 * it does not fit), and each packet's header (offset, lengths, time, interface, link type) in
 * parallel typed-array rings. When the queue empties both rings start again at 0, so at low rates
 * only the first pages of the buffer are ever touched (resident).
 */
import { CapturedPacket, type PacketHandler } from './packet.js';

/** Headers per byte of capacity: one per 64 bytes, the size of a minimal Ethernet frame plus a little. */
const BYTES_PER_HEADER = 64;

export class PacketQueue {
  /** Packets refused because the queue was full. */
  refused = 0;
  private readonly data: Uint8Array;
  private readonly offsets: Uint32Array;
  private readonly caplens: Uint32Array;
  private readonly wirelens: Uint32Array;
  private readonly times: Float64Array;
  private readonly ifaces: Int32Array;
  private readonly linkTypes: Uint16Array;
  /** Header ring: the oldest packet's slot, and how many are queued. */
  private head = 0;
  private count = 0;
  /** Byte ring: where the next packet's bytes go, and bytes held (skipped ends included). */
  private tail = 0;
  private held = 0;
  private readonly out = new CapturedPacket();

  /** @param capacity bytes of packet data the queue holds at most (at least 64 KiB) */
  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 65_536)
      throw new RangeError(`queue capacity must be at least 65536 bytes, got ${capacity}`);
    this.data = new Uint8Array(capacity);
    const slots = Math.ceil(capacity / BYTES_PER_HEADER);
    this.offsets = new Uint32Array(slots);
    this.caplens = new Uint32Array(slots);
    this.wirelens = new Uint32Array(slots);
    this.times = new Float64Array(slots);
    this.ifaces = new Int32Array(slots);
    this.linkTypes = new Uint16Array(slots);
    this.out.data = this.data;
  }

  /** Packets waiting. */
  get length(): number {
    return this.count;
  }

  /** Bytes of the buffer in use (packets, and ends skipped by packets that did not fit there). */
  get bytes(): number {
    return this.held;
  }

  /** Capture time of the oldest packet waiting (µs); Infinity when none waits. */
  get oldestTs(): number {
    return this.count === 0 ? Number.POSITIVE_INFINITY : this.times[this.head]!;
  }

  /** Copies `pkt` in. False, and counted in `refused`, when it does not fit. */
  push(pkt: CapturedPacket): boolean {
    const slots = this.offsets.length;
    const len = pkt.caplen;
    // An empty packet still takes a byte, so that packets' offsets always differ.
    const size = len === 0 ? 1 : len;
    if (this.count === slots || size > this.capacity) return this.refuse();
    if (this.count === 0) {
      this.tail = 0;
      this.held = 0;
    }
    const cap = this.capacity;
    const headOff = this.count === 0 ? 0 : this.offsets[this.head]!;
    let at = this.tail;
    if (this.count === 0 || this.tail > headOff) {
      // In use: [headOff, tail). Free: [tail, cap), then [0, headOff) after skipping the end.
      if (cap - this.tail < size) {
        if (headOff < size) return this.refuse();
        this.held += cap - this.tail;
        at = 0;
      }
    } else if (headOff - this.tail < size) {
      // Wrapped. Free: [tail, headOff).
      return this.refuse();
    }
    this.data.set(pkt.data.subarray(pkt.offset, pkt.offset + len), at);
    let slot = this.head + this.count;
    if (slot >= slots) slot -= slots;
    this.offsets[slot] = at;
    this.caplens[slot] = len;
    this.wirelens[slot] = pkt.wirelen;
    this.times[slot] = pkt.tsMicros;
    this.ifaces[slot] = pkt.interfaceId;
    this.linkTypes[slot] = pkt.linkType;
    this.count++;
    this.tail = at + size;
    this.held += size;
    return true;
  }

  /**
   * Hands the packets waiting to `handler`, oldest first, until none is left or `untilMs`
   * (performance.now()) has passed; returns how many. The packet is a view into the queue's buffer,
   * valid only during the call (the CapturedPacket contract). At least one packet is handed over
   * when any waits, whatever the deadline.
   */
  drain(
    handler: PacketHandler,
    untilMs = Number.POSITIVE_INFINITY,
    now: () => number = performance.now.bind(performance),
  ): number {
    const out = this.out;
    const slots = this.offsets.length;
    let n = 0;
    while (this.count > 0) {
      const i = this.head;
      const off = this.offsets[i]!;
      const len = this.caplens[i]!;
      out.offset = off;
      out.caplen = len;
      out.wirelen = this.wirelens[i]!;
      out.tsMicros = this.times[i]!;
      out.interfaceId = this.ifaces[i]!;
      out.linkType = this.linkTypes[i]!;
      // Released before the call: a handler that throws does not leave the packet to be handed again.
      this.head = i + 1 === slots ? 0 : i + 1;
      this.count--;
      if (this.count === 0) {
        this.held = 0;
        this.tail = 0;
      } else {
        // What the buffer held before the next packet: this one, and the end skipped if it wrapped.
        const next = this.offsets[this.head]!;
        this.held -= next > off ? next - off : this.capacity - off;
      }
      n++;
      handler(out);
      // The clock is read every 64 packets: well under a millisecond of pipeline work.
      if ((n & 63) === 0 && now() >= untilMs) break;
    }
    return n;
  }

  private refuse(): false {
    this.refused++;
    return false;
  }
}
