// Checks one request message against its protovalidate constraints (DESIGN §9): the bytes of
// one message in, a verdict out — the transport-neutral core of message validation. DATA path:
// decode with the method's input descriptor, validate with the validator compiled for the
// snapshot; a violation builds its refusal (BadRequest details), nothing else allocates.

import { fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { pathToString, type Path } from '@bufbuild/protobuf/reflect';
import type { Validator, Violation } from '@bufbuild/protovalidate';
import { GrpcStatus, RejectCode, wireReplies } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import type { LimitMode } from '../policy/model.js';
import { badRequestHeader, type FieldViolation } from './bad-request-details.js';
import type { CustomRules } from './custom-rules.js';

/** Stable reasons (metrics and audit records use them). */
export const ValidationReason = {
  INVALID_MESSAGE: 'invalid_message',
  UNDECODABLE_MESSAGE: 'undecodable_message',
  /** A constraint could not be evaluated (a CEL runtime error): refused, the app's constraints need a look. */
  VALIDATION_ERROR: 'validation_error',
} as const;

/** What one method's request messages are checked with; built once per (policy rule × descriptors). */
export interface MessageCheck {
  /** "package.Service/Method" */
  readonly method: string;
  /** The request message type. */
  readonly input: DescMessage;
  /** Bidi streams are forwarded at once (their app may speak first); others wait for a first valid message. */
  readonly holdFirst: boolean;
  /** The policy rule that asked for validation, and whether it refuses or records. */
  readonly rule: string;
  readonly mode: LimitMode;
  readonly validator: Validator;
  readonly customRules: CustomRules;
  /** The refusal of bytes that do not decode as `input`, prepared once. */
  readonly undecodable: Rejection;
}

/** Violations listed in an audit detail; the constraint ids are all kept (up to MAX_CONSTRAINTS). */
const MAX_DETAIL_VIOLATIONS = 8;
const MAX_CONSTRAINTS = 32;

// Unknown fields are not checked by any constraint and would only cost memory.
const READ_OPTIONS = { readUnknownFields: false } as const;

/** undefined = the message passed; else the refusal (or, for an audit rule, what it would have been). */
export function checkMessage(check: MessageCheck, body: Uint8Array): Rejection | undefined {
  let message;
  try {
    message = fromBinary(check.input, body, READ_OPTIONS);
  } catch {
    return check.undecodable;
  }
  const result = check.validator.validate(check.input, message);
  if (result.kind === 'valid') return undefined;
  if (result.kind === 'invalid') return invalidMessage(check, result.violations);
  return Object.freeze({
    code: RejectCode.INVALID_MESSAGE,
    reason: ValidationReason.VALIDATION_ERROR,
    rule: check.rule,
    detail: `${check.input.typeName}: a constraint could not be evaluated: ${result.error.message.slice(0, 200)}`,
  });
}

/** The prepared refusal of a message that does not decode as the method's input type. */
export function undecodableRejection(input: DescMessage | undefined, method: string, rule: string): Rejection {
  const detail = input === undefined ? `no descriptor for ${method} in the loaded protos` : `the request message does not decode as ${input.typeName}`;
  return Object.freeze({ code: RejectCode.INVALID_MESSAGE, reason: ValidationReason.UNDECODABLE_MESSAGE, rule, detail });
}

function invalidMessage(check: MessageCheck, violations: readonly Violation[]): Rejection {
  const fields: FieldViolation[] = [];
  const constraints: string[] = [];
  const details: string[] = [];
  for (const v of violations) {
    fields.push({ field: pathToString(v.field), description: describe(v, check.customRules) });
    if (constraints.length < MAX_CONSTRAINTS && !constraints.includes(v.ruleId)) constraints.push(v.ruleId);
    if (details.length < MAX_DETAIL_VIOLATIONS) details.push(`${maskedPath(v.field) || '(message)'} ${v.ruleId}`);
  }
  const more = violations.length > details.length ? `; and ${violations.length - details.length} more` : '';
  const code = GrpcStatus.INVALID_ARGUMENT;
  return {
    code: RejectCode.INVALID_MESSAGE,
    reason: ValidationReason.INVALID_MESSAGE,
    rule: check.rule,
    detail: `${check.input.typeName}: ${details.join('; ')}${more}`,
    constraints,
    replyHeaders: { 'grpc-status-details-bin': badRequestHeader(code, wireReplies.INVALID_MESSAGE.message, fields) },
  };
}

/**
 * protovalidate's own text for a standard rule (it names the rule's bounds, never the value);
 * for a service's CEL rule, its static message or else its id — a CEL rule without a message
 * may have computed its text from the value.
 */
function describe(v: Violation, custom: CustomRules): string {
  const own = custom.get(v.ruleId);
  if (own === undefined) return v.message;
  return own !== '' ? own : `violates ${v.ruleId}`;
}

/** The path for logs and audit records: map keys come from the caller, so they are left out. */
function maskedPath(path: Path): string {
  let out = '';
  for (const e of path) {
    if (e.kind === 'field' || e.kind === 'oneof') out += out === '' ? e.name : `.${e.name}`;
    else if (e.kind === 'extension') out += `[${e.typeName}]`;
    else if (e.kind === 'list_sub') out += `[${e.index}]`;
    else out += '[*]';
  }
  return out;
}
