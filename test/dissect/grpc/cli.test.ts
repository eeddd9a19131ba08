/**
 * `podwire analyze --proto FILE --proto-path DIR`, run as a user runs it: names in the jsonl output,
 * and every mistake in the options or the .proto files an exit code 2 with a message that names the
 * file (and the line, where there is one).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CAPTURES, PODWIRE } from '../../support/paths.js';
import { GREET, INCLUDE, SHOP } from './protos.js';

const run = promisify(execFile);
const UNARY = join(CAPTURES, 'grpc', 'gRPC-Go-for-Professionals__Unary.pcapng');
const SERVER_STREAMING = join(CAPTURES, 'grpc', 'gRPC-Go-for-Professionals__Server_Streaming.pcapng');

async function podwire(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(PODWIRE, args, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const grpcEntries = (jsonl: string) =>
  jsonl
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((o) => o.type === 'entry' && o.protocol === 'grpc');

describe('analyze --proto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-cli-proto-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--format jsonl shows field names, the method and its streaming kind', async () => {
    const r = await podwire([
      'analyze',
      UNARY,
      '--decode-as',
      '50051=http2',
      '--proto',
      GREET,
      '--format',
      'jsonl',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [e] = grpcEntries(r.stdout);
    assert.equal(e.request.fullMethod, 'greet.GreetService.Greet');
    assert.equal(e.request.streaming, 'unary');
    assert.deepEqual(e.request.messages[0].json, { first_name: 'Clement' });
    assert.deepEqual(e.response.messages[0].json, { result: 'Hello Clement' });
  });

  test('several --proto files and a --proto-path together', async () => {
    const r = await podwire([
      'analyze',
      SERVER_STREAMING,
      '--decode-as',
      '50051=http2',
      '--proto',
      SHOP,
      '--proto-path',
      INCLUDE,
      '--proto',
      GREET,
      '--format',
      'jsonl',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [e] = grpcEntries(r.stdout);
    assert.equal(e.request.streaming, 'server');
    assert.equal(e.response.messages.length, 10);
    for (const m of e.response.messages) assert.equal(typeof m.json.result, 'string');
  });

  const usage = async (args: string[], message: RegExp) => {
    const r = await podwire(['analyze', UNARY, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.split('\n')[0]!, message);
    assert.match(r.stderr, /usage: podwire analyze/);
  };

  test('a missing .proto: exit 2, naming it', () =>
    usage(
      ['--proto', join(dir, 'missing.proto')],
      /^podwire analyze: --proto .*missing\.proto: no such file$/,
    ));

  test('a syntax error: exit 2, naming the file and line', () => {
    const bad = join(dir, 'bad.proto');
    writeFileSync(bad, 'syntax = "proto3";\npackage p;\nservice S {\n  rpc M(A) returns A;\n}\n');
    return usage(['--proto', bad], /^podwire analyze: --proto .*bad\.proto:4: illegal token 'A'/);
  });

  test('an import not found: exit 2, naming the importing file and line, and --proto-path', () =>
    usage(
      ['--proto', SHOP],
      /shop\.proto:9: import "podwire\/common\/money\.proto" not found .*--proto-path\)$/,
    ));

  test('an unknown type: exit 2, naming the file and line', () => {
    const f = join(dir, 'unknown-type.proto');
    writeFileSync(
      f,
      'syntax = "proto3";\npackage p;\nmessage A {}\nservice S {\n  rpc M(A) returns (B);\n}\n',
    );
    return usage(['--proto', f], /unknown-type\.proto:5: no such type: B$/);
  });

  test('a .proto without services: exit 2, nothing to decode with', () =>
    usage(['--proto', join(INCLUDE, 'podwire', 'common', 'money.proto')], /no service with methods/));

  test('--proto-path that is no directory, or without --proto: exit 2', async () => {
    await usage(
      ['--proto', GREET, '--proto-path', join(dir, 'nope')],
      /--proto-path .*nope: no such directory$/,
    );
    await usage(
      ['--proto-path', INCLUDE],
      /--proto-path is where imports of --proto files are found: add --proto FILE$/,
    );
  });
});
