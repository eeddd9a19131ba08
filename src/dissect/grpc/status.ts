/** gRPC status codes (grpc/grpc doc/statuscodes.md) and grpc-message's percent-encoding. */

export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? `code ${code}`;
}

/**
 * grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md, "Status-Message"). A malformed escape
 * is kept as sent, as the spec asks receivers to do.
 */
export function decodeGrpcMessage(raw: string): string {
  if (!raw.includes('%')) return raw;
  const src = Buffer.from(raw, 'utf8');
  const out: number[] = [];
  const hex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length && hex(src[i + 1]!) && hex(src[i + 2]!)) {
      out.push(Number.parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16));
      i += 2;
    } else out.push(c);
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(out));
}
