// What makes a `validate` rule unusable (DESIGN §9), as policy problems `FILE:LINE:COL: /path:
// message`: no descriptors configured, a method or pattern the descriptors do not declare, a
// request type whose constraints do not compile. `policy lint --config` and a policy reload
// refuse such a policy. CONTROL path.

import { didYouMean } from '../config/issue-message.js';
import type { LoadedPolicy } from '../policy/load.js';
import { parseMethodPattern } from '../policy/patterns.js';
import type { CompiledDescriptors } from './compiled-descriptors.js';

/** `descriptors` undefined: the sidecar config sets no `catalog.protos` (declarations.grpcDeclared is false). */
export function validationProblems(policies: readonly LoadedPolicy[], descriptors: CompiledDescriptors | undefined): string[] {
  const problems: string[] = [];
  for (const policy of policies) {
    policy.value.spec.grpc.forEach((rule, i) => {
      if (rule.validate === undefined) return;
      const at = ['spec', 'grpc', i] as const;
      if (descriptors === undefined) {
        problems.push(policy.problem([...at, 'validate'], 'validate needs the request messages\' descriptors: set catalog.protos in the sidecar config'));
        return;
      }
      const reported = new Set<string>();
      rule.methods.forEach((text, j) => {
        const pattern = parseMethodPattern(text);
        if (!pattern.ok) return; // the schema reported it
        const matched = descriptors.matching(pattern.value);
        if (matched.length === 0) {
          problems.push(policy.problem([...at, 'methods', j], notDeclared(text, pattern.value.kind === 'exact', descriptors)));
          return;
        }
        for (const m of matched) {
          const problem = descriptors.compileProblem(m);
          if (problem === undefined || reported.has(m.input.typeName)) continue;
          reported.add(m.input.typeName);
          problems.push(policy.problem([...at, 'methods', j], `validate: the constraints of ${m.input.typeName} (the request of ${m.name}) do not compile: ${problem}`));
        }
      });
    });
  }
  return problems;
}

function notDeclared(text: string, exact: boolean, descriptors: CompiledDescriptors): string {
  if (!exact) return `validate: pattern ${JSON.stringify(text)} matches no method in the descriptors of catalog.protos`;
  const hint = didYouMean(text, [...descriptors.methods.keys()]);
  return `validate: method ${JSON.stringify(text)} is not in the descriptors of catalog.protos${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}`;
}
