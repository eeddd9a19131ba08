/**
 * The gRPC services of user-supplied .proto files (`analyze --proto`): a method is found by the
 * request's :path, `/package.Service/Method` (PROTOCOL-HTTP2.md, Path), and gives the message types
 * its request and response decode with. Built once, then read only, and shared by every session of a
 * pipeline: nothing of it lives at module level. This module loads protobufjs (~100 ms); the
 * dissectors only import its types, so only a run with a schema pays for it.
 */
import protobuf from 'protobufjs';
import { loadProtoFiles } from '../protobuf/load.js';
import { decodeTyped, type TypedResult, typeName } from '../protobuf/typed.js';

/** Which sides stream (protobuf.dev Language Guide, Defining Services: `stream` on either type). */
export type Streaming = 'unary' | 'server' | 'client' | 'bidi';

/** A message type of the schema: its full name, and its decoder (protobuf/typed.ts). */
export interface MessageType {
  /** `package.Message`. */
  readonly name: string;
  decode(bytes: Uint8Array): TypedResult;
}

export interface GrpcMethod {
  /** `package.Service.Method`. */
  fullName: string;
  streaming: Streaming;
  request: MessageType;
  response: MessageType;
}

function messageType(type: protobuf.Type): MessageType {
  return { name: typeName(type), decode: (bytes) => decodeTyped(type, bytes) };
}

export class GrpcSchema {
  private readonly methods = new Map<string, GrpcMethod>();

  constructor(root: protobuf.Root) {
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const n of ns.nestedArray) {
        if (n instanceof protobuf.Service) {
          for (const m of n.methodsArray) this.add(n, m);
        } else if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) walk(n);
      }
    };
    walk(root);
  }

  private add(service: protobuf.Service, m: protobuf.Method): void {
    const request = m.resolvedRequestType;
    const response = m.resolvedResponseType;
    // resolveAll has run, so both are set; an Enum in their place is a .proto mistake protoc refuses.
    if (!(request instanceof protobuf.Type) || !(response instanceof protobuf.Type)) return;
    const streaming: Streaming = m.requestStream
      ? m.responseStream
        ? 'bidi'
        : 'client'
      : m.responseStream
        ? 'server'
        : 'unary';
    const fullName = `${typeName(service)}.${m.name}`;
    this.methods.set(`/${typeName(service)}/${m.name}`, {
      fullName,
      streaming,
      request: messageType(request),
      response: messageType(response),
    });
  }

  /** The method a `:path` calls, or null when no loaded service has it. */
  method(path: string): GrpcMethod | null {
    return this.methods.get(path) ?? null;
  }

  /** How many methods the services have. */
  get size(): number {
    return this.methods.size;
  }
}

/** Loads .proto files (see loadProtoFiles; throws ProtoLoadError) and indexes their services. */
export function loadGrpcSchema(files: readonly string[], includeDirs: readonly string[] = []): GrpcSchema {
  return new GrpcSchema(loadProtoFiles(files, includeDirs));
}
