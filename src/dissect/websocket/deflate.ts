/**
 * permessage-deflate (RFC 7692): a compressed message has RSV1 set on its first frame; its payload
 * is raw DEFLATE with the final 0x00 0x00 0xff 0xff removed (§7.2.1). Unless "no_context_takeover"
 * was agreed, the sliding window carries over between messages (§7.1.1), so each direction keeps
 * the last 32 KiB of its output and hands it to zlib as the dictionary of the next message.
 */
import { constants, inflateRawSync } from 'node:zlib';

/** A message inflating past this is not decoded (and the context is lost with it). */
export const MAX_INFLATED_BYTES = 4 * 1024 * 1024;
const WINDOW = 32 * 1024;
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

export interface DeflateParams {
  /** The sender of this direction resets its context per message. */
  noContextTakeover: boolean;
}

/**
 * Reads the agreed extension (Sec-WebSocket-Extensions of the 101, RFC 7692 §7.1). Returns the
 * parameters per direction (0: client to server), or null when permessage-deflate was not agreed.
 */
export function parseDeflateExtension(header: string | undefined): [DeflateParams, DeflateParams] | null {
  if (!header) return null;
  for (const ext of header.split(',')) {
    const parts = ext.split(';').map((p) => p.trim().toLowerCase());
    if (parts[0] !== 'permessage-deflate') continue;
    const params = parts.slice(1).map((p) => p.split('=')[0]!.trim());
    return [
      { noContextTakeover: params.includes('client_no_context_takeover') },
      { noContextTakeover: params.includes('server_no_context_takeover') },
    ];
  }
  return null;
}

export class MessageInflater {
  private window: Uint8Array | null = null;
  /** A message could not be inflated and the context carried over: later ones cannot be either. */
  private broken: string | null = null;

  constructor(private readonly params: DeflateParams) {}

  /** Inflates one whole message; `complete` false when its payload was not all kept. */
  inflate(payload: Uint8Array, complete: boolean): { data: Uint8Array } | { error: string } {
    if (this.broken) return { error: this.broken };
    if (!complete) return this.fail('compressed message not kept whole (size cap or gap)');
    const input = new Uint8Array(payload.length + 4);
    input.set(payload, 0);
    input.set(TAIL, payload.length);
    try {
      const out = inflateRawSync(input, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: MAX_INFLATED_BYTES,
        ...(this.window && !this.params.noContextTakeover ? { dictionary: this.window } : {}),
      });
      if (!this.params.noContextTakeover) {
        const prev = this.window ?? new Uint8Array(0);
        const joined = new Uint8Array(Math.min(WINDOW, prev.length + out.length));
        // The new window: the last 32 KiB of previous window + this output.
        const fromOut = Math.min(out.length, joined.length);
        joined.set(prev.subarray(prev.length - (joined.length - fromOut)), 0);
        joined.set(out.subarray(out.length - fromOut), joined.length - fromOut);
        this.window = joined;
      }
      return { data: out };
    } catch (err) {
      return this.fail(`RFC 7692 §7.2.2: inflate failed: ${(err as Error).message}`);
    }
  }

  private fail(why: string): { error: string } {
    if (!this.params.noContextTakeover) this.broken = `${why}; later messages depend on it`;
    return { error: why };
  }
}
