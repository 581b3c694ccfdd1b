// Policy test files (`kind: PolicyTest`, run by `meshward policy test`): calls and the
// decision each must get, against policies named relative to the test file.
// CONTROL path (CLI); validated by zod like every other file format.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import * as z from 'zod';
import { spiffeId } from '../config/fields.js';
import { expecting, expected } from '../config/issue-message.js';
import { parseGrpcPath } from '../grpc/path.js';
import { compilePolicies } from './compile.js';
import { loadPolicySources, parseYamlDocuments, type ParsedDocument } from './load.js';
import type { CallFacts, Decision } from './model.js';
import { POLICY_API_VERSION } from './schema.js';

const nonEmpty = z.string().min(1);

/** A method name as a caller sends it: `pkg.Service/Method`, a leading "/" accepted → canonical. */
const methodName = z
  .string({ error: expecting('a method name "package.Service/Method"') })
  .transform((s, ctx) => {
    const parsed = parseGrpcPath(s.startsWith('/') ? s : `/${s}`);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: expected('a method name "package.Service/Method"', s), input: s });
      return z.NEVER;
    }
    return parsed.fullName;
  });

const testCase = z.strictObject({
  name: nonEmpty,
  call: z.strictObject({
    method: methodName,
    principal: spiffeId.optional().meta({ description: 'The caller SPIFFE ID; omitted = plaintext caller.' }),
    jwt: z
      .strictObject({
        provider: nonEmpty,
        claims: z.record(z.string(), z.unknown()).default({}).meta({ description: 'The token payload.' }),
      })
      .optional()
      .meta({ description: 'A JWT as the authenticator would have verified it.' }),
  }),
  expect: z.enum(['allow', 'deny', 'audit_deny']),
  code: z.enum(['UNAUTHENTICATED', 'PERMISSION_DENIED']).optional(),
  reason: z.enum(['allowed', 'default_deny', 'denied_by_rule', 'no_allow_match', 'jwt_required']).optional(),
  rule: nonEmpty.optional().meta({ description: 'The rule id that must decide, e.g. "orders:grpc[0]".' }),
});

export const policyTestSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('PolicyTest'),
  policies: z.array(nonEmpty).min(1).meta({ description: 'Policy files and folders, relative to this file.' }),
  providers: z
    .array(nonEmpty)
    .optional()
    .meta({ description: 'JWT provider names the policies may use (as in the sidecar config); omitted = not checked.' }),
  cases: z.array(testCase).min(1),
});

export type PolicyTestDocument = z.output<typeof policyTestSchema>;
export type PolicyTestCase = PolicyTestDocument['cases'][number];

export interface CaseResult {
  readonly file: string;
  /** `file:line:col` of the case in its test file. */
  readonly where: string;
  readonly name: string;
  readonly pass: boolean;
  readonly decision: Decision;
  /** A failed case: what it expected and got (`describeDecision`), and explain's one-line summary. */
  readonly failure: { readonly expected: string; readonly got: string; readonly why: string } | undefined;
}

/** The outcome of one test file: problems (invalid file or policies) or case results. */
export interface TestFileResult {
  readonly file: string;
  readonly problems: readonly string[];
  readonly cases: readonly CaseResult[];
}

/** Reads one test file, loads the policies each document names, runs every case. */
export function runPolicyTestFile(file: string): TestFileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { file, problems: [`${file}: cannot read: ${(err as Error).message}`], cases: [] };
  }
  const parsed = parseYamlDocuments({ file, text }, policyTestSchema, 'a PolicyTest document');
  const problems = parsed.problems.map((p) => p.text);
  const cases: CaseResult[] = [];
  for (const doc of parsed.documents) {
    const result = runPolicyTestDocument(doc);
    problems.push(...result.problems);
    cases.push(...result.cases);
  }
  if (parsed.documents.length === 0 && problems.length === 0) problems.push(`${file}: no PolicyTest document`);
  return { file, problems, cases };
}

function runPolicyTestDocument(doc: ParsedDocument<PolicyTestDocument>): { problems: string[]; cases: CaseResult[] } {
  const base = dirname(doc.file);
  const paths = doc.value.policies.map((p) => (isAbsolute(p) ? p : displayPath(join(base, p))));
  const loaded = loadPolicySources(paths, doc.value.providers === undefined ? {} : { providers: doc.value.providers });
  if (!loaded.ok) return { problems: [`${doc.locate(['policies'])}: the policies do not load:`, ...loaded.problems.map((p) => `  ${p}`)], cases: [] };
  const snapshot = compilePolicies(loaded);
  const cases = doc.value.cases.map((c, i): CaseResult => {
    const facts: CallFacts = {
      method: c.call.method,
      principal: c.call.principal,
      jwt:
        c.call.jwt === undefined
          ? undefined
          : {
              provider: c.call.jwt.provider,
              payload: c.call.jwt.claims,
              subject: typeof c.call.jwt.claims['sub'] === 'string' ? c.call.jwt.claims['sub'] : undefined,
              expiresAt: Number.MAX_SAFE_INTEGER,
            },
    };
    const decision = snapshot.decide(facts);
    const expected = mismatchOf(c, decision);
    return {
      file: doc.file,
      where: doc.locate(['cases', i]),
      name: c.name,
      pass: expected === undefined,
      decision,
      failure: expected === undefined ? undefined : { expected, got: describeDecision(decision), why: snapshot.explain(facts).summary },
    };
  });
  return { problems: [], cases };
}

/** What a case expected, written as `describeDecision` writes a decision; undefined when the decision matches. */
function mismatchOf(c: PolicyTestCase, d: Decision): string | undefined {
  const matches =
    c.expect === d.decision &&
    (c.code === undefined || c.code === d.code) &&
    (c.reason === undefined || c.reason === d.reason) &&
    (c.rule === undefined || c.rule === d.rule);
  if (matches) return undefined;
  const parts: string[] = [c.expect];
  if (c.code !== undefined) parts.push(c.code);
  if (c.reason !== undefined) parts.push(c.reason);
  if (c.rule !== undefined) parts.push(`(rule ${c.rule})`);
  return parts.join(' ');
}

/** `deny PERMISSION_DENIED no_allow_match (rule orders:grpc[0])` */
export function describeDecision(d: Decision): string {
  const parts: string[] = [d.decision];
  if (d.code !== undefined) parts.push(d.code);
  parts.push(d.reason);
  if (d.rule !== undefined) parts.push(`(rule ${d.rule})`);
  return parts.join(' ');
}

/** A path relative to the working directory when it is inside it (shorter messages). */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
