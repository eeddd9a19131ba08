/**
 * The field schema the query checker, the UI and docs/query.md read: the Entry's fields
 * (src/dissect/entry.ts, DESIGN.md "The entry"), the names Kubeshark's KFL v1 and v2 (CEL) users
 * type for them (kubeshark/docs `en/v2/kfl2.md`, "Supported Variables"), and how a name resolves
 * to a path in the entry's JSON. `request.*` and `response.*` are open: protocol detail varies,
 * so any sub-path is accepted there and typed at run time.
 */
import { PROTOCOLS } from '../dissect/entry.js';

export type FieldType =
  | 'string'
  | 'number'
  /** µs since the Unix epoch; compares with `timestamp("...")` and `now()`. */
  | 'timestamp'
  /** A number of `unit`s; compares with `duration("...")`, converted to that unit. */
  | 'duration'
  | 'string|number'
  | 'boolean'
  | 'object'
  /** A list the query can test with `in` (derived from other fields). */
  | 'list'
  /** Protocol detail: typed at run time. */
  | 'any';

export interface FieldInfo {
  /** The canonical name: the entry's JSON path (`dst.name`), or the derived field's name. */
  readonly name: string;
  readonly type: FieldType;
  readonly description: string;
  /** Other names that mean this field (Kubeshark v1/v2 spellings). */
  readonly aliases: readonly string[];
  readonly unit?: 'µs' | 'ms' | 'bytes';
  /** The only values the field takes (a literal outside them is an error). */
  readonly values?: readonly string[];
  /** May be null or absent. */
  readonly nullable?: boolean;
  /** Any sub-path is accepted (`request.headers["x-id"]`). */
  readonly open?: boolean;
  /** Only entries of these protocols carry it (documentation, and the guard of protocol aliases). */
  readonly protocols?: readonly string[];
  /** Keys right under it are matched without ASCII case (HTTP field names, RFC 9110 §5.1). */
  readonly caseInsensitiveKeys?: boolean;
}

const KINDS = ['pod', 'service', 'node', 'external'] as const;
const HTTPISH = ['http', 'graphql'];

function endpoint(side: 'src' | 'dst'): FieldInfo[] {
  const who = side === 'src' ? 'sender of the request (the client)' : 'receiver of the request (the server)';
  const pod = `${side}.pod`;
  const svc = `${side}.service`;
  return [
    { name: side, type: 'object', description: `The ${who}.`, aliases: [] },
    { name: `${side}.ip`, type: 'string', description: `IP address of the ${who}.`, aliases: [] },
    { name: `${side}.port`, type: 'number', description: `Port of the ${who}.`, aliases: [] },
    {
      name: `${side}.name`,
      type: 'string',
      nullable: true,
      description: 'Kubernetes name (pod, service or node), or the outside name; absent without enrichment.',
      aliases: [`${pod}.name`, `${svc}.name`],
    },
    {
      name: `${side}.namespace`,
      type: 'string',
      nullable: true,
      description: 'Kubernetes namespace.',
      aliases: [`${pod}.namespace`, `${svc}.namespace`],
    },
    {
      name: `${side}.kind`,
      type: 'string',
      nullable: true,
      values: KINDS,
      description: 'What the name is: pod, service, node or external.',
      aliases: [],
    },
    {
      name: `${side}.workload`,
      type: 'string',
      nullable: true,
      description: 'Owning workload.',
      aliases: [],
    },
    {
      name: `${side}.node`,
      type: 'string',
      nullable: true,
      description: 'Node the pod runs on.',
      aliases: [],
    },
  ];
}

