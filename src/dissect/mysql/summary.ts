/**
 * MySQL exchanges as entries (DESIGN.md: method = first SQL keyword or the command name, path =
 * statement text, status = 'OK' or the MySQL error code): one LOGIN entry per connection for the
 * connection phase, one entry per command with its answer.
 */
import type { SessionContext } from '../dissector.js';
import type { ParsedCommand } from './commands.js';
import type { Greeting, HandshakeResponse } from './packets.js';
import { capabilityNames, mariadbCapabilityNames } from './protocol.js';
import type { ResponseReader } from './response.js';

export type EntryFields = Parameters<SessionContext['emit']>[0];

/** A command waiting for (or holding) its answer. */
export interface Pending {
  cmd: ParsedCommand;
  ts: number;
  size: number;
  /** Sequence id of the command's last packet: its answer starts at the next one. */
  lastSeq: number;
  /** Null for commands without an answer (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
  reader: ResponseReader | null;
  errors: string[];
}

export function commandEntry(p: Pending, compressed: boolean): EntryFields {
  const r = p.reader;
  const answered = r !== null && r.firstTs !== null;
  const errors = [...p.errors];
  if (r && !answered && errors.length === 0) errors.push('no response');
  else if (r && answered && !r.complete && errors.length === 0) errors.push('response incomplete');
  if (r?.problem) errors.push(r.problem);
  const request = compressed ? { ...p.cmd.request, compressed: true } : p.cmd.request;
  let status: EntryFields['status'] = null;
  if (r && answered) {
    if (typeof r.status === 'number') status = r.status;
    else if (r.complete) status = 'OK';
  }
  return {
    protocol: 'mysql',
    timestamp: p.ts,
    elapsedMs: answered ? Math.max(0, r.firstTs! - p.ts) / 1000 : null,
    method: p.cmd.method,
    path: p.cmd.path,
    status,
    request,
    response: answered ? r.out : null,
    requestSize: p.size,
    responseSize: r?.size ?? 0,
    error: errors.length > 0 ? errors.join('; ') : null,
  };
}

/** The connection phase of one connection (MySQL protocol: Connection Phase). */
export interface Login {
  greeting: Greeting | null;
  greetingTs: number | null;
  response: HandshakeResponse | null;
  responseTs: number | null;
  /** Client bytes: HandshakeResponse and auth data. */
  requestSize: number;
  /** Server bytes: greeting, auth switch and more data, the final OK or ERR. */
  responseSize: number;
  /** First server packet after the HandshakeResponse. */
  answerTs: number | null;
  authSwitch: string | null;
  /** caching_sha2_password: 'fast' (cached) or 'full' authentication. */
  authPath: 'fast' | 'full' | null;
  result: { ok: true } | { ok: false; errorCode: number; sqlState: string | null; message: string } | null;
  errors: string[];
}

export function newLogin(): Login {
  return {
    greeting: null,
    greetingTs: null,
    response: null,
    responseTs: null,
    requestSize: 0,
    responseSize: 0,
    answerTs: null,
    authSwitch: null,
    authPath: null,
    result: null,
    errors: [],
  };
}

export function loginEntry(l: Login, negotiated: number | null, compressed: boolean): EntryFields {
  const g = l.greeting;
  const hr = l.response;
  const request: Record<string, unknown> = {};
  if (hr) {
    request.user = hr.user;
    if (hr.schema !== null) request.schema = hr.schema;
    if (hr.authPlugin !== null) request.authPlugin = hr.authPlugin;
    request.authResponseLength = hr.authResponseLength;
    request.capabilities = capabilityNames(hr.capabilities);
    if (hr.mariadbCapabilities) request.mariadbCapabilities = mariadbCapabilityNames(hr.mariadbCapabilities);
    request.charset = hr.charset;
    request.maxPacketSize = hr.maxPacketSize;
    if (hr.attributes) request.attributes = hr.attributes;
    if (hr.sslRequest) request.tls = true;
    if (compressed) request.compressed = true;
  }
  const response: Record<string, unknown> = {};
  if (g) {
    response.serverVersion = g.serverVersion;
    response.flavor = g.flavor;
    response.protocolVersion = g.protocolVersion;
    response.connectionId = g.connectionId;
    if (g.authPlugin !== null) response.authPlugin = g.authPlugin;
    response.capabilities = capabilityNames(g.capabilities);
    if (g.mariadbCapabilities) response.mariadbCapabilities = mariadbCapabilityNames(g.mariadbCapabilities);
  }
  if (l.authSwitch !== null) response.authSwitch = l.authSwitch;
  if (l.authPath !== null) response.authPath = l.authPath;
  if (negotiated !== null) response.negotiated = capabilityNames(negotiated);
  let status: EntryFields['status'] = null;
  const res = l.result;
  if (res?.ok) status = 'OK';
  else if (res) {
    status = res.errorCode;
    response.errorCode = res.errorCode;
    if (res.sqlState !== null) response.sqlState = res.sqlState;
    response.message = res.message;
  }
  const errors = [...l.errors];
  if (!res && !hr?.sslRequest && errors.length === 0) errors.push('no response');
  const start = l.responseTs ?? l.greetingTs ?? l.answerTs ?? 0;
  return {
    protocol: 'mysql',
    timestamp: start,
    elapsedMs:
      l.responseTs !== null && l.answerTs !== null ? Math.max(0, l.answerTs - l.responseTs) / 1000 : null,
    method: 'LOGIN',
    path: hr?.schema ?? '',
    status,
    request,
    response: g || res || l.authSwitch ? response : null,
    requestSize: l.requestSize,
    responseSize: l.responseSize,
    error: errors.length > 0 ? errors.join('; ') : null,
  };
}
