// Message validation (DESIGN §9; data path, after the message-size filter): a call whose rule
// asks for `validate` gets a request-message guard — each request message held until it is
// complete and checked against its protovalidate constraints, then relayed as sent
// (core/body-hooks.ts MessageGuard). The checks are compiled by validation/ (loaded only with
// catalog.protos): this filter only imports its types.

import type { FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';
import type { MessageValidation } from '../validation/message-validation.js';

export function validationFilter(validation: Pick<MessageValidation, 'guardFor'>): CallFilter {
  return {
    name: 'validation',
    apply(call: Call): FilterResult {
      const rules = call.decision?.rules;
      const validate = rules?.validate;
      if (rules === undefined || validate === undefined || call.method === undefined) return undefined;
      // The guard holds messages up to the same maxMessageBytes the size guard checks.
      const made = validation.guardFor(rules, call.method.fullName, call.headers.get('grpc-encoding'), call.snapshot.limits.forRule(rules), (wouldRefuse) => {
        call.auditedMessage ??= wouldRefuse;
      });
      if ('guard' in made) {
        call.messageGuard = made.guard;
        return undefined;
      }
      if (validate.mode === 'enforce') return made.refusal;
      call.auditedMessage ??= made.refusal;
      return undefined;
    },
  };
}
