/**
 * AMQP 0-9-1 as data: frame constants (§4.2.3), the protocol header (§4.2.2), reply codes (§1.1
 * "Constants"), and every class and method of amqp0-9-1.xml with RabbitMQ's extensions
 * (amqp-rabbitmq-0.9.1.json: exchange.bind/unbind, basic.nack, confirm, connection.blocked/
 * unblocked, connection.update-secret). Each method lists its arguments in wire order, the
 * replies that answer it when it is synchronous, and whether content frames follow it.
 */

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
/** §4.2.3: every frame ends with this octet. */
export const FRAME_END = 0xce;
/** type (1) + channel (2) + size (4). */
export const FRAME_HEADER_SIZE = 7;
/** Header plus frame-end: what a frame adds to its payload on the wire. */
export const FRAME_OVERHEAD = 8;

/** §4.2.2: "AMQP" 0 0 9 1. */
export const PROTOCOL_HEADER = Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1);
export const PROTOCOL_HEADER_SIZE = 8;

export const CLASS_BASIC = 60;

/** The argument types of §4.2.5; `secret` is a longstr that is never kept (credentials). */
export type ArgType =
  | 'bit'
  | 'octet'
  | 'short'
  | 'long'
  | 'longlong'
  | 'shortstr'
  | 'longstr'
  | 'table'
  | 'timestamp'
  | 'secret';

/** [name as reported, wire type, reserved (read but not reported: deprecated "reserved-N" fields)] */
export type ArgSpec = readonly [name: string, type: ArgType, reserved?: true];

export interface MethodSpec {
  classId: number;
  methodId: number;
  /** `class.method` as the XML spells them: `basic.get-ok`. */
  name: string;
  args: readonly ArgSpec[];
  /** Methods that answer this one when it is synchronous; empty for asynchronous methods. */
  replies: readonly string[];
  /** Content (a header frame and body frames) follows the method (§4.2.6). */
  content: boolean;
  /** The argument that, when set, says no reply will come. */
  nowait: boolean;
}

const CLASSES: Record<number, string> = {
  10: 'connection',
  20: 'channel',
  30: 'access',
  40: 'exchange',
  50: 'queue',
  60: 'basic',
  85: 'confirm',
  90: 'tx',
};

type Def = [methodId: number, name: string, args: ArgSpec[], replies?: string[], content?: true];

