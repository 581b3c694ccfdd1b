// `meshward policy explain --message JSON` (DESIGN §9): the request message of a call, written
// as protobuf JSON, checked the way the sidecar checks its binary form — every violation with
// its field path, constraint id and text. CONTROL path (CLI).

import { fromJson, toBinary, type JsonValue } from '@bufbuild/protobuf';
import { pathToString } from '@bufbuild/protobuf/reflect';
import type { ValidateRule } from '../policy/model.js';
import type { CompiledDescriptors } from './compiled-descriptors.js';

export interface MessageExplanation {
  readonly lines: readonly string[];
  /** The sidecar would refuse the call because of the message (an enforcing rule, and a violation). */
  readonly refused: boolean;
}

export function explainMessage(descriptors: CompiledDescriptors | undefined, method: string, json: string, validate: ValidateRule | undefined): MessageExplanation {
  const lines: string[] = [];
  const done = (refused: boolean): MessageExplanation => ({ lines, refused });
  if (validate === undefined) lines.push('validate   off: the matched rule does not ask for message validation (the message is not checked)');
  else lines.push(`validate   ${validate.mode} (${validate.rule})`);
  if (descriptors === undefined) {
    lines.push('message    cannot check: the sidecar config sets no catalog.protos');
    return done(false);
  }
  const m = descriptors.methods.get(method);
  if (m === undefined) {
    lines.push(`message    cannot check: ${method} is not in the descriptors of catalog.protos`);
    return done(validate?.mode === 'enforce');
  }
  const problem = descriptors.compileProblem(m);
  if (problem !== undefined) {
    lines.push(`message    cannot check: the constraints of ${m.input.typeName} do not compile: ${problem}`);
    return done(validate?.mode === 'enforce');
  }
  let value: JsonValue;
  try {
    value = JSON.parse(json) as JsonValue;
  } catch (err) {
    lines.push(`message    not JSON: ${(err as Error).message}`);
    return done(validate?.mode === 'enforce');
  }
  let message;
  try {
    message = fromJson(m.input, value, { registry: descriptors.declarations.registry });
  } catch (err) {
    lines.push(`message    does not fit ${m.input.typeName} (undecodable_message): ${(err as Error).message}`);
    return done(validate?.mode === 'enforce');
  }
  const result = descriptors.validator.validate(m.input, message);
  const size = toBinary(m.input, message).length;
  if (result.kind === 'valid') {
    lines.push(`message    VALID ${m.input.typeName} (${size} bytes encoded)`);
    return done(false);
  }
  if (result.kind === 'error') {
    lines.push(`message    ERROR a constraint of ${m.input.typeName} could not be evaluated (validation_error): ${result.error.message}`);
    return done(validate?.mode === 'enforce');
  }
  const effect = validate === undefined ? 'not checked by this rule' : validate.mode === 'enforce' ? 'refused: 3 INVALID_ARGUMENT' : 'audit: forwarded, recorded as audit_deny';
  lines.push(`message    INVALID ${m.input.typeName}: ${result.violations.length} violation(s) (invalid_message; ${effect})`);
  for (const v of result.violations) {
    lines.push(`  FAIL ${pathToString(v.field) || '(message)'}: ${v.ruleId}: ${v.message}`);
  }
  return done(validate?.mode === 'enforce');
}
