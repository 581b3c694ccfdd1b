// The declarations loader: .proto files parsed in the sidecar give the same descriptors as
// `buf build` (the reference compiler here), descriptor sets load as they are, custom options
// (buf.validate and user-declared) reach protovalidate, problems name file:line, GraphQL fields
// come from the SDL, and the store keeps the last good snapshot.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { clone, create, getOption, toJson } from '@bufbuild/protobuf';
import { createValidator } from '@bufbuild/protovalidate';
import { field as validateField } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { DeclarationsLoadError, loadDeclarations, openDeclarations, type Declarations } from './declarations.js';
import { graphqlFieldsFromSdl } from './graphql-declarations.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-catalog-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const BUF = join(process.cwd(), 'node_modules', '.bin', 'buf');

function write(root: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

function loaded(protos: string[], graphqlSchemaFile?: string): Declarations {
  const r = loadDeclarations({ protos, graphqlSchemaFile }, graphqlFieldsFromSdl);
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.declarations;
}

function problems(protos: string[]): string[] {
  const r = loadDeclarations({ protos });
  assert.equal(r.ok, false, 'expected problems');
  return r.ok ? [] : [...r.problems];
}

const SHOP = {
  'common/opts.proto': `syntax = "proto3";
package common;
import "google/protobuf/descriptor.proto";
message Rule { int32 min = 1; repeated string tags = 2; Sub sub = 3; message Sub { bool on = 1; } }
extend google.protobuf.FieldOptions { Rule rule = 50001; string label = 50002; }
extend google.protobuf.MethodOptions { bool audited = 50003; }
enum Level { LEVEL_UNSPECIFIED = 0; LEVEL_HIGH = 1; }
extend google.protobuf.ServiceOptions { Level level = 50004; }
`,
  'shop/v1/orders.proto': `syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
import "common/opts.proto";
message Order {
  string id = 1 [(common.rule).min = 1, (common.rule).tags = "a", (common.label) = "x"];
  map<string, int32> item_counts = 2;
  optional string note = 3 [deprecated = true, json_name = "noteText"];
  oneof kind { string a = 4; int32 b = 5; }
  google.protobuf.Timestamp at = 6;
  repeated Item items = 7 [(common.rule) = { min: 2, sub: { on: true } }];
  message Item { string name = 1; map<int64, Order> sub_orders = 2; }
  enum State { STATE_UNSPECIFIED = 0; STATE_OPEN = 1 [deprecated = true]; }
  State state = 8;
  reserved 20 to 30, 40 to max;
  reserved "foo";
  repeated int32 nums = 9 [packed = false];
}
service Orders {
  option (common.level) = LEVEL_HIGH;
  rpc Get(Order) returns (Order) { option deprecated = true; option (common.audited) = true; }
  rpc Watch(Order) returns (stream Order);
  rpc Upload(stream Order) returns (Order);
  rpc Chat(stream Order) returns (stream Order);
}
service Old { option deprecated = true; rpc Ping(Order) returns (Order); }
`,
  'shop/v1/legacy.proto': `syntax = "proto2";
package shop.v1;
message Legacy {
  required string id = 1;
  optional int32 n = 2 [default = 7];
  optional bool b = 3 [default = true];
  optional Color c = 4 [default = GREEN];
  optional string s = 5 [default = "hi"];
  extensions 100 to 199;
  enum Color { RED = 0; GREEN = 1; }
}
extend Legacy { optional string extra = 100; }
`,
  'shop/v1/ed.proto': `edition = "2023";
package shop.v1;
message Ed { string name = 1; int32 n = 2 [features.field_presence = IMPLICIT]; }
`,
};

test('.proto files parsed in the sidecar give the descriptors `buf build` gives', () => {
  const root = write(join(dir, 'shop'), { ...SHOP, 'buf.yaml': 'version: v2\n' });
  const image = join(dir, 'shop.binpb');
  execFileSync(BUF, ['build', '-o', image], { cwd: root });
  const fromBuf = fromBinary(FileDescriptorSetSchema, readFileSync(image));
  const ours = loaded([root]);
  const json = (p: (typeof fromBuf.file)[number]) => {
    const c = clone(FileDescriptorProtoSchema, p);
    c.sourceCodeInfo = undefined;
    return toJson(FileDescriptorProtoSchema, c);
  };
  const names = Object.keys(SHOP);
  for (const name of names) {
    const expected = fromBuf.file.find((f) => f.name === name);
    const actual = [...ours.registry.files].find((f) => f.proto.name === name);
    assert.ok(expected && actual, name);
    assert.deepEqual(json(actual.proto), json(expected), name);
  }

  // The same files as a descriptor set declare the same methods.
  const fromSet = loaded([image]);
  const summary = (d: Declarations) => [...d.methods.values()].map((m) => [m.name, m.deprecated, m.clientStreaming, m.serverStreaming, m.input.typeName, m.file]);
  assert.deepEqual(summary(fromSet), summary(ours));
  assert.deepEqual(summary(ours), [
    ['shop.v1.Orders/Get', true, false, false, 'shop.v1.Order', 'shop/v1/orders.proto'],
    ['shop.v1.Orders/Watch', false, false, true, 'shop.v1.Order', 'shop/v1/orders.proto'],
    ['shop.v1.Orders/Upload', false, true, false, 'shop.v1.Order', 'shop/v1/orders.proto'],
    ['shop.v1.Orders/Chat', false, true, true, 'shop.v1.Order', 'shop/v1/orders.proto'],
    ['shop.v1.Old/Ping', true, false, false, 'shop.v1.Order', 'shop/v1/orders.proto'],
  ]);
  assert.equal(ours.grpcDeclared, true);
  assert.equal(ours.graphqlDeclared, false);
  assert.match(ours.version, /^[0-9a-f]{16}$/);
});

test('buf.validate is built in: its options reach protovalidate', () => {
  const root = write(join(dir, 'validated'), {
    'v.proto': `syntax = "proto3";
package v;
import "buf/validate/validate.proto";
message Req {
  string name = 1 [(buf.validate.field).string.min_len = 1, (buf.validate.field).string.max_len = 5];
  repeated string tags = 2 [(buf.validate.field).repeated = { max_items: 1 }];
  option (buf.validate.message).cel = { id: "name_not_x", message: "not x", expression: "this.name != 'x'" };
}
service S { rpc Do(Req) returns (Req); }
`,
  });
  const d = loaded([join(root, 'v.proto')]);
  const req = d.registry.getMessage('v.Req');
  assert.ok(req);
  const rules = getOption(req.field.name!, validateField);
  assert.equal(rules.type.case, 'string');
  const validator = createValidator({ registry: d.registry });
  const ok = validator.validate(req, create(req, { name: 'abc' } as never));
  assert.equal(ok.kind, 'valid');
  const bad = validator.validate(req, create(req, { name: 'toolong', tags: ['a', 'b'] } as never));
  assert.equal(bad.kind, 'invalid');
  const ids = bad.kind === 'invalid' ? bad.violations.map((v) => v.ruleId).sort() : [];
  assert.deepEqual(ids, ['repeated.max_items', 'string.max_len']);
  const x = validator.validate(req, create(req, { name: 'x' } as never));
  assert.deepEqual(x.kind === 'invalid' ? x.violations.map((v) => v.ruleId) : [], ['name_not_x']);
  assert.ok(d.registry.getFile('buf/validate/validate.proto'), 'the built-in file is in the registry');
});

test('a vendored copy of a built-in file is ignored; a listed file finds imports beside it', () => {
  const root = write(join(dir, 'vendored'), {
    'google/protobuf/timestamp.proto': 'this is not even protobuf',
    'api/a.proto': 'syntax = "proto3";\nimport "b.proto";\nimport "google/protobuf/timestamp.proto";\nmessage A { B b = 1; google.protobuf.Timestamp t = 2; }\n',
    'api/b.proto': 'syntax = "proto3";\nmessage B {}\n',
  });
  const d = loaded([join(root, 'api', 'a.proto')]);
  assert.deepEqual([...d.registry.files].map((f) => f.proto.name).sort(), ['a.proto', 'b.proto', 'google/protobuf/timestamp.proto']);
  const folder = loaded([join(root, 'api')]);
  assert.ok(folder.registry.getMessage('A') && folder.registry.getMessage('B'), 'a folder root reads every file below it');
});

test('problems name the file and line', () => {
  const root = write(join(dir, 'bad'), {
    'syntax.proto': 'syntax = "proto3";\nmessage M {\n  string x = ;\n}\n',
  });
  assert.match(problems([join(root, 'syntax.proto')])[0]!, /syntax\.proto:3: illegal/);

  write(root, { 'type.proto': 'syntax = "proto3";\nmessage M {\n  string x = 1;\n  Nope y = 2;\n}\n' });
  assert.match(problems([join(root, 'type.proto')])[0]!, /type\.proto:4: field M\.y: unknown type "Nope"/);

  write(root, { 'rpc.proto': 'syntax = "proto3";\npackage r; message M {}\nservice S {\n  rpc Do(M) returns (Gone);\n}\n' });
  assert.match(problems([join(root, 'rpc.proto')])[0]!, /rpc\.proto:4: rpc r.S\/Do: unknown message type "Gone"/);

  write(root, { 'import.proto': 'syntax = "proto3";\n\nimport "missing/thing.proto";\nmessage M {}\n' });
  assert.match(problems([join(root, 'import.proto')])[0]!, /import\.proto:3: import "missing\/thing\.proto" not found/);

  write(root, { 'option.proto': 'syntax = "proto3";\nimport "buf/validate/validate.proto";\nmessage M {\n  string x = 1 [(buf.validate.fieldz).string.min_len = 1];\n}\n' });
  assert.match(problems([join(root, 'option.proto')])[0]!, /option\.proto:4: field M\.x: unknown option \(buf\.validate\.fieldz\)/);

  write(root, { 'value.proto': 'syntax = "proto3";\nimport "buf/validate/validate.proto";\nmessage M {\n  string x = 1 [(buf.validate.field).string.min_len = "many"];\n}\n' });
  assert.match(problems([join(root, 'value.proto')])[0]!, /value\.proto:4: field M\.x: option \(buf\.validate\.field\): /);

  write(root, { 'set.binpb': 'not a descriptor set at all' });
  assert.match(problems([join(root, 'set.binpb')])[0]!, /set\.binpb: not a descriptor set/);
  assert.match(problems([join(root, 'nothing-here')])[0]!, /nothing-here: cannot read/);
  write(root, { 'syntax2.proto': 'syntax = "proto3";\n\nmessage 1 {}\n' });
  assert.match(problems([join(root, 'syntax.proto'), join(root, 'syntax2.proto')]).join('\n'), /syntax\.proto:3:[^]*syntax2\.proto:3:/, 'every file\'s problem, not only the first');
  assert.match(problems([join(root, 'type.proto'), join(root, 'rpc.proto')]).join('\n'), /type\.proto:4:[^]*rpc\.proto:4:/);
});

test('GraphQL fields of object and interface types, deprecated from @deprecated', () => {
  const sdl = write(join(dir, 'gql'), {
    'schema.graphql': 'interface Node { id: ID! }\ntype Query { order(id: ID!): Order, orders: [Order] @deprecated(reason: "use search") }\ntype Order implements Node { id: ID! total: Int @deprecated }\ninput Filter { q: String }\nextend type Query { search: [Order] }\n',
  });
  const d = loaded([], join(sdl, 'schema.graphql'));
  assert.equal(d.grpcDeclared, false);
  assert.equal(d.graphqlDeclared, true);
  assert.deepEqual([...d.graphqlFields.values()].map((f) => [f.name, f.deprecated, f.deprecationReason]), [
    ['Node.id', false, undefined],
    ['Query.order', false, undefined],
    ['Query.orders', true, 'use search'],
    ['Order.id', false, undefined],
    ['Order.total', true, 'No longer supported'],
    ['Query.search', false, undefined],
  ]);
  write(sdl, { 'broken.graphql': 'type Query {\n  x: \n' });
  const r = loadDeclarations({ protos: [], graphqlSchemaFile: join(sdl, 'broken.graphql') }, graphqlFieldsFromSdl);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.problems[0]!, /broken\.graphql:3:1: Syntax Error/);
});

