/**
 * Pairs one connection's hellos into handshakes: a ClientHello, the server's answer (a ServerHello,
 * or a HelloRetryRequest then a second ClientHello and ServerHello, RFC 8446 §4.1.4), and for TLS 1.2
 * and below the server's certificate chain. A handshake is complete — and handed on as one entry —
 * when nothing more of it travels in clear: a TLS 1.3 ServerHello (the rest is encrypted), a
 * ServerHelloDone, the server's ChangeCipherSpec (an abbreviated handshake), a fatal alert, or the
 * connection's end.
 */
import type { CertificateSummary } from './certificate.js';
import type { ClientHello, ServerHello } from './messages.js';

export interface Handshake {
  /** When the first ClientHello's first byte arrived (µs); the server's first hello when none. */
  ts: number;
  client: ClientHello | null;
  /** The second ClientHello, sent after a HelloRetryRequest. */
  retry: ClientHello | null;
  helloRetryRequest: ServerHello | null;
  server: ServerHello | null;
  /** When the server's first hello (HelloRetryRequest or ServerHello) arrived. */
  serverTs: number | null;
  certificates: CertificateSummary[] | null;
  alert: { from: 'client' | 'server'; level: number; description: number } | null;
  /** Handshake bytes on the wire (messages plus the headers of the records that carried them). */
  requestSize: number;
  responseSize: number;
  /** What was lost or odd (becomes the entry's `error`). */
  problems: string[];
}

export class HandshakeMatcher {
  private pending: Handshake | null = null;
  /** Handshakes completed on this connection. */
  completed = 0;
  /** The version the latest ServerHello (not a HelloRetryRequest) negotiated; null before one. */
  private negotiated: number | null = null;

  constructor(private readonly complete: (h: Handshake) => void) {}

  /**
   * Whether a ChangeCipherSpec switches its sender to encrypted records: only once a ServerHello has
   * negotiated TLS 1.2 or below (RFC 5246 §7.1). In TLS 1.3 it is a middlebox courtesy (RFC 8446
   * §D.4) that may even precede a second ClientHello; before any ServerHello it cannot mean new keys.
   */
  get cipherChangeEncrypts(): boolean {
    return this.negotiated !== null && this.negotiated < 0x0304;
  }

  clientHello(hello: ClientHello, ts: number, size: number): void {
    const p = this.pending;
    if (p?.helloRetryRequest && !p.retry && !p.server) {
      p.retry = hello;
      p.requestSize += size;
      return;
    }
    if (p) this.finish();
    this.pending = this.fresh(ts, hello);
    this.pending.requestSize = size;
  }

  serverHello(hello: ServerHello, ts: number, size: number): void {
    let p = this.pending;
    if (!p || p.server) {
      if (p) this.finish();
      p = this.fresh(ts, null);
      p.problems.push('ClientHello not seen (capture started mid-handshake)');
      this.pending = p;
    }
    p.serverTs ??= ts;
    p.responseSize += size;
    if (hello.helloRetryRequest && !p.helloRetryRequest) {
      p.helloRetryRequest = hello;
      return;
    }
    p.server = hello;
    this.negotiated = hello.selectedVersion ?? hello.legacyVersion;
    // RFC 8446 §4.1.3: everything after a TLS 1.3 ServerHello is encrypted.
    if ((hello.selectedVersion ?? hello.legacyVersion) === 0x0304) this.finish();
  }

  /** A server handshake message that is neither hello: counted, certificates kept. */
  serverMessage(size: number, certificates?: CertificateSummary[]): void {
    const p = this.pending;
    if (!p) return;
    p.responseSize += size;
    if (certificates && !p.certificates) p.certificates = certificates;
  }

  problem(detail: string): void {
    this.pending?.problems.push(detail);
  }

  alert(from: 'client' | 'server', level: number, description: number): void {
    const p = this.pending;
    if (!p || p.alert) return;
    p.alert = { from, level, description };
    // RFC 8446 §6.2: a fatal alert (level 2) ends the connection, so the handshake is over.
    if (level === 2) this.finish();
  }

  /** The server stopped sending in clear (ServerHelloDone, ChangeCipherSpec, encrypted data). */
  serverDone(): void {
    if (this.pending?.server || this.pending?.helloRetryRequest) this.finish();
  }

  /** The connection ended: what is pending is reported as it stands. */
  flush(): void {
    if (this.pending) this.finish();
  }

  private fresh(ts: number, client: ClientHello | null): Handshake {
    return {
      ts,
      client,
      retry: null,
      helloRetryRequest: null,
      server: null,
      serverTs: null,
      certificates: null,
      alert: null,
      requestSize: 0,
      responseSize: 0,
      problems: [],
    };
  }

  private finish(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    this.completed++;
    this.complete(p);
  }
}
