/**
 * The contract between TCP reassembly and whoever reads the bytes (the dissectors). A consumer is
 * created per connection and gets each direction's bytes in order, exactly once; holes it will never
 * see are announced as gaps, never silently skipped.
 */
import type { Connection } from './connection.js';

/** 0: from the side that opened the connection (client) to the server; 1: back. */
export type Direction = 0 | 1;

export interface StreamConsumer {
  /**
   * In-order bytes of one direction. `data` is a view of the capture buffer, valid only during the
   * call: copy what must outlive it (a parser's unfinished tail, a body being collected).
   */
  onData(dir: Direction, data: Uint8Array, tsMicros: number): void;
  /** `bytes` bytes of the stream were never seen (capture loss, snap length, or a buffer cap);
   * the next `onData` continues after them. */
  onGap(dir: Direction, bytes: number, tsMicros: number): void;
  /** The sender of `dir` closed its side (its FIN was reached in order). */
  onEnd(dir: Direction, tsMicros: number): void;
  /**
   * Last call: both directions were delivered up to their FIN (then at once, while the connection
   * still lingers in the table for late packets), or the connection left the tracker (RST, timed
   * out, or the capture ended).
   */
  onClose(conn: Connection): void;
}

/** Decides, when a connection starts, whether its bytes are wanted. Returning null skips reassembly's
 * data buffering for that connection (sequence analysis and counters still run). */
export interface StreamConsumerFactory {
  create(conn: Connection): StreamConsumer | null;
}
