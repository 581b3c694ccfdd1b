// What the catalog knows is declared (DESIGN §8): the types of one immutable snapshot of
// `catalog.protos` and the GraphQL SDL. Shared by the loader (CONTROL path, declarations.ts)
// and its readers on the data path (observations, the undeclared-method filter, message
// validation), which import only these types and the empty snapshot.

import type { DescMessage, FileRegistry } from '@bufbuild/protobuf';

/** One gRPC method of a service in `catalog.protos`. */
export interface MethodDeclaration {
  /** `package.Service/Method` (no leading `/`). */
  readonly name: string;
  /** `option deprecated = true` on the method or on its service. */
  readonly deprecated: boolean;
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly clientStreaming: boolean;
  readonly serverStreaming: boolean;
  /** The declaring file's import name (`shop/v1/orders.proto`). */
  readonly file: string;
}

/** One `Type.field` of the GraphQL SDL. */
export interface GraphqlFieldDeclaration {
  /** `Type.field` */
  readonly name: string;
  readonly deprecated: boolean;
  readonly deprecationReason: string | undefined;
}

/** One snapshot. Immutable: a reload publishes a new object. */
export interface Declarations {
  /** A hash of every source read; equal versions mean equal declarations. */
  readonly version: string;
  /** Whether gRPC methods are declared at all (`catalog.protos` set). Without it nothing is undeclared. */
  readonly grpcDeclared: boolean;
  /** Whether GraphQL fields are declared (`inbound.graphql.schemaFile` set). */
  readonly graphqlDeclared: boolean;
  /**
   * Every file of `catalog.protos` plus the built-in files they import (google/protobuf/*,
   * buf/validate/validate.proto), custom options included: decode messages and run
   * protovalidate with it.
   */
  readonly registry: FileRegistry;
  /** By `package.Service/Method`. */
  readonly methods: ReadonlyMap<string, MethodDeclaration>;
  /** By `Type.field`. */
  readonly graphqlFields: ReadonlyMap<string, GraphqlFieldDeclaration>;
  /** The files read (paths on disk), for /catalog and logs. */
  readonly sources: readonly string[];
}

/** `catalog.undeclared`: what happens to a call of a gRPC method `catalog.protos` does not declare (filters/undeclared-filter.ts). */
export type UndeclaredMode = 'deny' | 'audit' | 'allow';

/** The reason of a refusal (or an audited one) of an undeclared method. */
export const UNDECLARED_REASON = 'undeclared_method';

/** What readers hold: the store (declarations.ts) or a fixed snapshot. Read `current` once per call. */
export interface DeclarationsSource {
  readonly current: Declarations;
}

/**
 * A registry without files, written out so that a sidecar without `catalog.protos` does not load
 * @bufbuild/protobuf at all (it costs ~50 ms of startup).
 */
const EMPTY_REGISTRY: FileRegistry = Object.freeze({
  kind: 'registry' as const,
  files: [],
  getFile: () => undefined,
  get: () => undefined,
  getMessage: () => undefined,
  getEnum: () => undefined,
  getExtension: () => undefined,
  getExtensionFor: () => undefined,
  getService: () => undefined,
  [Symbol.iterator]: () => [][Symbol.iterator](),
});

/** Nothing declared: the snapshot when neither `catalog.protos` nor a GraphQL schema file is set. */
export const EMPTY_DECLARATIONS: Declarations = Object.freeze({
  version: 'none',
  grpcDeclared: false,
  graphqlDeclared: false,
  registry: EMPTY_REGISTRY,
  methods: new Map(),
  graphqlFields: new Map(),
  sources: Object.freeze([]),
});
