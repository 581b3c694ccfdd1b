// `validate` rules against descriptors: what lint and reload refuse, and how the compiled rule
// combines `validate` from several rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicies } from '../policy/compile.js';
import { parsePolicySources, type LoadResult } from '../policy/load.js';
import { CompiledDescriptors } from './compiled-descriptors.js';
import { testDescriptors } from '../../integration/support/demo-declarations.js';
import { validationProblems } from './validation-problems.js';

const compiled = new CompiledDescriptors(testDescriptors());

function policy(name: string, mode: string, rules: string): string {
  return `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: ${name} }
spec:
  mode: ${mode}
  grpc:
${rules}`;
}

function load(text: string, descriptors: CompiledDescriptors | null = compiled): LoadResult {
  return parsePolicySources([{ file: 'p.yaml', text }], { moreProblems: (policies) => validationProblems(policies, descriptors ?? undefined) });
}

describe('validation problems', () => {
  it('accepts declared methods and patterns that match some', () => {
    const r = load(policy('a', 'enforce', `    - methods: ["meshward.demo.v1.Orders/PlaceOrder", "meshward.demo.v1.Orders/Import*"]
      allow: [{ principals: ["*"] }]
      validate: enforce
`));
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
  });

  it('refuses methods and patterns the descriptors do not declare, with positions and a hint', () => {
    const r = load(policy('a', 'enforce', `    - methods: ["meshward.demo.v1.Orders/PlaceOrdr", "nope.v1.S/*"]
      validate: audit
`));
    assert.ok(!r.ok);
    assert.deepEqual(r.problems, [
      'p.yaml:7:17: /spec/grpc/0/methods/0: validate: method "meshward.demo.v1.Orders/PlaceOrdr" is not in the descriptors of catalog.protos (did you mean "meshward.demo.v1.Orders/PlaceOrder"?)',
      'p.yaml:7:54: /spec/grpc/0/methods/1: validate: pattern "nope.v1.S/*" matches no method in the descriptors of catalog.protos',
    ]);
  });

  it('refuses validate without descriptors, and constraints that do not compile', () => {
    const rules = `    - methods: ["meshward.test.v1.Fixtures/Broken"]
      validate: enforce
`;
    const none = load(policy('a', 'enforce', rules), null);
    assert.ok(!none.ok);
    assert.match(none.problems[0]!, /^p\.yaml:8:\d+: \/spec\/grpc\/0\/validate: validate needs .*catalog\.protos/);
    const broken = load(policy('a', 'enforce', rules));
    assert.ok(!broken.ok);
    assert.match(broken.problems[0]!, /^p\.yaml:7:\d+: \/spec\/grpc\/0\/methods\/0: validate: the constraints of meshward\.test\.v1\.BrokenRequest .* do not compile/);
  });

  it('ignores rules without validate', () => {
    assert.ok(load(policy('a', 'enforce', '    - methods: ["x.y.Z/*"]\n      allow: [{ principals: ["*"] }]\n'), null).ok);
  });
});

describe('compiled validate', () => {
  function validateOf(...docs: string[]) {
    const r = parsePolicySources(docs.map((text, i) => ({ file: `p${i}.yaml`, text })));
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    return compilePolicies(r).lookup('meshward.demo.v1.Orders/PlaceOrder')?.validate;
  }
  const rule = (v: string) => `    - methods: ["meshward.demo.v1.Orders/*"]\n      allow: [{ principals: ["*"] }]\n${v}`;

  it('is off unless a rule asks, enforced if any enforcing rule does', () => {
    assert.equal(validateOf(policy('a', 'enforce', rule(''))), undefined);
    assert.deepEqual(validateOf(policy('a', 'enforce', rule('      validate: audit\n')), policy('b', 'enforce', rule('      validate: enforce\n'))), { rule: 'b:grpc[0]', mode: 'enforce' });
    assert.deepEqual(validateOf(policy('a', 'enforce', rule('      validate: audit\n'))), { rule: 'a:grpc[0]', mode: 'audit' });
  });

  it('is audited when the policy is in audit mode', () => {
    assert.deepEqual(validateOf(policy('a', 'audit', rule('      validate: enforce\n'))), { rule: 'a:grpc[0]', mode: 'audit' });
  });
});