// The reserved fields (ticket, out-of-band, channel-id, capabilities, insist, known-hosts,
// cluster-id) were meaningful in 0-8/0-9 and are "reserved-N" in 0-9-1: read, never reported.
const DEFS: Record<number, Def[]> = {
  10: [
    [
      10,
      'start',
      [
        ['versionMajor', 'octet'],
        ['versionMinor', 'octet'],
        ['serverProperties', 'table'],
        ['mechanisms', 'longstr'],
        ['locales', 'longstr'],
      ],
      ['start-ok'],
    ],
    [
      11,
      'start-ok',
      [
        ['clientProperties', 'table'],
        ['mechanism', 'shortstr'],
        ['response', 'secret'],
        ['locale', 'shortstr'],
      ],
    ],
    [20, 'secure', [['challenge', 'secret']], ['secure-ok']],
    [21, 'secure-ok', [['response', 'secret']]],
    [
      30,
      'tune',
      [
        ['channelMax', 'short'],
        ['frameMax', 'long'],
        ['heartbeat', 'short'],
      ],
      ['tune-ok'],
    ],
    [
      31,
      'tune-ok',
      [
        ['channelMax', 'short'],
        ['frameMax', 'long'],
        ['heartbeat', 'short'],
      ],
    ],
    [
      40,
      'open',
      [
        ['virtualHost', 'shortstr'],
        ['capabilities', 'shortstr', true],
        ['insist', 'bit', true],
      ],
      ['open-ok'],
    ],
    [41, 'open-ok', [['knownHosts', 'shortstr', true]]],
    [
      50,
      'close',
      [
        ['replyCode', 'short'],
        ['replyText', 'shortstr'],
        ['classId', 'short'],
        ['methodId', 'short'],
      ],
      ['close-ok'],
    ],
    [51, 'close-ok', []],
    [60, 'blocked', [['reason', 'shortstr']]],
    [61, 'unblocked', []],
    [
      70,
      'update-secret',
      [
        ['newSecret', 'secret'],
        ['reason', 'shortstr'],
      ],
      ['update-secret-ok'],
    ],
    [71, 'update-secret-ok', []],
  ],
  20: [
    [10, 'open', [['outOfBand', 'shortstr', true]], ['open-ok']],
    [11, 'open-ok', [['channelId', 'longstr', true]]],
    [20, 'flow', [['active', 'bit']], ['flow-ok']],
    [21, 'flow-ok', [['active', 'bit']]],
    [
      40,
      'close',
      [
        ['replyCode', 'short'],
        ['replyText', 'shortstr'],
        ['classId', 'short'],
        ['methodId', 'short'],
      ],
      ['close-ok'],
    ],
    [41, 'close-ok', []],
  ],
  // 0-8's access class: gone from 0-9-1, still answered by RabbitMQ for old clients.
  30: [
    [
      10,
      'request',
      [
        ['realm', 'shortstr'],
        ['exclusive', 'bit'],
        ['passive', 'bit'],
        ['active', 'bit'],
        ['write', 'bit'],
        ['read', 'bit'],
      ],
      ['request-ok'],
    ],
    [11, 'request-ok', [['ticket', 'short', true]]],
  ],
  40: [
    [
      10,
      'declare',
      [
        ['ticket', 'short', true],
        ['exchange', 'shortstr'],
        ['type', 'shortstr'],
        ['passive', 'bit'],
        ['durable', 'bit'],
        ['autoDelete', 'bit'],
        ['internal', 'bit'],
        ['nowait', 'bit'],
        ['arguments', 'table'],
      ],
      ['declare-ok'],
    ],
    [11, 'declare-ok', []],
    [
      20,
      'delete',
      [
        ['ticket', 'short', true],
        ['exchange', 'shortstr'],
        ['ifUnused', 'bit'],
        ['nowait', 'bit'],
      ],
      ['delete-ok'],
    ],
    [21, 'delete-ok', []],
    [
      30,
      'bind',
      [
        ['ticket', 'short', true],
        ['destination', 'shortstr'],
        ['source', 'shortstr'],
        ['routingKey', 'shortstr'],
        ['nowait', 'bit'],
        ['arguments', 'table'],
      ],
      ['bind-ok'],
    ],
    [31, 'bind-ok', []],
    [
      40,
      'unbind',
      [
        ['ticket', 'short', true],
        ['destination', 'shortstr'],
        ['source', 'shortstr'],
        ['routingKey', 'shortstr'],
        ['nowait', 'bit'],
        ['arguments', 'table'],
      ],
      ['unbind-ok'],
    ],
    // RabbitMQ numbers exchange.unbind-ok 51, not 41 (amqp-rabbitmq-0.9.1.json).
    [51, 'unbind-ok', []],
  ],
  50: [
    [
      10,
      'declare',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['passive', 'bit'],
        ['durable', 'bit'],
        ['exclusive', 'bit'],
        ['autoDelete', 'bit'],
        ['nowait', 'bit'],
        ['arguments', 'table'],
      ],
      ['declare-ok'],
    ],
    [
      11,
      'declare-ok',
      [
        ['queue', 'shortstr'],
        ['messageCount', 'long'],
        ['consumerCount', 'long'],
      ],
    ],
    [
      20,
      'bind',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['exchange', 'shortstr'],
        ['routingKey', 'shortstr'],
        ['nowait', 'bit'],
        ['arguments', 'table'],
      ],
      ['bind-ok'],
    ],
    [21, 'bind-ok', []],
    [
      30,
      'purge',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['nowait', 'bit'],
      ],
      ['purge-ok'],
    ],
    [31, 'purge-ok', [['messageCount', 'long']]],
    [
      40,
      'delete',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['ifUnused', 'bit'],
        ['ifEmpty', 'bit'],
        ['nowait', 'bit'],
      ],
      ['delete-ok'],
    ],
    [41, 'delete-ok', [['messageCount', 'long']]],
    [
      50,
      'unbind',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['exchange', 'shortstr'],
        ['routingKey', 'shortstr'],
        ['arguments', 'table'],
      ],
      ['unbind-ok'],
    ],
    [51, 'unbind-ok', []],
  ],
  60: [
    [
      10,
      'qos',
      [
        ['prefetchSize', 'long'],
        ['prefetchCount', 'short'],
        ['global', 'bit'],
      ],
      ['qos-ok'],
    ],
    [11, 'qos-ok', []],
    [
      20,
      'consume',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['consumerTag', 'shortstr'],
        ['noLocal', 'bit'],
        ['noAck', 'bit'],
        ['exclusive', 'bit'],
        ['nowait', 'bit'],
        ['arguments', 'table'],
      ],
      ['consume-ok'],
    ],
    [21, 'consume-ok', [['consumerTag', 'shortstr']]],
    [
      30,
      'cancel',
      [
        ['consumerTag', 'shortstr'],
        ['nowait', 'bit'],
      ],
      ['cancel-ok'],
    ],
    [31, 'cancel-ok', [['consumerTag', 'shortstr']]],
    [
      40,
      'publish',
      [
        ['ticket', 'short', true],
        ['exchange', 'shortstr'],
        ['routingKey', 'shortstr'],
        ['mandatory', 'bit'],
        ['immediate', 'bit'],
      ],
      [],
      true,
    ],
    [
      50,
      'return',
      [
        ['replyCode', 'short'],
        ['replyText', 'shortstr'],
        ['exchange', 'shortstr'],
        ['routingKey', 'shortstr'],
      ],
      [],
      true,
    ],
    [
      60,
      'deliver',
      [
        ['consumerTag', 'shortstr'],
        ['deliveryTag', 'longlong'],
        ['redelivered', 'bit'],
        ['exchange', 'shortstr'],
        ['routingKey', 'shortstr'],
      ],
      [],
      true,
    ],
    [
      70,
      'get',
      [
        ['ticket', 'short', true],
        ['queue', 'shortstr'],
        ['noAck', 'bit'],
      ],
      ['get-ok', 'get-empty'],
    ],
    [
      71,
      'get-ok',
      [
        ['deliveryTag', 'longlong'],
        ['redelivered', 'bit'],
        ['exchange', 'shortstr'],
        ['routingKey', 'shortstr'],
        ['messageCount', 'long'],
      ],
      [],
      true,
    ],
    [72, 'get-empty', [['clusterId', 'shortstr', true]]],
    [
      80,
      'ack',
      [
        ['deliveryTag', 'longlong'],
        ['multiple', 'bit'],
      ],
    ],
    [
      90,
      'reject',
      [
        ['deliveryTag', 'longlong'],
        ['requeue', 'bit'],
      ],
    ],
    [100, 'recover-async', [['requeue', 'bit']]],
    [110, 'recover', [['requeue', 'bit']], ['recover-ok']],
    [111, 'recover-ok', []],
    [
      120,
      'nack',
      [
        ['deliveryTag', 'longlong'],
        ['multiple', 'bit'],
        ['requeue', 'bit'],
      ],
    ],
  ],
  85: [
    [10, 'select', [['nowait', 'bit']], ['select-ok']],
    [11, 'select-ok', []],
  ],
  90: [
    [10, 'select', [], ['select-ok']],
    [11, 'select-ok', []],
    [20, 'commit', [], ['commit-ok']],
    [21, 'commit-ok', []],
    [30, 'rollback', [], ['rollback-ok']],
    [31, 'rollback-ok', []],
  ],
};

