/**
 * A MaxMind DB writer for tests, after the MaxMind DB File Format Specification v2.0: the binary
 * search tree (records of 24, 28 or 32 bits), the 16-byte separator, the data section in the typed
 * data field format (maps, arrays, UTF-8 strings, unsigned and signed integers, doubles, floats,
 * booleans, bytes, pointers) and the metadata section after "\xAB\xCD\xEFMaxMind.com". Written
 * from the specification alone, so a real reader (the `maxmind` package, libmaxminddb's
 * `mmdblookup`) checks it independently; the files it makes stand in for GeoLite2-City and
 * GeoLite2-ASN, which cannot be shipped with the tests.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A value of a given MaxMind DB type; plain JS values map as `encodeValue` says. */
export class Typed {
  constructor(
    readonly type: 'uint16' | 'uint32' | 'int32' | 'uint64' | 'uint128' | 'double' | 'float' | 'bytes',
    readonly value: number | bigint | Uint8Array,
  ) {}
}
export const uint16 = (n: number) => new Typed('uint16', n);
export const uint32 = (n: number) => new Typed('uint32', n);
export const int32 = (n: number) => new Typed('int32', n);
export const uint64 = (n: bigint) => new Typed('uint64', n);
export const uint128 = (n: bigint) => new Typed('uint128', n);
export const double = (n: number) => new Typed('double', n);
export const float = (n: number) => new Typed('float', n);
export const bytes = (b: Uint8Array) => new Typed('bytes', b);

/**
 * string → UTF-8 string; integer 0..2^32-1 → uint32, other numbers → double; bigint → uint128;
 * boolean → boolean; array → array; object → map; Typed → its type.
 */
export type MmdbValue =
  | string
  | number
  | bigint
  | boolean
  | Typed
  | MmdbValue[]
  | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** `192.0.2.0/24`, `2001:db8::/32`; an IPv4 network in an IPv6 database goes under ::/96. */
  network: string;
  data: MmdbValue;
}

export interface MmdbOptions {
  ipVersion: 4 | 6;
  recordSize: 24 | 28 | 32;
  databaseType: string;
  languages?: string[];
  description?: Record<string, string>;
  /** Unix seconds (default 1700000000). */
  buildEpoch?: number;
  /**
   * Point ::ffff:0:0/96 (IPv4-mapped) and 2002::/16 (6to4) at the IPv4 subtree, as MaxMind's own
   * databases do (spec: "IPv4 addresses in an IPv6 tree"). Default true for IPv6 databases.
   */
  ipv4Aliases?: boolean;
  /** Write repeated strings, maps and arrays once and point at them (default true). */
  pointers?: boolean;
  /**
   * Unreferenced bytes at the start of the data section, so that pointers need their larger forms
   * (≥ 2048: 19-bit, ≥ 526336: 27-bit).
   */
  dataPadding?: number;
}

const SEPARATOR = 16;
const METADATA_MARKER = [0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'ascii')];

// Data field types (spec: "Output Data Section").
const T = {
  pointer: 1,
  utf8: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  uint128: 10,
  array: 11,
  boolean: 14,
  float: 15,
} as const;

