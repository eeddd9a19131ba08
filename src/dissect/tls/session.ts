/**
 * A TLS connection: two direction parsers feeding one handshake matcher; each completed handshake
 * becomes a `tls` entry and refreshes the connection's `tls` summary.
 */

import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { HandshakeType } from './constants.js';
import { type Handshake, HandshakeMatcher } from './matcher.js';
import { type DirectionEvents, DirectionParser } from './parser.js';
import { toAnnotation, toEntry } from './summary.js';

export class TlsSession implements TcpSession {
  private readonly matcher: HandshakeMatcher;
  private readonly dirs: [DirectionParser, DirectionParser];
  private last: Handshake | null = null;

  constructor(private readonly ctx: SessionContext) {
    this.matcher = new HandshakeMatcher((h) => this.completed(h));
    const m = this.matcher;
    const events: DirectionEvents = {
      clientHello: (hello, ts, size) => m.clientHello(hello, ts, size),
      serverHello: (hello, ts, size) => m.serverHello(hello, ts, size),
      serverMessage: (type, size, certificates) => {
        m.serverMessage(size, certificates);
        if (type === HandshakeType.serverHelloDone) m.serverDone();
      },
      changeCipherSpec: (dir) => {
        if (dir === 1 && m.cipherChangeEncrypts) m.serverDone();
      },
      alert: (dir, level, description) => m.alert(dir === 0 ? 'client' : 'server', level, description),
      encrypted: (dir) => {
        if (dir === 1) m.serverDone();
      },
      malformed: (detail) => ctx.parseError(detail),
      problem: (detail) => m.problem(detail),
      get cipherChangeEncrypts() {
        return m.cipherChangeEncrypts;
      },
    };
    this.dirs = [new DirectionParser(0, events), new DirectionParser(1, events)];
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    this.dirs[dir].push(data, ts);
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    this.dirs[dir].gap(bytes);
  }

  onEnd(_dir: Direction, _ts: number): void {}

  onClose(_ts: number): void {
    this.matcher.flush();
    if (this.last) this.annotate(this.last);
  }

  private completed(h: Handshake): void {
    this.ctx.emit(toEntry(h));
    this.last = h;
    this.annotate(h);
  }

  private annotate(h: Handshake): void {
    this.ctx.annotate(
      'tls',
      toAnnotation(h, this.matcher.completed, {
        client: { ...this.dirs[0].appData },
        server: { ...this.dirs[1].appData },
      }),
    );
  }
}