const METHODS = new Map<number, MethodSpec>();
/** Names of the methods that answer some other method (`queue.declare-ok`, `basic.get-empty`...). */
const REPLIES = new Set<string>();

for (const [cls, defs] of Object.entries(DEFS)) {
  const classId = Number(cls);
  const className = CLASSES[classId]!;
  for (const [methodId, name, args, replies = [], content] of defs) {
    const full = replies.map((r) => `${className}.${r}`);
    for (const r of full) REPLIES.add(r);
    METHODS.set((classId << 16) | methodId, {
      classId,
      methodId,
      name: `${className}.${name}`,
      args,
      replies: full,
      content: content === true,
      nowait: args.some(([n]) => n === 'nowait'),
    });
  }
}

export function methodSpec(classId: number, methodId: number): MethodSpec | undefined {
  return METHODS.get(((classId & 0xffff) << 16) | (methodId & 0xffff));
}

/** `queue.declare` for (50, 10); `class-50.method-99` for what the spec does not define. */
export function methodName(classId: number, methodId: number): string {
  return methodSpec(classId, methodId)?.name ?? `class-${classId}.method-${methodId}`;
}

export function isReply(name: string): boolean {
  return REPLIES.has(name);
}

export function allMethods(): MethodSpec[] {
  return [...METHODS.values()];
}

/** §1.1 constants: the reply codes of channel.close, connection.close and basic.return. */
const REPLY_CODES: Record<number, string> = {
  200: 'REPLY_SUCCESS',
  311: 'CONTENT_TOO_LARGE',
  312: 'NO_ROUTE',
  313: 'NO_CONSUMERS',
  320: 'CONNECTION_FORCED',
  402: 'INVALID_PATH',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

export function replyCodeName(code: number): string {
  return REPLY_CODES[code] ?? `CODE_${code}`;
}

/**
 * Basic content properties (§1.8 "basic" class fields), in property-flags order: the first
 * property is flag bit 15 (§4.2.6.1). cluster-id is reserved in 0-9-1.
 */
export const BASIC_PROPERTIES: readonly ArgSpec[] = [
  ['contentType', 'shortstr'],
  ['contentEncoding', 'shortstr'],
  ['headers', 'table'],
  ['deliveryMode', 'octet'],
  ['priority', 'octet'],
  ['correlationId', 'shortstr'],
  ['replyTo', 'shortstr'],
  ['expiration', 'shortstr'],
  ['messageId', 'shortstr'],
  ['timestamp', 'timestamp'],
  ['type', 'shortstr'],
  ['userId', 'shortstr'],
  ['appId', 'shortstr'],
  ['clusterId', 'shortstr', true],
];