/** Builds a whole .mmdb file. Networks are applied shortest prefix first, so a longer one carves into a shorter one. */
export function buildMmdb(networks: readonly MmdbNetwork[], opts: MmdbOptions): Buffer {
  const data = new DataSection(opts.pointers ?? true, opts.dataPadding ?? 0);
  const root = new TreeNode();
  const parsed = networks.map((n, i) => ({ ...parseNetwork(n.network, opts.ipVersion), data: n.data, i }));
  parsed.sort((a, b) => a.prefix - b.prefix || a.i - b.i);
  for (const n of parsed) {
    if (n.prefix === 0) throw new Error(`${n.network}: a /0 network has no place in the tree`);
    insert(root, n.bits, n.prefix, { offset: data.top(n.data) });
  }
  if (opts.ipVersion === 6 && (opts.ipv4Aliases ?? true)) addIpv4Aliases(root);

  // Number the nodes breadth first from the root (node 0); an aliased subtree keeps one number.
  const numbers = new Map<TreeNode, number>();
  const order: TreeNode[] = [];
  numbers.set(root, 0);
  order.push(root);
  for (let i = 0; i < order.length; i++) {
    for (const c of order[i]!.children) {
      if (c instanceof TreeNode && !numbers.has(c)) {
        numbers.set(c, order.length);
        order.push(c);
      }
    }
  }
  const nodeCount = order.length;
  const maxRecord = 2 ** opts.recordSize - 1;
  const record = (c: Child): number => {
    const v =
      c === null ? nodeCount : c instanceof TreeNode ? numbers.get(c)! : nodeCount + SEPARATOR + c.offset;
    if (v > maxRecord) throw new Error(`record value ${v} does not fit ${opts.recordSize} bits`);
    return v;
  };
  const nodeBytes = opts.recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  order.forEach((node, n) => {
    writeNode(tree, n * nodeBytes, opts.recordSize, record(node.children[0]), record(node.children[1]));
  });

  const meta: Record<string, MmdbValue> = {
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: uint64(BigInt(opts.buildEpoch ?? 1_700_000_000)),
    database_type: opts.databaseType,
    description: opts.description ?? { en: `${opts.databaseType} test database` },
    ip_version: uint16(opts.ipVersion),
    languages: opts.languages ?? ['en'],
    node_count: uint32(nodeCount),
    record_size: uint16(opts.recordSize),
  };
  const metaSection = new DataSection(false, 0);
  metaSection.top(meta);
  return Buffer.concat([
    tree,
    Buffer.alloc(SEPARATOR),
    data.bytes(),
    Buffer.from(METADATA_MARKER),
    metaSection.bytes(),
  ]);
}

/* ---------------------------------------------------------------- search tree */

type Child = TreeNode | { offset: number } | null;

class TreeNode {
  children: [Child, Child] = [null, null];
}

function insert(root: TreeNode, bits: number[], prefix: number, leaf: Child): void {
  let node = root;
  for (let depth = 0; depth < prefix; depth++) {
    const bit = bits[depth]!;
    if (depth === prefix - 1) {
      node.children[bit] = leaf;
      return;
    }
    const child = node.children[bit] ?? null;
    if (child instanceof TreeNode) {
      node = child;
    } else {
      // A shorter network (or nothing) covers this one: split it, both halves keep its data.
      const split = new TreeNode();
      split.children = [child, child];
      node.children[bit] = split;
      node = split;
    }
  }
}

/** Walks (making nodes) down `bits[0..depth)` and returns the node there. */
function nodeAt(root: TreeNode, bits: number[], depth: number): TreeNode {
  let node = root;
  for (let d = 0; d < depth; d++) {
    const bit = bits[d]!;
    const child = node.children[bit];
    if (child instanceof TreeNode) {
      node = child;
    } else {
      const made = new TreeNode();
      made.children = [child ?? null, child ?? null];
      node.children[bit] = made;
      node = made;
    }
  }
  return node;
}

function addIpv4Aliases(root: TreeNode): void {
  const zeros = new Array<number>(128).fill(0);
  const ipv4Root = nodeAt(root, zeros, 96);
  for (const [net, prefix] of [
    ['::ffff:0:0', 96],
    ['2002::', 16],
  ] as const) {
    const bits = addressBits(net);
    nodeAt(root, bits, prefix - 1).children[bits[prefix - 1]!] = ipv4Root;
  }
}

function writeNode(b: Buffer, at: number, size: 24 | 28 | 32, left: number, right: number): void {
  if (size === 24) {
    b.writeUIntBE(left, at, 3);
    b.writeUIntBE(right, at + 3, 3);
  } else if (size === 28) {
    // | left 23..0 | left 27..24, right 27..24 | right 23..0 |
    b.writeUIntBE(left & 0xffffff, at, 3);
    b[at + 3] = (((left >>> 24) & 0x0f) << 4) | ((right >>> 24) & 0x0f);
    b.writeUIntBE(right & 0xffffff, at + 4, 3);
  } else {
    b.writeUInt32BE(left, at);
    b.writeUInt32BE(right, at + 4);
  }
}

