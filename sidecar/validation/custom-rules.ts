// The CEL rules a service's own protos define (`(buf.validate.message).cel`, `(buf.validate.field).cel`
// with their `cel_expression` shorthands, and predefined rules), by id, with their static message.
// A CEL rule without a message may compute one from the message's values, so a refusal
// describes such a rule by its id instead (DESIGN §9: never the value). CONTROL path: once per
// descriptor set.

import { getOption, hasOption, type DescField, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { field as fieldRules, message as messageRules, predefined } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import type { FieldRules, Rule } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';

/** Rule id → the rule's own message ('' when it has none). */
export type CustomRules = ReadonlyMap<string, string>;

export function collectCustomRules(registry: Iterable<DescMessage | { kind: string }> & Registry): CustomRules {
  const rules = new Map<string, string>();
  const addRule = (r: Rule): void => {
    if (r.id !== '' && !rules.has(r.id)) rules.set(r.id, r.message);
  };
  const addExpressions = (expressions: readonly string[]): void => {
    for (const e of expressions) if (!rules.has(e)) rules.set(e, '');
  };
  const addField = (r: FieldRules | undefined, depth: number): void => {
    if (r === undefined || depth > 3) return;
    r.cel.forEach(addRule);
    addExpressions(r.celExpression);
    if (r.type.case === 'repeated') addField(r.type.value.items, depth + 1);
    else if (r.type.case === 'map') {
      addField(r.type.value.keys, depth + 1);
      addField(r.type.value.values, depth + 1);
    }
  };
  for (const type of registry) {
    if (type.kind === 'message') {
      const m = type as DescMessage;
      if (hasOption(m, messageRules)) {
        const r = getOption(m, messageRules);
        r.cel.forEach(addRule);
        addExpressions(r.celExpression);
      }
      for (const f of m.fields) if (hasOption(f, fieldRules)) addField(getOption(f, fieldRules), 0);
    } else if (type.kind === 'extension') {
      // A predefined rule: an extension of a standard rules message carrying its own CEL.
      const ext = type as unknown as DescField;
      if (hasOption(ext, predefined)) getOption(ext, predefined).cel.forEach(addRule);
    }
  }
  return rules;
}
