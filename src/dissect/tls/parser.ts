/**
 * One direction of a TLS connection, from bytes to handshake events: record layer (records.ts) ->
 * handshake reassembly (handshake.ts) -> message parsers (messages.ts). It knows when its direction
 * turns encrypted — after its ChangeCipherSpec once TLS 1.2 or below is negotiated (RFC 5246 §7.1);
 * in TLS 1.3 encrypted records travel as application_data (RFC 8446 §5.2) and ChangeCipherSpec is
 * only a middlebox courtesy (§D.4) — and from then on only counts records.
 */
import type { Direction } from '../../flows/stream.js';
import { type CertificateSummary, summarizeCertificate } from './certificate.js';
import { ContentType, HandshakeType } from './constants.js';
import { HandshakeReassembler, MAX_HANDSHAKE_MESSAGE } from './handshake.js';
import {
  type ClientHello,
  parseCertificateList,
  parseClientHello,
  parseServerHello,
  parseSslv2ClientHello,
  type ServerHello,
} from './messages.js';
import { RecordLayer } from './records.js';
import type { RecordCounts } from './summary.js';

/** What a direction reports to the connection (the session wires it to the matcher). */
export interface DirectionEvents {
  clientHello(hello: ClientHello, ts: number, size: number): void;
  serverHello(hello: ServerHello, ts: number, size: number): void;
  /** Another plaintext handshake message of the server; certificates when it was a Certificate. */
  serverMessage(type: number, size: number, certificates?: CertificateSummary[]): void;
  changeCipherSpec(dir: Direction): void;
  alert(dir: Direction, level: number, description: number): void;
  /** An application_data record (or any record once encrypted). */
  encrypted(dir: Direction): void;
  /** Bad bytes: counted as a parse error. */
  malformed(detail: string): void;
  /** Something the handshake lost without the bytes being wrong (a gap, an oversized message). */
  problem(detail: string): void;
  /** Whether a ChangeCipherSpec now switches its sender to encrypted records. */
  readonly cipherChangeEncrypts: boolean;
}

export class DirectionParser {
  private readonly records: RecordLayer;
  private readonly handshake: HandshakeReassembler;
  private encrypted = false;
  private ts = 0;
  /** Headers of handshake records not yet attributed to a completed message. */
  private headerBytes = 0;
  private readonly alertBytes = new Uint8Array(2);
  private alertLen = 0;
  /** Records after the handshake (encrypted or application data): counted, never kept. */
  readonly appData: RecordCounts = { records: 0, bytes: 0 };

  constructor(
    readonly dir: Direction,
    private readonly events: DirectionEvents,
  ) {
    this.handshake = new HandshakeReassembler({
      onMessage: (type, body, length, ts) => this.onMessage(type, body, length, ts),
    });
    this.records = new RecordLayer(
      {
        onRecordStart: (type, _version, length) => this.onRecordStart(type, length),
        onRecordData: (type, data) => this.onRecordData(type, data),
        onRecordEnd: (type) => this.onRecordEnd(type),
        onMalformed: (detail) => {
          this.handshake.reset();
          this.events.malformed(detail);
        },
        onSslv2Hello: (body) => this.onSslv2Hello(body),
      },
      dir === 0,
    );
  }

  push(data: Uint8Array, ts: number): void {
    this.ts = ts;
    this.records.push(data);
  }

  gap(bytes: number): void {
    const inStep = this.records.gap(bytes);
    // Losing application data costs nothing; losing handshake bytes costs the message in progress.
    if (!inStep || !this.encrypted) {
      if (!this.handshake.idle || !inStep) this.events.problem(`${bytes} bytes lost in the stream`);
      this.handshake.reset();
    }
  }

  private onRecordStart(type: number, length: number): void {
    if (this.encrypted || type === ContentType.applicationData) {
      this.appData.records++;
      this.appData.bytes += 5 + length;
      this.events.encrypted(this.dir);
      return;
    }
    if (type === ContentType.handshake) this.headerBytes += 5;
    this.alertLen = 0;
  }

  private onRecordData(type: number, data: Uint8Array): void {
    if (this.encrypted) return;
    if (type === ContentType.handshake) this.handshake.push(data, this.ts);
    else if (type === ContentType.alert) {
      const n = Math.min(2 - this.alertLen, data.length);
      this.alertBytes.set(data.subarray(0, n), this.alertLen);
      this.alertLen += n;
    }
  }

  private onRecordEnd(type: number): void {
    if (this.encrypted) return;
    if (type === ContentType.changeCipherSpec) {
      this.events.changeCipherSpec(this.dir);
      // RFC 5246 §7.1: what follows ChangeCipherSpec is under the new keys.
      if (this.events.cipherChangeEncrypts) this.encrypted = true;
    } else if (type === ContentType.alert && this.alertLen === 2) {
      this.events.alert(this.dir, this.alertBytes[0]!, this.alertBytes[1]!);
    }
  }

  private onMessage(type: number, body: Uint8Array | null, length: number, ts: number): void {
    const size = 4 + length + this.headerBytes;
    this.headerBytes = 0;
    if (body === null) {
      this.events.malformed(
        `RFC 8446 §4: handshake message type ${type} of ${length} bytes exceeds podwire's ${MAX_HANDSHAKE_MESSAGE}-byte cap; skipped`,
      );
      this.events.problem(`handshake message type ${type} of ${length} bytes not kept (cap)`);
      if (this.dir === 1) this.events.serverMessage(type, size);
      return;
    }
    if (this.dir === 0) {
      if (type === HandshakeType.clientHello) {
        const r = parseClientHello(body);
        if (r.ok) {
          for (const w of r.value.warnings) this.events.malformed(w);
          this.events.clientHello(r.value, ts, size);
        } else this.events.malformed(r.error);
      } else if (type === HandshakeType.serverHello) {
        this.events.malformed('RFC 8446 §4.1.3: ServerHello sent by the client');
      }
      // The client's other plaintext messages (ClientKeyExchange, Certificate…) are not read.
      return;
    }
    if (type === HandshakeType.serverHello) {
      const r = parseServerHello(body);
      if (r.ok) {
        for (const w of r.value.warnings) this.events.malformed(w);
        this.events.serverHello(r.value, ts, size);
      } else this.events.malformed(r.error);
      return;
    }
    if (type === HandshakeType.clientHello) {
      this.events.malformed('RFC 8446 §4.1.2: ClientHello sent by the server');
      return;
    }
    let certificates: CertificateSummary[] | undefined;
    if (type === HandshakeType.certificate) {
      const r = parseCertificateList(body);
      if (r.ok) {
        certificates = [];
        for (const der of r.value) {
          const c = summarizeCertificate(der);
          if (c.ok) certificates.push(c.value);
          else this.events.malformed(c.error);
        }
      } else this.events.malformed(r.error);
    }
    this.events.serverMessage(type, size, certificates);
  }

  private onSslv2Hello(body: Uint8Array): void {
    const r = parseSslv2ClientHello(body);
    if (r.ok) this.events.clientHello(r.value, this.ts, 2 + body.length);
    else this.events.malformed(r.error);
  }
}
