/**
 * What tshark (the independent reference) sees of HTTP/2 and gRPC in a capture, and the same
 * figures from podwire's output, so tests compare like with like: HEADERS frames, the :method,
 * :path and :status values, grpc-status values and gRPC message lengths.
 */
import { join } from 'node:path';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkFields } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

export interface H2Figures {
  headersFrames: number;
  methods: string[];
  paths: string[];
  statuses: string[];
  grpcStatuses: string[];
  grpcMessageLengths: number[];
}

const SEP = '\x1e';

export async function tsharkFigures(relative: string): Promise<H2Figures> {
  const rows = await tsharkFields(
    join(CAPTURES, relative),
    'http2',
    ['http2.type', 'http2.header.name', 'http2.header.value', 'grpc.message_length'],
    decodeAsFor(relative),
    ['-E', 'occurrence=a', '-E', `aggregator=${SEP}`],
  );
  const f: H2Figures = {
    headersFrames: 0,
    methods: [],
    paths: [],
    statuses: [],
    grpcStatuses: [],
    grpcMessageLengths: [],
  };
  for (const [types = '', names = '', values = '', lengths = ''] of rows) {
    f.headersFrames += types.split(SEP).filter((t) => t === '1').length;
    const vs = values.split(SEP);
    names.split(SEP).forEach((n, i) => {
      const v = vs[i] ?? '';
      if (n === ':method') f.methods.push(v);
      if (n === ':path') f.paths.push(v);
      if (n === ':status') f.statuses.push(v);
      if (n === 'grpc-status') f.grpcStatuses.push(v);
    });
    for (const l of lengths.split(SEP)) if (l) f.grpcMessageLengths.push(Number(l));
  }
  return sortAll(f);
}

export async function podwireFigures(
  relative: string,
): Promise<H2Figures & { entries: Entry[]; parseErrors: number }> {
  const { entries, connections } = await analyze(join(CAPTURES, relative), decodeAsFor(relative));
  const h2 = entries.filter(
    (e) => e.protocol === 'grpc' || (e.protocol === 'http' && e.request.httpVersion === '2'),
  );
  let headersFrames = 0;
  let parseErrors = 0;
  for (const c of connections) {
    const l7 = c.l7 as
      | {
          parseErrors?: number;
          http2?: { clientFrames: Record<string, number>; serverFrames: Record<string, number> };
        }
      | undefined;
    if (!l7?.http2) continue;
    headersFrames += (l7.http2.clientFrames.HEADERS ?? 0) + (l7.http2.serverFrames.HEADERS ?? 0);
    parseErrors += l7.parseErrors ?? 0;
  }
  const f: H2Figures = {
    headersFrames,
    methods: [],
    paths: [],
    statuses: [],
    grpcStatuses: [],
    grpcMessageLengths: [],
  };
  for (const e of h2) {
    const req = e.request as Record<string, unknown>;
    const res = e.response as Record<string, unknown> | null;
    if (req.upgradedFrom === undefined && e.method) {
      f.methods.push(e.protocol === 'grpc' ? 'POST' : e.method);
      f.paths.push(e.path);
    }
    const status = e.protocol === 'grpc' ? res?.httpStatus : e.status;
    if (status !== null && status !== undefined) f.statuses.push(String(status));
    if (e.protocol === 'grpc') {
      if (e.status !== null) f.grpcStatuses.push(String(e.status));
      for (const side of [req, res]) {
        for (const m of (side?.messages as { length: number }[] | undefined) ?? [])
          f.grpcMessageLengths.push(m.length);
      }
    }
  }
  return { ...sortAll(f), entries: h2, parseErrors };
}

function sortAll(f: H2Figures): H2Figures {
  f.methods.sort();
  f.paths.sort();
  f.statuses.sort();
  f.grpcStatuses.sort();
  f.grpcMessageLengths.sort((a, b) => a - b);
  return f;
}
