/**
 * k8spacket's active certificate check, as an option (`podwire hub --tls-dial`): a server whose
 * handshake showed no certificate on the wire is dialled, and the certificate chain it presents is
 * read, so its expiry reaches the TLS details and `k8s_packet_tls_cert_expiry`.
 *
 * Why: TLS 1.3 encrypts the Certificate message (RFC 8446 §2), and so does a resumed TLS 1.2
 * session leave it out: a passive capture sees no certificate for most of today's traffic.
 * k8spacket dialled every server it saw; podwire dials only where the wire showed nothing, and
 * only when asked, since it is traffic of our own toward the cluster's services.
 *
 * What a dial does: a TCP connection to the server's address and port, a ClientHello with the
 * handshake's SNI (none when it had none or it was an IP address: RFC 6066 §3 forbids literal
 * addresses), the server's chain read once the handshake completes, then the connection closed. No
 * application data is sent; the chain is not verified (a self-signed or expired certificate is
 * exactly what this is for). Bounded: at most `concurrency` dials at once, a queue of
 * `maxQueued`, `timeoutMs` each, one dial per (server, port, SNI) per `refreshMs` (`retryMs`
 * after a failure), `maxTargets` remembered (the oldest forgotten first).
 */
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import type { CertificateSummary } from '../../dissect/tls/certificate.js';
import { summarizeCertificate } from '../../dissect/tls/certificate.js';

export interface DialerOptions {
  timeoutMs: number;
  concurrency: number;
  maxQueued: number;
  /** A certificate read is kept this long before the server is dialled again. */
  refreshMs: number;
  /** After a failed dial, the server is not dialled again for this long. */
  retryMs: number;
  maxTargets: number;
}

export const DEFAULT_DIALER_OPTIONS: DialerOptions = {
  timeoutMs: 5000,
  concurrency: 4,
  maxQueued: 1000,
  refreshMs: 3_600_000,
  retryMs: 600_000,
  maxTargets: 10_000,
};

/** Where a certificate was read: the handshake's server and SNI ('' without one). */
export interface DialTarget {
  ip: string;
  port: number;
  domain: string;
}

export interface DialedCertificate {
  /** Leaf first, as the server sent it. */
  chain: CertificateSummary[];
  /** When the dial read it (ms since the epoch): k8spacket's `lastScrape`. */
  at: number;
}

export interface DialerStats {
  dials: number;
  /** Dials that read a certificate chain, and dials that did not. */
  read: number;
  failures: number;
  /** Dials not made because the queue was full. */
  dropped: number;
  queued: number;
  inFlight: number;
  targets: number;
  lastError: string | null;
}

interface Target extends DialTarget {
  cert: DialedCertificate | null;
  /** No dial before this time (ms). */
  next: number;
  pending: boolean;
}

export class CertificateDialer {
  private readonly opts: DialerOptions;
  private readonly targets = new Map<string, Target>();
  private readonly queue: Target[] = [];
  private readonly sockets = new Set<{ destroy(): void }>();
  private inFlight = 0;
  private closed = false;
  private readonly counters = {
    dials: 0,
    read: 0,
    failures: 0,
    dropped: 0,
    lastError: null as string | null,
  };

  constructor(
    opts: Partial<DialerOptions>,
    /** Called with each certificate chain read (for the metrics). */
    private readonly onCertificate: (target: DialTarget, cert: DialedCertificate) => void = () => {},
  ) {
    this.opts = { ...DEFAULT_DIALER_OPTIONS, ...opts };
  }

  /**
   * A handshake was seen between a client and `target`: dials the server unless the wire showed its
   * certificate (`certified`), a dial is waiting or running, or one was made recently.
   */
  observe(target: DialTarget, certified: boolean): void {
    if (this.closed || certified) return;
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535 || isIP(target.ip) === 0)
      return;
    const key = keyOf(target.ip, target.port, target.domain);
    let t = this.targets.get(key);
    const now = Date.now();
    if (t && (t.pending || now < t.next)) return;
    if (!t) {
      if (this.targets.size >= this.opts.maxTargets) this.forgetOldest();
      t = { ...target, cert: null, next: 0, pending: false };
      this.targets.set(key, t);
    }
    if (this.queue.length >= this.opts.maxQueued) {
      this.counters.dropped++;
      return;
    }
    t.pending = true;
    this.queue.push(t);
    this.pump();
  }

  /** The last certificate chain read from `ip:port` with this SNI, if any. */
  get(ip: string, port: number, domain: string): DialedCertificate | null {
    return this.targets.get(keyOf(ip, port, domain))?.cert ?? null;
  }

  stats(): DialerStats {
    return {
      ...this.counters,
      queued: this.queue.length,
      inFlight: this.inFlight,
      targets: this.targets.size,
    };
  }

  /** Ends the dials running and waiting; nothing is dialled afterwards. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private forgetOldest(): void {
    for (const [key, t] of this.targets) {
      if (t.pending) continue;
      this.targets.delete(key);
      return;
    }
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.opts.concurrency && this.queue.length > 0) {
      this.dial(this.queue.shift()!);
    }
  }

  private dial(t: Target): void {
    this.inFlight++;
    this.counters.dials++;
    const servername = t.domain !== '' && isIP(t.domain) === 0 ? t.domain : undefined;
    const socket = connect({
      host: t.ip,
      port: t.port,
      ...(servername ? { servername } : {}),
      // Read the chain whatever it is: verifying it is not the point, and nothing is sent over it.
      rejectUnauthorized: false,
    });
    this.sockets.add(socket);
    let done = false;
    const finish = (chain: CertificateSummary[] | null, error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.sockets.delete(socket);
      socket.destroy();
      this.inFlight--;
      t.pending = false;
      const now = Date.now();
      if (chain && chain.length > 0) {
        this.counters.read++;
        t.cert = { chain, at: now };
        t.next = now + this.opts.refreshMs;
        if (!this.closed) this.onCertificate({ ip: t.ip, port: t.port, domain: t.domain }, t.cert);
      } else {
        this.counters.failures++;
        this.counters.lastError = `${t.ip}:${t.port}${servername ? ` (${servername})` : ''}: ${error ?? 'no certificate'}`;
        t.next = now + this.opts.retryMs;
      }
      this.pump();
    };
    const timer = setTimeout(
      () => finish(null, `no handshake within ${this.opts.timeoutMs} ms`),
      this.opts.timeoutMs,
    );
    socket.once('secureConnect', () => finish(chainOf(socket.getPeerCertificate(true)), null));
    socket.once('error', (err) => finish(null, err.message));
    socket.once('close', () => finish(null, 'closed before the handshake completed'));
  }
}

/** A server and SNI, as the dialer remembers them. */
function keyOf(ip: string, port: number, domain: string): string {
  return `${ip}|${port}|${domain}`;
}

/** The chain as the server sent it, leaf first: node links each certificate to its issuer's. */
function chainOf(leaf: DetailedPeerCertificate): CertificateSummary[] {
  const out: CertificateSummary[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  let c: DetailedPeerCertificate | undefined = leaf;
  while (c?.raw && !seen.has(c) && out.length < 16) {
    seen.add(c);
    const s = summarizeCertificate(c.raw);
    if (!s.ok) break;
    out.push(s.value);
    // A self-signed certificate is its own issuer: the walk stops there.
    c = c.issuerCertificate;
  }
  return out;
}