/** Every field a query may name, in the order docs/query.md lists them. */
export const FIELDS: readonly FieldInfo[] = [
  {
    name: 'id',
    type: 'string',
    description: 'Entry id: `<connection>-<n>` for TCP, `u<n>` for UDP.',
    aliases: [],
  },
  {
    name: 'timestamp',
    type: 'timestamp',
    unit: 'µs',
    description: 'Request start (its first byte), microseconds since the Unix epoch.',
    aliases: [],
  },
  {
    name: 'elapsedMs',
    type: 'duration',
    unit: 'ms',
    nullable: true,
    description: "Response latency in milliseconds (request's first byte to response's first byte).",
    aliases: ['elapsed'],
  },
  {
    name: 'elapsed_time',
    type: 'duration',
    unit: 'µs',
    nullable: true,
    description: "Response latency in microseconds (Kubeshark's elapsed_time): elapsedMs × 1000.",
    aliases: [],
  },
  {
    name: 'protocol',
    type: 'string',
    values: PROTOCOLS,
    description: 'The protocol; each name alone is a condition (`http` means `protocol == "http"`).',
    aliases: [],
  },
  ...endpoint('src'),
  ...endpoint('dst'),
  {
    name: 'method',
    type: 'string',
    description: 'Summary column: HTTP method, Redis command, SQL keyword, DNS query type... (per protocol).',
    aliases: [
      'redis_type',
      'redis_command',
      'kafka_api_key_name',
      'mysql_command',
      'postgresql_command',
      'amqp_method',
      'ws_opcode',
    ],
  },
  {
    name: 'path',
    type: 'string',
    description: 'Summary column: HTTP target (path and query), gRPC method path, Redis key, statement...',
    aliases: ['url', 'redis_key', 'kafka_request_summary', 'mysql_query', 'postgresql_query'],
  },
  {
    name: 'status',
    type: 'string|number',
    nullable: true,
    description: 'Summary column: HTTP status code (number), gRPC status (number), Redis OK/ERROR/NIL...',
    aliases: ['status_code', 'grpc_status'],
  },
  {
    name: 'request',
    type: 'object',
    open: true,
    description: 'Protocol detail of the request (headers, body, fields); any sub-path may be queried.',
    aliases: [],
  },
  {
    name: 'response',
    type: 'object',
    open: true,
    nullable: true,
    description: 'Protocol detail of the response; null without one; any sub-path may be queried.',
    aliases: [],
  },
  {
    name: 'requestSize',
    type: 'number',
    unit: 'bytes',
    description: 'Bytes of the request on the wire.',
    aliases: [],
  },
  {
    name: 'responseSize',
    type: 'number',
    unit: 'bytes',
    description: 'Bytes of the response on the wire.',
    aliases: [],
  },
  {
    name: 'connectionId',
    type: 'number',
    nullable: true,
    description: 'The TCP connection record id; null for UDP.',
    aliases: ['conn_id'],
  },
  {
    name: 'node',
    type: 'string',
    nullable: true,
    description: 'The node whose agent captured the entry; absent offline.',
    aliases: ['node_name'],
  },
  {
    name: 'error',
    type: 'string',
    nullable: true,
    description: 'Why the entry is incomplete or odd, else null.',
    aliases: [],
  },
  // Protocol detail users query most (open paths: listed for the UI and the docs, typed at run time).
  {
    name: 'request.headers',
    type: 'object',
    protocols: ['http', 'grpc', 'graphql', 'websocket'],
    caseInsensitiveKeys: true,
    description: 'Request header fields by name; names match without case (`request.headers["x-id"]`).',
    aliases: [],
  },
  {
    name: 'response.headers',
    type: 'object',
    protocols: ['http', 'grpc', 'graphql', 'websocket'],
    caseInsensitiveKeys: true,
    description: 'Response header fields by name; names match without case.',
    aliases: [],
  },
  {
    name: 'request.method',
    type: 'any',
    protocols: HTTPISH,
    description: 'HTTP request method (KFL v1).',
    aliases: [],
  },
  {
    name: 'request.path',
    type: 'any',
    protocols: HTTPISH,
    description: 'HTTP request target (KFL v1).',
    aliases: [],
  },
  {
    name: 'request.httpVersion',
    type: 'any',
    protocols: ['http', 'grpc', 'graphql'],
    description: 'HTTP version: 1.0, 1.1 or 2.',
    aliases: ['http_version'],
  },
  {
    name: 'response.status',
    type: 'any',
    protocols: HTTPISH,
    description: 'HTTP status code (KFL v1).',
    aliases: [],
  },
  {
    name: 'request.bodySize',
    type: 'any',
    protocols: HTTPISH,
    description: 'Request body size in bytes.',
    aliases: ['request_body_size'],
  },
  {
    name: 'response.bodySize',
    type: 'any',
    protocols: HTTPISH,
    description: 'Response body size in bytes.',
    aliases: ['response_body_size'],
  },
  {
    name: 'request.rpc',
    type: 'any',
    protocols: ['grpc'],
    description: 'gRPC method name (the last segment of the path).',
    aliases: ['grpc_method'],
  },
  {
    name: 'request.apiKey',
    type: 'any',
    protocols: ['kafka'],
    description: 'Kafka API key number.',
    aliases: ['kafka_api_key'],
  },
  {
    name: 'request.clientId',
    type: 'any',
    protocols: ['kafka'],
    description: 'Kafka client id.',
    aliases: ['kafka_client_id'],
  },
  // Lists derived from other fields, for `in` (Kubeshark v2's list variables).
  {
    name: 'namespaces',
    type: 'list',
    description: 'Both endpoints\' namespaces: `"prod" in namespaces`.',
    aliases: [],
  },
  { name: 'pods', type: 'list', description: 'Names of the endpoints that are pods.', aliases: [] },
  { name: 'services', type: 'list', description: 'Names of the endpoints that are services.', aliases: [] },
  {
    name: 'dns_questions',
    type: 'list',
    protocols: ['dns'],
    description: 'Names asked (`request.questions[*].name`).',
    aliases: [],
  },
  {
    name: 'dns_question_types',
    type: 'list',
    protocols: ['dns'],
    description: 'Record types asked (`request.questions[*].type`).',
    aliases: [],
  },
  {
    name: 'dns_answers',
    type: 'list',
    protocols: ['dns'],
    description: 'Names answered (`response.answers[*].name`).',
    aliases: [],
  },
];

