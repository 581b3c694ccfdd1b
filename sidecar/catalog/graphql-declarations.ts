// The GraphQL side of the declarations (DESIGN §8): every `Type.field` of the object and
// interface types in the SDL of `inbound.graphql.schemaFile`, deprecated when it carries
// `@deprecated`. CONTROL path. Only the SDL's syntax is checked here; whether it is a valid
// schema is the GraphQL schema store's check (graphql/schema-store.ts), which runs first.

import { GraphQLError, Kind, parse, type FieldDefinitionNode } from 'graphql';
import type { GraphqlFieldDeclaration } from './declarations-model.js';

export type SdlFields =
  | { readonly ok: true; readonly fields: Map<string, GraphqlFieldDeclaration> }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Reads the declared fields of an SDL text; `file` names it in problems (`FILE:LINE:COL: ...`). */
export function graphqlFieldsFromSdl(text: string, file: string): SdlFields {
  let doc;
  try {
    doc = parse(text, { noLocation: false, maxTokens: 1_000_000 });
  } catch (err) {
    const loc = err instanceof GraphQLError ? err.locations?.[0] : undefined;
    const message = err instanceof GraphQLError ? err.message : String(err);
    return { ok: false, problems: [`${file}${loc === undefined ? '' : `:${loc.line}:${loc.column}`}: ${message}`] };
  }
  const fields = new Map<string, GraphqlFieldDeclaration>();
  for (const def of doc.definitions) {
    switch (def.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        for (const field of def.fields ?? []) {
          const name = `${def.name.value}.${field.name.value}`;
          fields.set(name, { name, ...deprecation(field) });
        }
        break;
      default:
        break;
    }
  }
  return { ok: true, fields };
}

function deprecation(field: FieldDefinitionNode): { deprecated: boolean; deprecationReason: string | undefined } {
  const directive = field.directives?.find((d) => d.name.value === 'deprecated');
  if (directive === undefined) return { deprecated: false, deprecationReason: undefined };
  const reason = directive.arguments?.find((a) => a.name.value === 'reason')?.value;
  return { deprecated: true, deprecationReason: reason?.kind === Kind.STRING ? reason.value : 'No longer supported' };
}
