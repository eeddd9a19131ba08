/**
 * DNS (RFC 1035) over UDP and TCP, with AAAA (RFC 3596), SRV (RFC 2782), EDNS(0) (RFC 6891) and its
 * client subnet option (RFC 7871), SVCB/HTTPS (RFC 9460), CAA (RFC 8659) and multicast DNS (RFC 6762).
 * Two dissectors share the parser: `dns` for datagrams, `dns-tcp` for length-prefixed streams.
 */
import type { TcpDissector, UdpDissector } from '../dissector.js';
import { detectDatagram, detectStream } from './detect.js';
import { DnsTcpSession } from './tcp.js';
import { DnsUdpHandler, MDNS_PORT } from './udp.js';

const SPEC = 'RFC 1035; RFC 3596, 2782, 6891, 7871, 9460, 8659; mDNS RFC 6762';

export const dnsUdpDissector: UdpDissector = {
  name: 'dns',
  protocol: 'dns',
  // 5355: LLMNR (RFC 4795) shares DNS's message format.
  ports: [53, MDNS_PORT, 5355],
  spec: SPEC,
  detect: detectDatagram,
  createHandler: (ctx) => new DnsUdpHandler(ctx),
};

export const dnsTcpDissector: TcpDissector = {
  name: 'dns-tcp',
  protocol: 'dns',
  ports: [53],
  spec: SPEC,
  detect: (_dir, data) => detectStream(data),
  createSession: (ctx) => new DnsTcpSession(ctx),
};