/** Kubeshark's protocol names that differ from podwire's. */
export const PROTOCOL_ALIASES: Readonly<Record<string, string>> = {
  postgresql: 'postgres',
  ws: 'websocket',
  gql: 'graphql',
};

/** A value is read only when `path` holds one of `values` (the alias means nothing otherwise). */
export interface GuardDef {
  readonly path: readonly string[];
  readonly values: readonly string[];
}

/** How a name that is not the entry's own path resolves. */
export interface AliasDef {
  readonly to: readonly string[];
  readonly guard?: GuardDef;
  /** The value is multiplied by this (units). */
  readonly scale?: number;
  /** The field's schema entry (type, unit). */
  readonly info: FieldInfo;
}

/** A derived list: the union of fields, or a field of every element of an array. */
export type ListDef =
  | { readonly kind: 'union'; readonly members: readonly { to: readonly string[]; guard?: GuardDef }[] }
  | {
      readonly kind: 'project';
      readonly array: readonly string[];
      readonly key: string;
      readonly guard: GuardDef;
    };

const byName = new Map(FIELDS.map((f) => [f.name, f]));
const info = (name: string): FieldInfo => byName.get(name)!;
const proto = (...values: string[]): GuardDef => ({ path: ['protocol'], values });
const kind = (side: string, ...values: string[]): GuardDef => ({ path: [side, 'kind'], values });

