/**
 * `.proto` files loaded into a protobufjs Root, with imports (protobuf.dev "Language Guide (proto 3)",
 * Importing Definitions) and errors that name the file and line. The load order and the import search
 * are ours, not protobufjs's `Root.load`: it reports a missing import as a bare ENOENT and a duplicate
 * name without the file, and both are mistakes a user must be able to find.
 *
 * An import is looked up: among the well-known types protobufjs bundles (google/protobuf/any, duration,
 * empty, field_mask, struct, timestamp, wrappers), then in each include directory in order (protoc's
 * --proto_path), then beside the importing file, then among the .proto files protobufjs ships
 * (google/protobuf/descriptor.proto and a few others). Field names are kept as written (`keepCase`).
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import protobuf from 'protobufjs';

/** A .proto file that could not be loaded: `file:line: detail`, line when known. */
export class ProtoLoadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(`${file}${line !== null ? `:${line}` : ''}: ${detail}`);
    this.name = 'ProtoLoadError';
  }
}

/** Where protobufjs keeps the .proto files it ships but does not bundle (descriptor.proto, ...). */
const SHIPPED_DIR = dirname(createRequire(import.meta.url).resolve('protobufjs'));

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A path as the user would write it: relative to the working directory when under it. */
function shown(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/** The 1-based line of the first match of `re` in `source`, or null. */
function lineOf(source: string, re: RegExp): number | null {
  const m = re.exec(source);
  return m ? source.slice(0, m.index).split('\n').length : null;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Loads `files` (paths as given on the command line) and their imports, and resolves every type
 * reference. Throws ProtoLoadError.
 */
export function loadProtoFiles(files: readonly string[], includeDirs: readonly string[] = []): protobuf.Root {
  const root = new protobuf.Root();
  const sources = new Map<string, string>();
  const dirs = includeDirs.map((d) => resolve(d));

  const loadFile = (abs: string, label: string): void => {
    if (sources.has(abs)) return;
    let source: string;
    try {
      source = readFileSync(abs, 'utf8');
    } catch (err) {
      throw new ProtoLoadError(label, null, `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    sources.set(abs, source);
    let parsed: protobuf.IParserResult;
    try {
      // protobufjs names the file in its messages and on the objects it creates (`filename`).
      (protobuf.parse as unknown as { filename: string | null }).filename = abs;
      parsed = protobuf.parse(source, root, { keepCase: true });
    } catch (err) {
      throw parseError(err as Error, label, source);
    }
    for (const target of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const bundled = protobuf.common.get(target);
      if (bundled) {
        if (sources.has(target)) continue;
        sources.set(target, '');
        root.addJSON(bundled.nested ?? {});
        continue;
      }
      const found = [...dirs, dirname(abs), SHIPPED_DIR].map((d) => resolve(d, target)).find(isFile);
      if (!found) {
        const where = [...dirs.map(shown), shown(dirname(abs))].join(', ');
        throw new ProtoLoadError(
          label,
          lineOf(source, new RegExp(`import\\s+(?:public\\s+|weak\\s+)?["']${escapeRe(target)}["']`)),
          `import "${target}" not found (looked in ${where}; add its directory with --proto-path)`,
        );
      }
      loadFile(found, shown(found));
    }
  };

  for (const file of files) {
    const abs = resolve(file);
    if (!isFile(abs)) throw new ProtoLoadError(file, null, 'no such file');
    loadFile(abs, file);
  }
  try {
    root.resolveAll();
  } catch (err) {
    throw unresolved(root, sources, err as Error);
  }
  return root;
}

/**
 * protobufjs: "illegal token 'x' (/abs/f.proto, line 3)" -> f.proto:3: illegal token 'x'. A name
 * declared twice has no line in its message: the second declaration's is found in the source.
 */
function parseError(err: Error, label: string, source: string): ProtoLoadError {
  const m = /^(.*) \((?:.*, )?line (\d+)\)$/s.exec(err.message);
  if (m) return new ProtoLoadError(label, Number(m[2]), m[1]!);
  const dup = /^duplicate name '([^']+)'/.exec(err.message);
  if (dup) {
    const decl = new RegExp(`\\b(?:message|enum|service|rpc)\\s+${escapeRe(dup[1]!)}\\b`, 'g');
    const all = [...source.matchAll(decl)];
    const last = all[all.length - 1];
    if (last) return new ProtoLoadError(label, source.slice(0, last.index).split('\n').length, err.message);
  }
  return new ProtoLoadError(label, null, err.message);
}

/** resolveAll failed ("no such type: Foo"): find the field or method that refers to it, and where. */
function unresolved(root: protobuf.Root, sources: Map<string, string>, err: Error): ProtoLoadError {
  const objects: protobuf.ReflectionObject[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    if (ns instanceof protobuf.Type) objects.push(...ns.fieldsArray);
    if (ns instanceof protobuf.Service) objects.push(...ns.methodsArray);
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Namespace || n instanceof protobuf.Type || n instanceof protobuf.Service)
        walk(n);
      else objects.push(n);
    }
  };
  walk(root);
  for (const obj of objects) {
    try {
      obj.resolve();
    } catch (e) {
      const file = obj.filename;
      if (!file) break;
      const source = sources.get(file) ?? '';
      let line: number | null = null;
      if (obj instanceof protobuf.Field)
        line = lineOf(source, new RegExp(`${escapeRe(obj.type)}\\s+${escapeRe(obj.name)}\\s*=`));
      else if (obj instanceof protobuf.Method)
        line = lineOf(source, new RegExp(`rpc\\s+${escapeRe(obj.name)}\\b`));
      return new ProtoLoadError(shown(file), line, (e as Error).message);
    }
  }
  return new ProtoLoadError('(.proto files)', null, err.message);
}