test('the store: invalid at startup throws; a change reloads; a bad change keeps the last good snapshot', async () => {
  const root = write(join(dir, 'store'), { 'a.proto': 'syntax = "proto3";\npackage s;\nmessage M {}\nservice S { rpc One(M) returns (M); }\n' });
  write(join(dir, 'store-bad'), { 'a.proto': 'syntax = "proto3";\nmessage {' });
  await assert.rejects(openDeclarations({ protos: [join(dir, 'store-bad')] }), (err: unknown) => err instanceof DeclarationsLoadError && /a\.proto:2:/.test(err.message));

  const store = await openDeclarations({ protos: [root] });
  const results: string[] = [];
  store.onReload((r) => results.push(r));
  assert.deepEqual([...store.current.methods.keys()], ['s.S/One']);
  store.watch();
  write(root, { 'sub/b.proto': 'syntax = "proto3";\npackage s;\nimport "a.proto";\nservice T { rpc Two(M) returns (M); }\n' });
  for (let i = 0; i < 150 && !results.includes('ok'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(results.includes('ok'), `reloaded (${results.join(',')})`);
  assert.deepEqual([...store.current.methods.keys()].sort(), ['s.S/One', 's.T/Two']);
  const good = store.current;

  write(root, { 'a.proto': 'syntax = "proto3";\npackage s;\nmessage M {\n' });
  assert.equal(store.reload(), 'error');
  assert.match(store.status().lastError?.problems.join('\n') ?? '', /a\.proto: unexpected end of file/);
  assert.equal(store.current, good, 'the previous snapshot stays');
  assert.match(store.status().lastError?.problems.join('\n') ?? '', /a\.proto:/);
  assert.equal(store.status().reloads.error >= 1, true);
  store.close();
});
