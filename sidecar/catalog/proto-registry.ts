// Descriptors → one @bufbuild/protobuf FileRegistry and the method table (CONTROL path): user
// files and the built-in files they import in dependency order, custom options applied once a
// first registry knows the extensions, method names interned for the data path's lookups.

import { create, createFileRegistry, toBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { internString } from '../grpc/path.js';
import { builtinFiles } from './builtin-protos.js';
import type { MethodDeclaration } from './declarations-model.js';
import { applyCustomOptions } from './proto-options.js';

/**
 * One FileDescriptorSet in dependency order (built-in imports included), then the registry.
 * Custom options need a first registry to find their extensions; then the registry is rebuilt
 * from the descriptors that now carry them.
 */
export function buildRegistry(
  files: ReadonlyMap<string, { proto: FileDescriptorProto; from: string }>,
  pending: Parameters<typeof applyCustomOptions>[0],
): { ok: true; registry: FileRegistry } | { ok: false; problems: string[] } {
  const ordered: FileDescriptorProto[] = [];
  const done = new Set<string>();
  const problems: string[] = [];
  const visit = (name: string, importer: string | undefined, stack: string[]): void => {
    if (done.has(name)) return;
    if (stack.includes(name)) {
      problems.push(`${files.get(name)?.from ?? name}: import cycle: ${[...stack.slice(stack.indexOf(name)), name].join(' → ')}`);
      return;
    }
    const proto = files.get(name)?.proto ?? builtinFiles.get(name)?.proto;
    if (proto === undefined) {
      problems.push(`${importer === undefined ? name : files.get(importer)?.from ?? importer}: import "${name}" is in no catalog.protos source`);
      done.add(name);
      return;
    }
    for (const dep of proto.dependency) visit(dep, name, [...stack, name]);
    done.add(name);
    ordered.push(proto);
  };
  for (const name of files.keys()) visit(name, undefined, []);
  if (problems.length > 0) return { ok: false, problems };
  const set = create(FileDescriptorSetSchema, { file: ordered });
  try {
    let registry = createFileRegistry(set);
    if (pending.length > 0) {
      const optionProblems = applyCustomOptions(pending, registry);
      if (optionProblems.length > 0) return { ok: false, problems: optionProblems };
      registry = createFileRegistry(set);
    }
    return { ok: true, registry };
  } catch (err) {
    // @bufbuild/protobuf's own checks (e.g. a descriptor set with an unresolvable type).
    return { ok: false, problems: [`catalog.protos: invalid descriptors: ${(err as Error).message}`] };
  }
}

export function collectMethods(registry: FileRegistry, into: Map<string, MethodDeclaration>): void {
  for (const file of registry.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        // Interned like the names the gRPC path parser hands out: lookups compare pointers.
        const name = internString(`${service.typeName}/${method.name}`);
        into.set(name, Object.freeze({
          name,
          deprecated: method.deprecated || service.deprecated,
          input: method.input,
          output: method.output,
          clientStreaming: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
          serverStreaming: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
          file: file.proto.name,
        }));
      }
    }
  }
}

export function sameFile(a: FileDescriptorProto, b: FileDescriptorProto): boolean {
  const ea = toBinary(FileDescriptorProtoSchema, a);
  const eb = toBinary(FileDescriptorProtoSchema, b);
  return ea.length === eb.length && ea.every((v, i) => v === eb[i]);
}
