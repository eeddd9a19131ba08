/**
 * Method frame payloads (§4.2.4): class-id, method-id, then the arguments in the order the spec
 * lists them, consecutive bits packed into octets from the low bit (§4.2.5.2). Credentials are
 * never kept: connection.start-ok's response (SASL PLAIN is `\0user\0password`), secure/secure-ok
 * and update-secret are reduced to their length, plus the user name where the mechanism says it.
 */
import { type ArgSpec, type MethodSpec, methodName, methodSpec, replyCodeName } from './spec.js';
import { type FieldValue, Reader, readTableBody, text } from './values.js';

export interface Method {
  classId: number;
  methodId: number;
  /** Undefined for a class/method the spec does not define. */
  spec: MethodSpec | undefined;
  name: string;
  args: Record<string, unknown>;
  /** What made the arguments unreadable (they are kept up to there); null when well-formed. */
  error: string | null;
}

export function decodeMethod(payload: Uint8Array): Method {
  const r = new Reader(payload);
  const classId = r.u16('class-id');
  const methodId = r.u16('method-id');
  const spec = r.error === null ? methodSpec(classId, methodId) : undefined;
  const name = methodName(classId, methodId);
  const args: Record<string, unknown> = {};
  if (r.error !== null) return { classId, methodId, spec, name, args, error: r.error };
  if (!spec) return { classId, methodId, spec, name, args, error: `unknown method ${classId}.${methodId}` };
  readArgs(r, spec.args, args, spec.name);
  // §4.2.4: the arguments fill the payload exactly; extra bytes are tolerated but noted.
  let error = r.error ?? r.soft;
  if (error === null && r.remaining > 0) error = `${r.remaining} bytes after the last argument`;
  describe(spec, args);
  return { classId, methodId, spec, name, args, error };
}

/** Reads `specs` into `out`, skipping reserved fields; shared by methods and content properties. */
export function readArgs(r: Reader, specs: readonly ArgSpec[], out: Record<string, unknown>, ctx = ''): void {
  let bits = 0;
  let bit = 8;
  for (const [name, type, reserved] of specs) {
    if (type !== 'bit') bit = 8;
    let value: unknown;
    switch (type) {
      case 'bit':
        if (bit === 8) {
          bits = r.u8(name);
          bit = 0;
        }
        value = (bits & (1 << bit++)) !== 0;
        break;
      case 'octet':
        value = r.u8(name);
        break;
      case 'short':
        value = r.u16(name);
        break;
      case 'long':
        value = r.u32(name);
        break;
      case 'longlong':
      case 'timestamp':
        value = r.u64(name);
        break;
      case 'shortstr':
        value = r.shortstr(name);
        break;
      case 'longstr':
        value = r.longstr(name);
        break;
      case 'table':
        value = r.table(name);
        break;
      case 'secret': {
        const bytes = r.longBytes(name);
        out[`${name}Length`] = bytes.length;
        if (ctx === 'connection.start-ok' && name === 'response') {
          const user = saslUser(String(out.mechanism ?? ''), bytes);
          if (user !== null) out.user = user;
        }
        continue;
      }
    }
    if (r.error !== null) return;
    if (!reserved) out[name] = value;
  }
}

/** Names the numbers users read: reply codes and the method a close blames. */
function describe(spec: MethodSpec, args: Record<string, unknown>): void {
  if (typeof args.replyCode === 'number') args.replyName = replyCodeName(args.replyCode);
  if (spec.name.endsWith('.close') && typeof args.classId === 'number' && args.classId !== 0) {
    args.failedMethod = methodName(args.classId, (args.methodId as number) ?? 0);
  }
}

const utf8Text = (b: Uint8Array) => text(b, 0, Math.min(b.length, 255));

/**
 * The user name out of a start-ok response, never the password: PLAIN (RFC 4616) is
 * `authzid \0 authcid \0 passwd`; AMQPLAIN is a field table without its size holding LOGIN and
 * PASSWORD; EXTERNAL (RFC 4422 App. A) carries only an authorization identity. Null otherwise.
 */
export function saslUser(mechanism: string, response: Uint8Array): string | null {
  switch (mechanism) {
    case 'PLAIN': {
      const first = response.indexOf(0);
      const second = first < 0 ? -1 : response.indexOf(0, first + 1);
      if (second < 0) return null;
      return utf8Text(response.subarray(first + 1, second));
    }
    case 'AMQPLAIN': {
      const r = new Reader(response);
      const t: Record<string, FieldValue> = readTableBody(r, response.length, 0);
      return typeof t.LOGIN === 'string' ? t.LOGIN : null;
    }
    case 'EXTERNAL':
      return response.length > 0 && response.length <= 255 ? utf8Text(response) : null;
    default:
      return null;
  }
}