function aliasTable(): Map<string, AliasDef> {
  const t = new Map<string, AliasDef>();
  const add = (name: string, to: string, guard?: GuardDef, scale?: number) =>
    t.set(name, {
      to: to.split('.'),
      info: info(to),
      ...(guard ? { guard } : {}),
      ...(scale ? { scale } : {}),
    });
  add('elapsed', 'elapsedMs');
  t.set('elapsed_time', { to: ['elapsedMs'], scale: 1000, info: info('elapsed_time') });
  add('status_code', 'status', proto(...HTTPISH));
  add('grpc_status', 'status', proto('grpc'));
  add('url', 'path', proto('http', 'graphql', 'grpc', 'websocket'));
  add('redis_type', 'method', proto('redis'));
  add('redis_command', 'method', proto('redis'));
  add('redis_key', 'path', proto('redis'));
  add('kafka_api_key_name', 'method', proto('kafka'));
  add('kafka_request_summary', 'path', proto('kafka'));
  add('mysql_command', 'method', proto('mysql'));
  add('mysql_query', 'path', proto('mysql'));
  add('postgresql_command', 'method', proto('postgres'));
  add('postgresql_query', 'path', proto('postgres'));
  add('amqp_method', 'method', proto('amqp'));
  add('ws_opcode', 'method', proto('websocket'));
  add('http_version', 'request.httpVersion', proto('http', 'grpc', 'graphql'));
  add('request_body_size', 'request.bodySize', proto(...HTTPISH));
  add('response_body_size', 'response.bodySize', proto(...HTTPISH));
  add('grpc_method', 'request.rpc', proto('grpc'));
  add('kafka_api_key', 'request.apiKey', proto('kafka'));
  add('kafka_client_id', 'request.clientId', proto('kafka'));
  add('conn_id', 'connectionId');
  add('node_name', 'node');
  for (const side of ['src', 'dst']) {
    // Kubeshark: "Pod fields automatically fall back to service data when pod info is unavailable".
    add(`${side}.pod.name`, `${side}.name`, kind(side, 'pod', 'service'));
    add(`${side}.pod.namespace`, `${side}.namespace`, kind(side, 'pod', 'service'));
    add(`${side}.service.name`, `${side}.name`, kind(side, 'service'));
    add(`${side}.service.namespace`, `${side}.namespace`, kind(side, 'service'));
  }
  return t;
}

export const ALIASES: ReadonlyMap<string, AliasDef> = aliasTable();

export const LISTS: ReadonlyMap<string, ListDef> = new Map<string, ListDef>([
  ['namespaces', { kind: 'union', members: [{ to: ['src', 'namespace'] }, { to: ['dst', 'namespace'] }] }],
  [
    'pods',
    {
      kind: 'union',
      members: [
        { to: ['src', 'name'], guard: kind('src', 'pod') },
        { to: ['dst', 'name'], guard: kind('dst', 'pod') },
      ],
    },
  ],
  [
    'services',
    {
      kind: 'union',
      members: [
        { to: ['src', 'name'], guard: kind('src', 'service') },
        { to: ['dst', 'name'], guard: kind('dst', 'service') },
      ],
    },
  ],
  ['dns_questions', { kind: 'project', array: ['request', 'questions'], key: 'name', guard: proto('dns') }],
  [
    'dns_question_types',
    { kind: 'project', array: ['request', 'questions'], key: 'type', guard: proto('dns') },
  ],
  ['dns_answers', { kind: 'project', array: ['response', 'answers'], key: 'name', guard: proto('dns') }],
]);

/** The schema entry of an entry path made of names (`['src','name']`), if the schema has one. */
export function fieldInfo(path: readonly string[]): FieldInfo | undefined {
  return byName.get(path.join('.'));
}

/** Top-level entry fields (the roots a path may start from). */
export const ROOTS: ReadonlySet<string> = new Set(
  FIELDS.filter((f) => !f.name.includes('.') && f.type !== 'list' && !ALIASES.has(f.name)).map((f) => f.name),
);

/** Every name a user may type, for "did you mean". */
export function knownNames(): string[] {
  const names = new Set<string>();
  for (const f of FIELDS) {
    names.add(f.name);
    for (const a of f.aliases) names.add(a);
  }
  for (const p of PROTOCOLS) names.add(p);
  for (const p of Object.keys(PROTOCOL_ALIASES)) names.add(p);
  return [...names];
}
