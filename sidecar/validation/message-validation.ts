// Message validation assembled (DESIGN §9): the compiled checks per (policy rule × descriptors)
// and the filter that gives a call its request-message guard. The checks are compiled once —
// at startup, on a policy reload, on a descriptor change (`prepare`) — and only looked up per
// call. CONTROL path, except `checksFor` and the filter (DATA).

import type { Declarations, DeclarationsSource } from '../catalog/declarations-model.js';
import type { CallContext, Filter, FilterResult } from '../core/filter.js';
import type { CompiledMethodRule, PolicySnapshot } from '../policy/model.js';
import { parseMethodPattern } from '../policy/patterns.js';
import { messageSizeLimit } from '../ratelimit/limit-rejections.js';
import { CompiledDescriptors } from './compiled-descriptors.js';
import { parseEncoding } from './inflate.js';
import { undecodableRejection, type MessageCheck } from './message-check.js';
import { RequestMessageGuard } from './request-message-guard.js';

interface RuleChecks {
  readonly declarations: Declarations;
  readonly checks: ReadonlyMap<string, MessageCheck>;
}

const NO_CHECKS: ReadonlyMap<string, MessageCheck> = new Map();

export class MessageValidation {
  readonly #compiled = new WeakMap<Declarations, CompiledDescriptors>();
  readonly #byRule = new WeakMap<CompiledMethodRule, RuleChecks>();

  /** `source`: the API catalog's declarations store (reloaded on change). */
  constructor(private readonly source: DeclarationsSource) {}

  /** The compiled form of a declarations snapshot (memoized); undefined when no catalog.protos is set. CONTROL. */
  compiled(declarations: Declarations = this.source.current): CompiledDescriptors | undefined {
    if (!declarations.grpcDeclared) return undefined;
    let c = this.#compiled.get(declarations);
    if (c === undefined) {
      c = new CompiledDescriptors(declarations);
      this.#compiled.set(declarations, c);
    }
    return c;
  }

  /**
   * The checks of a rule with `validate`, by method, for the current descriptors. DATA path: a
   * WeakMap lookup; compiles only when the rule or the descriptors are new (prepare() did it
   * already for every rule of a loaded snapshot).
   */
  checksFor(rule: CompiledMethodRule): ReadonlyMap<string, MessageCheck> {
    const declarations = this.source.current;
    const known = this.#byRule.get(rule);
    if (known !== undefined && known.declarations === declarations) return known.checks;
    const validate = rule.validate;
    const pattern = parseMethodPattern(rule.pattern);
    const compiled = this.compiled(declarations);
    const checks = validate === undefined || compiled === undefined || !pattern.ok ? NO_CHECKS : compiled.checksFor(pattern.value, validate);
    this.#byRule.set(rule, { declarations, checks });
    return checks;
  }

  /** Compiles the checks of every rule of `snapshot` that asks for validation. CONTROL. */
  prepare(snapshot: PolicySnapshot): void {
    for (const rule of snapshot.grpc) if (rule.validate !== undefined) this.checksFor(rule);
  }

  /** The filter after the limits: a call whose rule asks for validation gets its guard. */
  filter(): Filter {
    return {
      name: 'validation',
      apply: (ctx: CallContext): FilterResult => {
        const rules = ctx.decision?.rules;
        const validate = rules?.validate;
        if (rules === undefined || validate === undefined || ctx.method === undefined) return undefined;
        const method = ctx.method.fullName;
        const check = this.checksFor(rules).get(method);
        if (check === undefined) {
          // Nothing to check the messages with (the method left the protos, or its constraints
          // stopped compiling): refused, or recorded by an audit rule — never waved through.
          const refusal = undecodableRejection(undefined, method, validate.rule);
          if (validate.mode === 'enforce') return refusal;
          ctx.auditedMessage ??= refusal;
          return undefined;
        }
        const size = messageSizeLimit(rules);
        ctx.messageGuard = new RequestMessageGuard(check, {
          encoding: parseEncoding(ctx.headers['grpc-encoding']),
          maxMessageBytes: size.max,
          tooLarge: size.tooLarge,
          onAudit: (wouldRefuse) => {
            ctx.auditedMessage ??= wouldRefuse;
          },
        });
        return undefined;
      },
    };
  }
}