/* ---------------------------------------------------------------- addresses */

function parseNetwork(
  network: string,
  ipVersion: 4 | 6,
): { network: string; bits: number[]; prefix: number } {
  const slash = network.indexOf('/');
  if (slash < 0) throw new Error(`${network}: not a network (ADDRESS/PREFIX)`);
  const addr = network.slice(0, slash);
  let prefix = Number(network.slice(slash + 1));
  let bits: number[];
  if (isIPv4(addr)) {
    if (!(prefix >= 0 && prefix <= 32)) throw new Error(`${network}: bad prefix`);
    bits = addressBits(addr);
    if (ipVersion === 6) {
      bits = [...new Array<number>(96).fill(0), ...bits];
      prefix += 96;
    }
  } else if (isIPv6(addr)) {
    if (ipVersion === 4) throw new Error(`${network}: IPv6 network in an IPv4 database`);
    if (!(prefix >= 0 && prefix <= 128)) throw new Error(`${network}: bad prefix`);
    bits = addressBits(addr);
  } else {
    throw new Error(`${network}: not an IP network`);
  }
  return { network, bits, prefix };
}

/** The address's bits, most significant first (32 for IPv4, 128 for IPv6). */
export function addressBits(addr: string): number[] {
  const bytes = addressBytes(addr);
  const bits: number[] = [];
  for (const byte of bytes) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  return bits;
}

