// What message validation compiles once per snapshot of the API catalog's declarations
// (catalog/declarations.ts, `catalog.protos`; CONTROL path): one protovalidate validator (its
// plans are cached per message type), the services' own CEL rules, and the checks of one
// policy rule (its pattern × the declared methods), each warmed so a constraint that does not
// compile is found at load time, never on a call.

import { create } from '@bufbuild/protobuf';
import { CompilationError, createValidator, type Validator } from '@bufbuild/protovalidate';
import type { Declarations, MethodDeclaration } from '../catalog/declarations-model.js';
import type { ValidateRule } from '../policy/model.js';
import { methodPatternMatches, type MethodPattern } from '../policy/patterns.js';
import { collectCustomRules, type CustomRules } from './custom-rules.js';
import { undecodableRejection, type MessageCheck } from './message-check.js';

export class CompiledDescriptors {
  readonly validator: Validator;
  readonly customRules: CustomRules;
  /** Input type name → why its constraints do not compile (memo of `compileProblem`). */
  readonly #problems = new Map<string, string | undefined>();

  constructor(readonly declarations: Declarations) {
    // The registry (every file, buf/validate and google/protobuf/* included) lets protovalidate
    // see predefined rules and unpack google.protobuf.Any.
    this.validator = createValidator({ registry: declarations.registry });
    this.customRules = collectCustomRules(declarations.registry);
  }

  /** "package.Service/Method" → its declaration, every declared method. */
  get methods(): ReadonlyMap<string, MethodDeclaration> {
    return this.declarations.methods;
  }

  /** Declared methods a policy pattern matches, in declaration order. */
  matching(pattern: MethodPattern): MethodDeclaration[] {
    const out: MethodDeclaration[] = [];
    for (const [name, m] of this.declarations.methods) if (methodPatternMatches(pattern, name)) out.push(m);
    return out;
  }

  /**
   * Why the constraints of `method`'s request type do not compile (a CEL expression that does
   * not parse, a rule of the wrong type), or undefined. Validating an empty message builds and
   * caches the type's plan, so the first call does not pay for it.
   */
  compileProblem(method: MethodDeclaration): string | undefined {
    const input = method.input;
    if (this.#problems.has(input.typeName)) return this.#problems.get(input.typeName);
    const result = this.validator.validate(input, create(input));
    const problem = result.kind === 'error' && result.error instanceof CompilationError ? result.error.message : undefined;
    this.#problems.set(input.typeName, problem);
    return problem;
  }

  /** The checks of one compiled rule: every declared method its pattern matches. */
  checksFor(pattern: MethodPattern, validate: ValidateRule): ReadonlyMap<string, MessageCheck> {
    const checks = new Map<string, MessageCheck>();
    for (const m of this.matching(pattern)) {
      // A type whose constraints do not compile cannot be checked: lint and reload refuse the
      // policy; if the protos changed under a loaded policy, its calls are refused (fail closed).
      if (this.compileProblem(m) !== undefined) continue;
      const method = m.name;
      checks.set(
        method,
        Object.freeze({
          method,
          input: m.input,
          holdFirst: !(m.clientStreaming && m.serverStreaming),
          rule: validate.rule,
          mode: validate.mode,
          validator: this.validator,
          customRules: this.customRules,
          undecodable: undecodableRejection(m.input, method, validate.rule),
        }),
      );
    }
    return checks;
  }
}
