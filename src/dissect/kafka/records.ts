/**
 * The records of a partition, summarised without decompressing them (Kafka protocol guide, "Record
 * Batch"; Kafka documentation §5.3.1 "Record Batch" and §5.3.3 "Old Message Format"): how many batches
 * and records, their bytes, and the compression codecs.
 *
 * A record set is a sequence of entries that each start with baseOffset (int64) and a length (int32)
 * of what follows, then a partition leader epoch (int32, the CRC in the old formats) and the magic
 * byte at offset 16, which tells the layout:
 * - magic 2 (record batch): attributes (int16) at 21, recordsCount (int32) at 57, header 61 bytes;
 * - magic 0/1 (message set): one message per entry (a compressed wrapper holds more inside it, which
 *   is not opened: it counts as one).
 * Fetch responses may end with a partial batch (the broker sends whole segments up to max bytes);
 * that tail is reported as `partialBytes`, not as an error.
 */

export interface RecordsSummary {
  /** Bytes of the record set on the wire. */
  bytes: number;
  batches: number;
  /** From each batch's recordsCount (magic 2), or one per message (magic 0/1). */
  records: number;
  /** Magic values seen (normally one). */
  magic: number[];
  /** Compression codecs seen: none, gzip, snappy, lz4, zstd. */
  compression: string[];
  /** A trailing batch cut short (fetch responses), in bytes. */
  partialBytes?: number;
  /** Set when an entry's header is impossible; the rest is not read. */
  malformed?: string;
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const ENTRY_HEAD = 17; // baseOffset 8 + length 4 + epoch/crc 4 + magic 1
const BATCH_HEAD = 61;

function i32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

export function summarizeRecords(b: Uint8Array): RecordsSummary {
  const s: RecordsSummary = { bytes: b.length, batches: 0, records: 0, magic: [], compression: [] };
  let pos = 0;
  while (pos < b.length) {
    if (b.length - pos < ENTRY_HEAD) {
      s.partialBytes = b.length - pos;
      break;
    }
    const length = i32(b, pos + 8);
    const magic = b[pos + 16]!;
    if (magic > 2) {
      s.malformed = `record batch at ${pos}: magic ${magic}`;
      break;
    }
    // The smallest entry: a magic 0 message (crc, magic, attributes, key and value lengths) is 14
    // bytes after the length; a batch is 49.
    if (length < (magic === 2 ? BATCH_HEAD - 12 : 14)) {
      s.malformed = `record batch at ${pos}: length ${length}`;
      break;
    }
    const total = 12 + length;
    if (total > b.length - pos) {
      s.partialBytes = b.length - pos;
      break;
    }
    let codec: number;
    if (magic === 2) {
      codec = ((b[pos + 21]! << 8) | b[pos + 22]!) & 7;
      const count = i32(b, pos + 57);
      if (count < 0) {
        s.malformed = `record batch at ${pos}: recordsCount ${count}`;
        break;
      }
      s.records += count;
    } else {
      codec = b[pos + 17]! & 7;
      s.records += 1;
    }
    s.batches++;
    if (!s.magic.includes(magic)) s.magic.push(magic);
    const name = CODECS[codec] ?? `codec${codec}`;
    if (!s.compression.includes(name)) s.compression.push(name);
    pos += total;
  }
  return s;
}
