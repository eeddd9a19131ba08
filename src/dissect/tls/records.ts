/**
 * The TLS record layer of one direction, incremental (RFC 8446 §5.1, RFC 5246 §6.2.1). It holds only
 * the 5-byte header of the record in progress: record bodies are handed on as they arrive, as views
 * valid during the call, so application data is counted and never buffered. Handshake messages are
 * reassembled across records one layer up (handshake.ts), since a message may span many records and a
 * record may carry many messages.
 *
 * Malformed bytes (a header no TLS peer sends) make the layer "lost": it reports once, then scans for
 * the next plausible handshake record (a ClientHello or ServerHello) and carries on from there — the
 * resync point. A gap inside a record body keeps it in step; any other gap makes it lost, silently.
 */
import { ContentType, MAX_RECORD_LENGTH } from './constants.js';

export interface RecordSink {
  onRecordStart(type: number, version: number, length: number): void;
  /** A piece of the current record's body; a view valid only during the call. */
  onRecordData(type: number, data: Uint8Array): void;
  onRecordEnd(type: number): void;
  /** The record stream broke; `detail` cites the rule. */
  onMalformed(detail: string): void;
  /** An SSLv2-compatible ClientHello (RFC 5246 §E.2), from msg_type on; a view valid during the call. */
  onSslv2Hello?(body: Uint8Array): void;
}

/** Does `b[i..]` start a TLS record header (ignoring the length)? */
function plausibleHeader(type: number, major: number, minor: number): boolean {
  return type >= ContentType.changeCipherSpec && type <= ContentType.heartbeat && major === 3 && minor <= 4;
}

type State = 'header' | 'body' | 'lost' | 'sslv2';

export class RecordLayer {
  private state: State = 'header';
  private readonly header = new Uint8Array(5);
  private headerLen = 0;
  private type = 0;
  private remaining = 0;
  /** In 'lost' state, the last bytes of the previous chunk (a header may straddle chunks). */
  private tail: Uint8Array = new Uint8Array(0);
  /** SSLv2 hello being collected (copied: at most 32 KiB by its 15-bit length). */
  private v2: Uint8Array | null = null;
  private v2Len = 0;
  /** Only a stream's very first bytes may be an SSLv2-compatible hello. */
  private first = true;
  /** Records seen, for tests and the connection summary. */
  records = 0;

  constructor(
    private readonly sink: RecordSink,
    private readonly allowSslv2 = false,
  ) {}

  push(data: Uint8Array): void {
    let i = 0;
    while (i < data.length) {
      switch (this.state) {
        case 'header': {
          if (this.first && this.headerLen === 0 && this.allowSslv2 && (data[i]! & 0x80) !== 0) {
            this.first = false;
            this.state = 'sslv2';
            continue;
          }
          this.first = false;
          const n = Math.min(5 - this.headerLen, data.length - i);
          this.header.set(data.subarray(i, i + n), this.headerLen);
          this.headerLen += n;
          i += n;
          if (this.headerLen < 5) return;
          this.headerLen = 0;
          const h = this.header;
          const length = (h[3]! << 8) | h[4]!;
          if (!plausibleHeader(h[0]!, h[1]!, h[2]!) || length > MAX_RECORD_LENGTH) {
            this.sink.onMalformed(
              plausibleHeader(h[0]!, h[1]!, h[2]!)
                ? `RFC 5246 §6.2.3: record length ${length} exceeds 2^14+2048`
                : `RFC 8446 §5.1: not a TLS record header (type ${h[0]}, version ${h[1]}.${h[2]})`,
            );
            // Rescan from the byte after this header's first byte.
            this.state = 'lost';
            this.tail = Uint8Array.from(h.subarray(1));
            continue;
          }
          this.type = h[0]!;
          this.remaining = length;
          this.records++;
          this.sink.onRecordStart(this.type, (h[1]! << 8) | h[2]!, length);
          if (length === 0) this.sink.onRecordEnd(this.type);
          else this.state = 'body';
          break;
        }
        case 'body': {
          const n = Math.min(this.remaining, data.length - i);
          this.sink.onRecordData(this.type, data.subarray(i, i + n));
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) {
            this.state = 'header';
            this.sink.onRecordEnd(this.type);
          }
          break;
        }
        case 'sslv2': {
          i += this.pushSslv2(data.subarray(i));
          break;
        }
        case 'lost': {
          i += this.resync(data.subarray(i));
          break;
        }
      }
    }
  }

  /**
   * `bytes` were lost. Inside a record body the layer stays in step (the body is shorter by that
   * much); anywhere else the next header's position is unknown. Returns whether it is still in step.
   */
  gap(bytes: number): boolean {
    if (this.state === 'body' && bytes < this.remaining) {
      this.remaining -= bytes;
      return true;
    }
    if (this.state === 'body' && bytes === this.remaining) {
      this.remaining = 0;
      this.state = 'header';
      this.sink.onRecordEnd(this.type);
      return true;
    }
    this.state = 'lost';
    this.headerLen = 0;
    this.tail = new Uint8Array(0);
    this.v2 = null;
    return false;
  }

  private pushSslv2(data: Uint8Array): number {
    let i = 0;
    if (!this.v2) {
      // 2-byte header: high bit set, then a 15-bit length (RFC 5246 §E.2).
      const n = Math.min(2 - this.headerLen, data.length);
      this.header.set(data.subarray(0, n), this.headerLen);
      this.headerLen += n;
      i += n;
      if (this.headerLen < 2) return i;
      this.headerLen = 0;
      this.v2Len = ((this.header[0]! & 0x7f) << 8) | this.header[1]!;
      this.v2 = new Uint8Array(this.v2Len);
      this.remaining = this.v2Len;
    }
    const n = Math.min(this.remaining, data.length - i);
    this.v2.set(data.subarray(i, i + n), this.v2Len - this.remaining);
    this.remaining -= n;
    i += n;
    if (this.remaining === 0) {
      const body = this.v2;
      this.v2 = null;
      this.state = 'header';
      this.records++;
      this.sink.onSslv2Hello?.(body);
    }
    return i;
  }

  /**
   * Looks for `16 03 0x LL LL` followed by handshake type 1 or 2 (a hello starts a handshake, so
   * that is where parsing can start again). Returns how many bytes of `data` it used: all of them
   * while still lost, or up to the header it found (the caller parses from there).
   */
  private resync(data: Uint8Array): number {
    // Bytes carried over from the last chunk are re-examined with the new ones (at most 5 + chunk,
    // copied because the chunk is only a view).
    const buf = this.tail.length > 0 ? Buffer.concat([this.tail, data]) : data;
    const carried = this.tail.length;
    for (let j = 0; j < buf.length; j++) {
      if (buf[j] !== ContentType.handshake) continue;
      if (j + 6 > buf.length) {
        // Too close to the end to judge: keep from here for the next chunk.
        this.tail = Uint8Array.from(buf.subarray(j));
        return data.length;
      }
      const length = (buf[j + 3]! << 8) | buf[j + 4]!;
      const hsType = buf[j + 5]!;
      if (buf[j + 1] === 3 && buf[j + 2]! <= 4 && length >= 4 && length <= MAX_RECORD_LENGTH) {
        if (hsType === 1 || hsType === 2) {
          this.state = 'header';
          this.tail = new Uint8Array(0);
          if (j >= carried) return j - carried;
          // The header began in the carried bytes: replay them, then go on from the chunk's start.
          const replay = buf.subarray(j, carried);
          this.push(Uint8Array.from(replay));
          return 0;
        }
      }
    }
    this.tail = new Uint8Array(0);
    return data.length;
  }
}