/** 4 bytes for IPv4, 16 for IPv6 (with `::` and a dotted IPv4 tail). */
export function addressBytes(addr: string): number[] {
  if (isIPv4(addr)) return addr.split('.').map(Number);
  if (!isIPv6(addr)) throw new Error(`${addr}: not an IP address`);
  let text = addr;
  const tail: number[] = [];
  if (text.includes('.')) {
    const at = text.lastIndexOf(':');
    tail.push(...addressBytes(text.slice(at + 1)));
    text = text.slice(0, at + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::');
  const words = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const h = words(head);
  const r = rest === undefined ? [] : words(rest);
  const zeros = 8 - tail.length / 2 - h.length - r.length;
  const all = [...h, ...new Array<number>(zeros).fill(0), ...r];
  return [...all.flatMap((w) => [w >> 8, w & 0xff]), ...tail];
}

/* ---------------------------------------------------------------- data section */

class DataSection {
  private buf: Buffer = Buffer.alloc(1024);
  private len = 0;
  /** Where each value already written starts, by a key that tells types apart. */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly usePointers: boolean,
    padding: number,
  ) {
    if (padding > 0) this.field(T.bytes, padding, Buffer.alloc(padding, 0x5a));
  }

  /** Writes a record the tree points at; the same record twice is written once. */
  top(v: MmdbValue): number {
    const k = this.usePointers ? key(v) : null;
    const seen = k === null ? undefined : this.written.get(k);
    if (seen !== undefined) return seen;
    return this.value(v);
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  /** Writes `v` (or a pointer to an earlier copy) and returns where the value itself starts. */
  private value(v: MmdbValue): number {
    const k = this.usePointers && worthPointing(v) ? key(v) : null;
    if (k !== null) {
      const seen = this.written.get(k);
      if (seen !== undefined) {
        this.pointer(seen);
        return seen;
      }
    }
    const at = this.len;
    this.plain(v);
    if (k !== null) this.written.set(k, at);
    return at;
  }

  private plain(v: MmdbValue): void {
    if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      this.field(T.utf8, b.length, b);
    } else if (typeof v === 'boolean') {
      this.field(T.boolean, v ? 1 : 0, null);
    } else if (typeof v === 'number') {
      this.plain(Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? uint32(v) : double(v));
    } else if (typeof v === 'bigint') {
      this.plain(uint128(v));
    } else if (v instanceof Typed) {
      this.typed(v);
    } else if (Array.isArray(v)) {
      this.field(T.array, v.length, null);
      for (const x of v) this.value(x);
    } else {
      const entries = Object.entries(v);
      this.field(T.map, entries.length, null);
      for (const [k, x] of entries) {
        this.value(k); // keys are UTF-8 strings, pointed at when repeated as MaxMind's files do
        this.value(x);
      }
    }
  }

  private typed(t: Typed): void {
    const v = t.value;
    switch (t.type) {
      case 'uint16':
      case 'uint32':
      case 'uint64':
      case 'uint128': {
        const n = BigInt(v as number | bigint);
        const maxBytes = { uint16: 2, uint32: 4, uint64: 8, uint128: 16 }[t.type];
        const b = minimalBytes(n);
        if (n < 0n || b.length > maxBytes) throw new Error(`${n} does not fit ${t.type}`);
        this.field(T[t.type], b.length, b);
        return;
      }
      case 'int32': {
        const n = v as number;
        if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31)
          throw new Error(`${n} does not fit int32`);
        // Negative values take all four bytes (two's complement); others as few as they need.
        const b = n < 0 ? Buffer.alloc(4) : Buffer.from(minimalBytes(BigInt(n)));
        if (n < 0) b.writeInt32BE(n);
        this.field(T.int32, b.length, b);
        return;
      }
      case 'double': {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v as number);
        this.field(T.double, 8, b);
        return;
      }
      case 'float': {
        const b = Buffer.alloc(4);
        b.writeFloatBE(v as number);
        this.field(T.float, 4, b);
        return;
      }
      case 'bytes': {
        const b = v as Uint8Array;
        this.field(T.bytes, b.length, b);
        return;
      }
    }
  }

  /** Control byte (+ extended type byte) + size bytes + payload (spec: "Data Field Format"). */
  private field(type: number, size: number, payload: Uint8Array | number[] | null): void {
    const head: number[] = [];
    let sizeBits: number;
    const extra: number[] = [];
    if (size < 29) {
      sizeBits = size;
    } else if (size < 285) {
      sizeBits = 29;
      extra.push(size - 29);
    } else if (size < 65_821) {
      sizeBits = 30;
      const s = size - 285;
      extra.push(s >> 8, s & 0xff);
    } else if (size < 16_843_037) {
      sizeBits = 31;
      const s = size - 65_821;
      extra.push((s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff);
    } else {
      throw new Error(`field of ${size} is past the format's limit`);
    }
    if (type <= 7) {
      head.push((type << 5) | sizeBits);
    } else {
      head.push(sizeBits, type - 7);
    }
    this.append([...head, ...extra]);
    if (payload) this.append(payload);
  }

  /** Pointer to a data section offset (spec: "Pointers", 001SSVVV). */
  private pointer(to: number): void {
    if (to < 2048) {
      this.append([0x20 | (to >> 8), to & 0xff]);
    } else if (to < 526_336) {
      const v = to - 2048;
      this.append([0x20 | (1 << 3) | (v >> 16), (v >> 8) & 0xff, v & 0xff]);
    } else if (to < 134_744_064) {
      const v = to - 526_336;
      this.append([0x20 | (2 << 3) | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
    } else {
      this.append([0x20 | (3 << 3), (to >>> 24) & 0xff, (to >> 16) & 0xff, (to >> 8) & 0xff, to & 0xff]);
    }
  }

  private append(b: Uint8Array | number[]): void {
    if (this.len + b.length > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.len + b.length));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    for (let i = 0; i < b.length; i++) this.buf[this.len + i] = b[i]!;
    this.len += b.length;
  }
}

/** Strings of 4 bytes or more, maps and arrays: where a 2-3 byte pointer saves room. */
function worthPointing(v: MmdbValue): boolean {
  if (typeof v === 'string') return v.length >= 4;
  return typeof v === 'object' && !(v instanceof Typed);
}

function minimalBytes(n: bigint): number[] {
  const out: number[] = [];
  for (let x = n; x > 0n; x >>= 8n) out.unshift(Number(x & 0xffn));
  return out;
}

/** A key that differs whenever the encoded value would (types included). */
function key(v: MmdbValue): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `bigint:${x}`;
    if (x instanceof Typed)
      return { typed: x.type, v: x.value instanceof Uint8Array ? [...x.value] : String(x.value) };
    if (typeof x === 'string') return `s:${x}`;
    return x;
  });
}
