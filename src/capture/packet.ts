/**
 * What a capture source hands to the decoder: one packet as a view into the source's chunk buffer.
 * The object is reused for every packet and `data` is overwritten by the next read, so a consumer
 * copies whatever must outlive its callback (zero-copy by default, gopacket's NoCopy contract).
 */
export class CapturedPacket {
  /** The source's buffer; the packet is `data[offset, offset + caplen)`. */
  data: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** Bytes captured (after snap length). */
  caplen = 0;
  /** Bytes on the wire (the frame length tshark counts). */
  wirelen = 0;
  /** Capture time in whole microseconds since the Unix epoch. */
  tsMicros = 0;
  /** A LINKTYPE_* value (https://www.tcpdump.org/linktypes.html). */
  linkType = 0;
  /** pcapng interface index (0 for pcap and live sources with one interface). */
  interfaceId = 0;
  /** Byte offset of the packet's record in its file, for error messages. */
  recordOffset = 0;
}

/** LINKTYPE_* values podwire decodes (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in the capturing host's byte order
  ETHERNET: 1,
  RAW_OLD: 12, // DLT_RAW on some BSDs, raw IP
  LOOP: 108, // OpenBSD loopback: address family in network byte order
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export type PacketHandler = (pkt: CapturedPacket) => void;
