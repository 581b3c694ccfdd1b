// The policy loader against real files: folders, multi-document YAML, and every problem
// as `FILE:LINE:COL: /path: message`.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listPolicyFiles, loadPolicySnapshot, loadPolicySources, parsePolicySources, type LoadResult } from './load.js';

let root: string;
let n = 0;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'meshward-policy-load-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh folder with the given files. */
function folder(files: Record<string, string>): string {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

// Lines 1-5; a test appends rules (4 spaces of indent) from line 6 on.
const HEAD = (name: string) => `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: ${name} }
spec:
  grpc:
`;

const RULE = '    - methods: ["a.S/*"]\n      allow: [{ principals: ["*"] }]\n';

function problemsOf(result: LoadResult): readonly string[] {
  if (result.ok) assert.fail('expected the policies to be rejected');
  return result.problems;
}

/** Asserts that exactly `expected` problems were reported (whole lines, in order). */
function expectProblems(result: LoadResult, expected: readonly string[]): void {
  assert.deepEqual(problemsOf(result), expected);
}

test('a folder: *.yaml and *.yml sorted by name, not recursive, dotfiles and other files skipped', () => {
  const dir = folder({
    'b.yml': HEAD('b') + RULE,
    'a.yaml': HEAD('a') + RULE,
    'notes.txt': 'not yaml',
    '.hidden.yaml': 'garbage: [',
    'tests/t.yaml': 'kind: PolicyTest',
  });
  const { files, problems } = listPolicyFiles([dir]);
  assert.deepEqual(problems, []);
  assert.deepEqual(files, [join(dir, 'a.yaml'), join(dir, 'b.yml')]);
  const result = loadPolicySources([dir, join(dir, 'a.yaml')]); // a.yaml named twice: read once
  assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
  assert.deepEqual(result.policies.map((p) => p.value.metadata.name), ['a', 'b']);
});

test('a missing path is a problem; an empty folder is a valid, empty set', () => {
  const missing = join(root, 'nope.yaml');
  const problems = problemsOf(loadPolicySources([missing]));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read: ENOENT`));
  const empty = loadPolicySnapshot([folder({})]);
  assert.ok(empty.ok);
  assert.equal(empty.snapshot.decide({ method: 'a.S/M', principal: 'spiffe://td/x', jwt: undefined }).reason, 'default_deny');
});

test('unknown key, bad method pattern and bad principal: file:line:col: /path: message', () => {
  const dir = folder({
    'p.yaml':
      HEAD('p') +
      '    - methods: ["a.S/Get", "a.S/*Get"]\n' + // line 6
      '      allow:\n' +
      '        - principals: ["spiffe://cluster.local/ns/*/sa/x"]\n' + // line 8
      '          principles: ["*"]\n', // line 9
  });
  const file = join(dir, 'p.yaml');
  expectProblems(loadPolicySources([dir]), [
    `${file}:6:28: /spec/grpc/0/methods/1: "*" is allowed only at the end of the method name; expected "package.Service/Method", "package.Service/*", "package.Service/Prefix*" or "*", got "a.S/*Get"`,
    `${file}:8:24: /spec/grpc/0/allow/0/principals/0: "*" is allowed only as the last path segment, as "/*"; expected a SPIFFE ID such as "spiffe://cluster.local/ns/NS/sa/SA", a prefix ending in "/*" such as "spiffe://cluster.local/ns/NS/*", or "*", got "spiffe://cluster.local/ns/*/sa/x"`,
    `${file}:9:11: /spec/grpc/0/allow/0/principles: unknown key "principles" (did you mean "principals"?)`,
  ]);
});

test('a tab-indented line: every problem names a real path, never "[object Object]"', () => {
  const dir = folder({ 'p.yaml': HEAD('p') + '\t- methods: ["a.S/*"]\n' });
  const problems = problemsOf(loadPolicySources([dir]));
  assert.ok(problems.some((p) => p.includes(':6:1: /: invalid YAML: Tabs are not allowed as indentation')), problems.join('\n'));
  for (const p of problems) assert.doesNotMatch(p, /object Object/, p);
});

test('more pattern and value problems each name their path', () => {
  const text =
    HEAD('p') +
    '    - methods: ["/a.S/M", "a.S", "*.S/M", "a.S/M/N", "a S/M"]\n' + // line 6
    '      allow: [{}, { principals: ["spiffe://cluster.local"] }, { unauthenticated: true, principals: ["*"] }]\n' + // line 7
    '      rateLimit: { requests: 10, per: 10, by: "jwt:" }\n' + // line 8
    '      maxMessageBytes: 1MB\n'; // line 9
  const problems = problemsOf(parsePolicySources([{ file: 'p.yaml', text }]));
  const paths = problems.map((p) => p.replace(/^p\.yaml:(\d+):\d+: (\S+): .*$/, '$1 $2'));
  assert.deepEqual(paths, [
    '6 /spec/grpc/0/methods/0',
    '6 /spec/grpc/0/methods/1',
    '6 /spec/grpc/0/methods/2',
    '6 /spec/grpc/0/methods/3',
    '6 /spec/grpc/0/methods/4',
    '7 /spec/grpc/0/allow/0',
    '7 /spec/grpc/0/allow/1/principals/0',
    '7 /spec/grpc/0/allow/2',
    '8 /spec/grpc/0/rateLimit/per',
    '8 /spec/grpc/0/rateLimit/by',
    '9 /spec/grpc/0/maxMessageBytes',
  ]);
  assert.match(problems[0]!, /no leading "\/"/);
  assert.match(problems[5]!, /at least one of principals, unauthenticated or jwt/);
  assert.match(problems[6]!, /a trust domain alone names no workload/);
});

test('apiVersion, kind, metadata.name and spec are required; mode is enforce or audit', () => {
  const text = 'apiVersion: v1\nkind: Policy\nmetadata: { name: Bad_Name }\nspec: { mode: shadow }\n';
  expectProblems(parsePolicySources([{ file: 'p.yaml', text }]), [
    'p.yaml:1:13: /apiVersion: expected "meshward.dev/v1alpha1", got "v1"',
    'p.yaml:3:19: /metadata/name: expected a policy name of lowercase letters, digits, "-" and "." (at most 63, starting and ending alphanumeric), got "Bad_Name"',
    'p.yaml:4:15: /spec/mode: expected one of enforce, audit, got "shadow"',
  ]);
  expectProblems(parsePolicySources([{ file: 'p.yaml', text: 'apiVersion: meshward.dev/v1alpha1\nkind: Policy\n' }]), [
    'p.yaml:1:1: /metadata: missing required key "metadata"',
    'p.yaml:1:1: /spec: missing required key "spec"',
  ]);
});

test('YAML syntax errors are reported with their position', () => {
  const text = HEAD('p') + '    - methods: ["a.S/*"\n      allow: [\n';
  const problems = problemsOf(parsePolicySources([{ file: 'p.yaml', text }]));
  assert.ok(problems.length >= 1);
  for (const p of problems) assert.match(p, /^p\.yaml:\d+:\d+: \S+: invalid YAML: /);
});

test('multi-document files: each document validated; a problem in the second points at its own line', () => {
  const text =
    '---\n' + // 1
    HEAD('first') + // 2-6
    RULE + // 7-8
    '---\n' + // 9
    '# only a comment\n' + // 10 (an empty document: skipped)
    '---\n' + // 11
    HEAD('second') + // 12-16
    '    - methods: ["a.S/M"]\n' + // 17
    '      deny: [{ jwt: { provider: corp, claim: {} } }]\n'; // 18
  expectProblems(parsePolicySources([{ file: 'multi.yaml', text }]), [
    'multi.yaml:18:39: /spec/grpc/0/deny/0/jwt/claim: unknown key "claim" (did you mean "claims"?)',
  ]);
  const ok = parsePolicySources([{ file: 'multi.yaml', text: text.replace('claim: {}', 'claims: { sub: x }') }]);
  assert.ok(ok.ok);
  assert.deepEqual(ok.policies.map((p) => [p.value.metadata.name, p.index, p.locate(['spec', 'grpc', 0])]), [
    ['first', 0, 'multi.yaml:7:7'],
    ['second', 2, 'multi.yaml:17:7'],
  ]);
});

test('a duplicate metadata.name across documents or files is an error at the second one', () => {
  const dir = folder({ 'a.yaml': HEAD('orders') + RULE, 'b.yaml': `${HEAD('other')}${RULE}---\n${HEAD('orders')}${RULE}` });
  expectProblems(loadPolicySources([dir]), [
    `${join(dir, 'b.yaml')}:11:19: /metadata/name: duplicate policy name "orders" (first defined at ${join(dir, 'a.yaml')}:3:19)`,
  ]);
});

test('JWT providers are checked when the caller passes the configured names', () => {
  const text = HEAD('p') + '    - methods: ["a.S/M"]\n      allow: [{ jwt: { provider: crop } }]\n';
  assert.ok(parsePolicySources([{ file: 'p.yaml', text }]).ok, 'not checked without a list');
  expectProblems(parsePolicySources([{ file: 'p.yaml', text }], { providers: ['corp', 'partner'] }), [
    'p.yaml:7:34: /spec/grpc/0/allow/0/jwt/provider: unknown JWT provider "crop" (did you mean "corp"?); known: corp, partner',
  ]);
  expectProblems(parsePolicySources([{ file: 'p.yaml', text }], { providers: [] }), [
    'p.yaml:7:34: /spec/grpc/0/allow/0/jwt/provider: unknown JWT provider "crop"; the sidecar config defines no JWT providers',
  ]);
});

test('problems from several files are all collected; one bad file invalidates the set', () => {
  const dir = folder({ 'a.yaml': HEAD('a') + '    - methods: []\n', 'b.yaml': HEAD('b') + RULE, 'c.yaml': 'kind: Policy\n' });
  const problems = problemsOf(loadPolicySources([dir]));
  assert.deepEqual(
    problems.map((p) => p.slice(dir.length + 1)),
    [
      'a.yaml:6:16: /spec/grpc/0/methods: expected at least 1 item, got an empty list',
      'c.yaml:1:1: /apiVersion: missing required key "apiVersion"',
      'c.yaml:1:1: /metadata: missing required key "metadata"',
      'c.yaml:1:1: /spec: missing required key "spec"',
    ],
  );
});

test('the DESIGN §4 example loads, with conversions and defaults', () => {
  const result = loadPolicySources([join(import.meta.dirname, '../../policies/orders.yaml')]);
  assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
  const [orders] = result.policies;
  const rule = orders!.value.spec.grpc[0]!;
  assert.equal(rule.timeout, 5000);
  assert.equal(rule.maxMessageBytes, 65536);
  assert.deepEqual(rule.concurrency, { max: 16, queue: 64, queueTimeout: 250, mode: 'enforce' });
  assert.equal(orders!.value.spec.graphql[0]!.costBudget?.per, 60_000);
  assert.ok(Object.isFrozen(orders!.value.spec.grpc[0]!.allow));
});
