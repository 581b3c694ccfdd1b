// `meshward policy lint|test|explain` (DESIGN §2): validate policy files, run policy test
// files, and show why a call would be allowed or denied. CONTROL path (CLI).
// Exit codes: lint 0 valid / 1 invalid; test 0 all pass / 1 a failure or invalid file;
// explain 0 allow (or audit_deny) / 1 deny; 2 usage, or (explain) config/policies unusable.
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ProviderConfig } from '../authn/jwt-authenticator.js';
import type { VerifiedJwt } from '../authn/verified-jwt.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { explainGraphql } from '../graphql/explain-graphql.js';
import { loadSchemaAnalyzer } from '../graphql/schema-file.js';
import type { GraphqlAnalyzer } from '../graphql/analysis/analyze.js';
import { parseGrpcPath } from '../grpc/path.js';
import { parseSpiffeId } from '../identity/spiffe.js';
import { compilePolicies } from '../policy/compile.js';
import { listPolicyFiles, loadPolicySources, type LoadOptions } from '../policy/load.js';
import type { CallFacts, CompiledMethodRule, Explanation, PolicySnapshot } from '../policy/model.js';
import { describeDecision, displayPath, runPolicyTestFile } from '../policy/policy-test.js';
import { principalsOutsideTrustDomain } from '../policy/trust-domain-check.js';
import { describeLimits } from '../policy/describe-rule.js';
import type { CompiledDescriptors } from '../validation/compiled-descriptors.js';
import { validationProblems } from '../validation/validation-problems.js';
import type { PolicyIo } from './policy-io.js';

export type { PolicyIo } from './policy-io.js';

const processIo: PolicyIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

const USAGE = `Usage:
  meshward policy lint [--config FILE] PATH...
  meshward policy test PATH...
  meshward policy explain --config FILE --method M [--principal ID] [--jwt TOKEN | --claims JSON] [--message JSON]
  meshward policy explain --config FILE --graphql QUERY [--method /path] [--principal ID] [--jwt TOKEN | --claims JSON]
  meshward policy suggest (--admin URL... | --catalog FILE...) [--name NAME] [--out FILE]

lint     validates policy files and folders (*.yaml, *.yml; folders are not recursive).
         Problems go to stderr as FILE:LINE:COL: /path: message. With --config, JWT
         provider names are checked against the config, \`validate\` rules against the
         descriptors of its catalog.protos, and PATH defaults to its policies.
test     runs PolicyTest files (or the *.yaml files of a folder): each case is a call
         and the decision it must get.
explain  loads the sidecar config and its policies and prints the decision for a call:
         the pattern and rule that matched, every entry and the condition that failed.
         M is package.Service/Method (a leading "/" is accepted); no --principal means a
         plaintext caller. --jwt is decoded WITHOUT verification; --claims is a JSON payload.
         --message is the request message as protobuf JSON: its protovalidate violations
         are shown (the method's descriptors come from catalog.protos).
suggest  writes a least-privilege policy (mode: audit) from the traffic sidecars observed
         (their GET /catalog): see docs/catalog.md.`;

class UsageError extends Error {}

/** `argv` is everything after `policy`. Never calls process.exit. */
export async function runPolicyCommand(argv: string[], io: PolicyIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    // `policy --help` and `policy <sub> ... --help` both print the usage.
    if (sub === '--help' || sub === '-h' || sub === 'help' || rest.includes('--help') || rest.includes('-h')) {
      io.out(USAGE);
      return 0;
    }
    if (sub === 'lint') return await lint(rest, io);
    if (sub === 'test') return test(rest, io);
    if (sub === 'explain') return await explain(rest, io);
    if (sub === 'suggest') return await (await import('./policy-suggest.js')).runPolicySuggest(rest, io);
    throw new UsageError(sub === undefined ? 'missing subcommand (lint, test, explain or suggest)' : `unknown subcommand "${sub}"`);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`meshward policy: ${(error as Error).message}`);
      io.err(USAGE);
      return 2;
    }
    throw error;
  }
}

async function lint(args: string[], io: PolicyIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { config: { type: 'string' } } });
  let paths: readonly string[] = positionals;
  let options: LoadOptions = {};
  let trustDomain: string | undefined;
  if (values.config !== undefined) {
    const config = loadConfigOrReport(values.config, io);
    if (config === undefined) return 1;
    const descriptors = await descriptorsOf(config, values.config, io);
    if (descriptors === false) return 1;
    options = { providers: config.jwt.providers.map((p) => p.name), moreProblems: (docs) => validationProblems(docs, descriptors) };
    trustDomain = config.identity.trustDomain;
    if (paths.length === 0) paths = config.policies.map(displayPath);
  }
  if (paths.length === 0) throw new UsageError('lint needs at least one PATH (or --config)');
  const loaded = loadPolicySources(paths, options);
  if (loaded.ok && options.moreProblems === undefined && loaded.policies.some((p) => p.value.spec.grpc.some((r) => r.validate !== undefined))) {
    io.err('note: validate rules were not checked against descriptors (give --config to read its catalog.protos)');
  }
  if (!loaded.ok) {
    for (const p of loaded.problems) io.err(p);
    io.err(`${count(loaded.problems.length, 'problem')} in ${paths.join(' ')}`);
    return 1;
  }
  const snapshot = compilePolicies(loaded);
  if (snapshot.sources.length === 0) io.err(`warning: no policy files in ${paths.join(' ')} (every call would be denied)`);
  if (trustDomain !== undefined) for (const w of principalsOutsideTrustDomain(snapshot, trustDomain)) io.err(`warning: ${w}`);
  io.out(
    `ok: ${count(snapshot.policies.length, 'policy', 'policies')}, ${count(snapshot.grpc.length, 'gRPC pattern')}, ` +
      `${count(snapshot.graphql.length, 'GraphQL rule')} in ${count(snapshot.sources.length, 'file')} (version ${snapshot.version})`,
  );
  return 0;
}

function test(args: string[], io: PolicyIo): number {
  const { positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new UsageError('test needs at least one PATH');
  // A folder holds test files, like a policy folder holds policies (not recursive).
  const files: string[] = [];
  let invalid = 0;
  for (const path of positionals) {
    if (isDirectory(path)) files.push(...listPolicyFiles([path]).files);
    else files.push(path);
  }
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const result = runPolicyTestFile(file);
    if (result.problems.length > 0) {
      invalid++;
      for (const p of result.problems) io.err(p);
    }
    for (const c of result.cases) {
      if (c.pass) {
        passed++;
        io.out(`PASS ${c.file}: ${c.name}`);
      } else {
        failed++;
        io.out(`FAIL ${c.where}: ${c.name}`);
        io.out(`     expected  ${c.failure?.expected ?? '?'}`);
        io.out(`     got       ${c.failure?.got ?? describeDecision(c.decision)}`);
        if (c.failure !== undefined) io.out(`     why       ${c.failure.why}`);
      }
    }
  }
  if (files.length === 0) {
    io.err(`no test files in ${positionals.join(' ')}`);
    invalid++;
  }
  const invalidText = invalid === 0 ? '' : `, ${count(invalid, 'invalid file')}`;
  io.out(`${passed} passed, ${failed} failed${invalidText}`);
  return failed === 0 && invalid === 0 ? 0 : 1;
}

async function explain(args: string[], io: PolicyIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      method: { type: 'string' },
      principal: { type: 'string' },
      jwt: { type: 'string' },
      claims: { type: 'string' },
      graphql: { type: 'string' },
      message: { type: 'string' },
    },
  });
  if (values.config === undefined) throw new UsageError('explain needs --config FILE');
  if (values.graphql !== undefined) {
    if (values.message !== undefined) throw new UsageError('--message is for gRPC calls, not with --graphql');
    return explainGraphqlCommand(values.config, values.graphql, values, io);
  }
  if (values.method === undefined) throw new UsageError('explain needs --method package.Service/Method');
  if (values.jwt !== undefined && values.claims !== undefined) throw new UsageError('give --jwt or --claims, not both');
  const method = parseGrpcPath(values.method.startsWith('/') ? values.method : `/${values.method}`);
  if (method === undefined) throw new UsageError(`--method "${values.method}" is not a method name package.Service/Method`);
  if (values.principal !== undefined) {
    const parsed = parseSpiffeId(values.principal);
    if (!parsed.ok || parsed.id.path === '') {
      throw new UsageError(`--principal "${values.principal}" is not a workload SPIFFE ID (${parsed.ok ? 'no path' : parsed.error})`);
    }
  }
  const payload = values.jwt !== undefined ? decodeJwtPayload(values.jwt) : values.claims !== undefined ? parseClaims(values.claims) : undefined;

  const config = loadConfigOrReport(values.config, io);
  if (config === undefined) return 2;
  const descriptors = await descriptorsOf(config, values.config, io);
  if (descriptors === false) return 2;
  const loaded = loadPolicySources(config.policies.map(displayPath), {
    providers: config.jwt.providers.map((p) => p.name),
    moreProblems: (docs) => validationProblems(docs, descriptors),
  });
  if (!loaded.ok) {
    io.err(`the policies of ${values.config} are invalid:`);
    for (const p of loaded.problems) io.err(p);
    return 2;
  }
  const snapshot = compilePolicies(loaded);
  const notes: string[] = [];
  const jwt = payload === undefined ? undefined : toVerifiedJwt(payload, values.jwt !== undefined, config, snapshot.lookup(method.fullName), notes);
  const facts: CallFacts = { method: method.fullName, principal: values.principal, jwt };
  const explanation = snapshot.explain(facts);
  for (const line of formatExplanation(explanation, snapshot, notes)) io.out(line);
  let refused = false;
  if (values.message !== undefined) {
    const { explainMessage } = await import('../validation/explain-message.js');
    const checked = explainMessage(descriptors, method.fullName, values.message, explanation.rule?.validate);
    for (const line of checked.lines) io.out(line);
    refused = checked.refused && explanation.decision.decision !== 'deny';
    if (refused) io.out('verdict    DENY: the call is allowed, its message is refused (3 INVALID_ARGUMENT)');
  }
  return explanation.decision.decision === 'deny' || refused ? 1 : 0;
}

/**
 * The compiled descriptors of the config's catalog.protos (undefined when it sets none), or
 * false after reporting why they do not load.
 */
async function descriptorsOf(config: { readonly catalog: { readonly protos: readonly string[] } }, file: string, io: PolicyIo): Promise<CompiledDescriptors | undefined | false> {
  if (config.catalog.protos.length === 0) return undefined;
  const { loadDeclarations } = await import('../catalog/declarations.js');
  const loaded = loadDeclarations({ protos: config.catalog.protos });
  if (!loaded.ok) {
    io.err(`the catalog.protos of ${file} are invalid:`);
    for (const p of loaded.problems) io.err(p);
    return false;
  }
  const { CompiledDescriptors } = await import('../validation/compiled-descriptors.js');
  return new CompiledDescriptors(loaded.declarations);
}

/** `explain --graphql QUERY`: the endpoint is inbound.graphql.path, or `--method /path`. */
function explainGraphqlCommand(configPath: string, query: string, values: { method?: string; principal?: string; jwt?: string; claims?: string }, io: PolicyIo): number {
  if (values.jwt !== undefined && values.claims !== undefined) throw new UsageError('give --jwt or --claims, not both');
  const config = loadConfigOrReport(configPath, io);
  if (config === undefined) return 2;
  const path = values.method?.startsWith('/') === true ? values.method : (config.inbound.graphql?.path ?? '/graphql');
  const loaded = loadPolicySources(config.policies.map(displayPath), { providers: config.jwt.providers.map((p) => p.name) });
  if (!loaded.ok) {
    io.err(`the policies of ${configPath} are invalid:`);
    for (const p of loaded.problems) io.err(p);
    return 2;
  }
  let analyzer: GraphqlAnalyzer;
  try {
    analyzer = loadSchemaAnalyzer(config.inbound.graphql?.schemaFile);
  } catch (err) {
    io.err(`the GraphQL schema of ${configPath} is invalid:\n${(err as Error).message}`);
    return 2;
  }
  const snapshot = compilePolicies(loaded);
  const notes: string[] = [];
  const payload = values.jwt !== undefined ? decodeJwtPayload(values.jwt) : values.claims !== undefined ? parseClaims(values.claims) : undefined;
  const jwt = payload === undefined ? undefined : toVerifiedJwt(payload, values.jwt !== undefined, config, snapshot.graphqlRule(path)?.access, notes);
  const facts: CallFacts = { method: `graphql:${path}`, principal: values.principal, jwt };
  const result = explainGraphql({ snapshot, path, analyzer, facts, query });
  io.out(`policies   ${snapshot.sources.length} files, version ${snapshot.version}`);
  io.out(`principal  ${facts.principal ?? '(none: plaintext caller)'}`);
  for (const n of notes) io.out(`note       ${n}`);
  for (const line of result.lines) io.out(line);
  return result.allowed ? 0 : 1;
}

/** The screen `policy explain` prints. */
export function formatExplanation(x: Explanation, snapshot: PolicySnapshot, notes: readonly string[] = []): string[] {
  const d = x.decision;
  const lines = [
    `policies   ${snapshot.sources.length} files, version ${snapshot.version}`,
    `method     ${x.facts.method}`,
    `principal  ${x.facts.principal ?? '(none: plaintext caller)'}`,
    `jwt        ${x.facts.jwt === undefined ? '(none)' : `provider ${x.facts.jwt.provider}, claims ${shorten(JSON.stringify(x.facts.jwt.payload))}`}`,
    ...notes.map((n) => `note       ${n}`),
    `decision   ${d.decision.toUpperCase()}${d.code === undefined ? '' : ` ${d.code}`} (${d.reason})`,
    `why        ${x.summary}`,
  ];
  const rule = x.rule;
  if (rule === undefined) {
    lines.push(`pattern    (none of the ${snapshot.grpc.length} patterns matches)`);
    return lines;
  }
  const others = x.candidates.filter((c) => !c.chosen).map((c) => c.pattern);
  lines.push(`pattern    ${rule.pattern} (${rule.kind})${others.length === 0 ? '' : `; less specific, not used: ${others.join(', ')}`}`);
  lines.push(`rule       ${d.rule ?? '-'}${rule.sources.length > 1 ? ` (combined: ${rule.sources.map((s) => s.id).join(', ')})` : ''}`);
  for (const s of rule.sources) lines.push(`           ${s.id} at ${s.where}, policy mode ${s.mode}`);
  const limits = describeLimits(rule);
  if (limits !== '') lines.push(`limits     ${limits}`);
  if (x.entries.length === 0) lines.push('entries    none: no entry can allow this call');
  else lines.push('entries    (deny first, then allow; keys in an entry AND-ed, entries OR-ed)');
  for (const e of x.entries) {
    lines.push(`  ${e.matched ? 'MATCH   ' : 'no match'} ${e.id} (${e.where})`);
    for (const c of e.conditions) {
      lines.push(`      ${c.ok ? 'ok  ' : 'FAIL'} ${c.key}: expected ${c.expected}; seen ${c.seen}`);
    }
  }
  return lines;
}

/**
 * The JWT as explain assumes it was verified. The provider is the one whose issuer equals
 * `iss`; for --claims without a matching `iss`, the first provider the matched rule names,
 * else the first configured one.
 */
function toVerifiedJwt(
  payload: Record<string, unknown>,
  fromToken: boolean,
  config: { readonly jwt: { readonly providers: readonly ProviderConfig[] } },
  rule: CompiledMethodRule | undefined,
  notes: string[],
): VerifiedJwt | undefined {
  if (fromToken) notes.push('the token was decoded WITHOUT verification: signature, expiry, audience and algorithm were not checked');
  const iss = payload['iss'];
  let provider = config.jwt.providers.find((p) => p.issuer === iss)?.name;
  if (provider === undefined && fromToken) {
    notes.push(`no configured provider has issuer ${JSON.stringify(iss)}: the sidecar would reject this token (UNAUTHENTICATED); evaluated without a JWT`);
    return undefined;
  }
  if (provider === undefined) {
    provider = [...(rule?.allow ?? []), ...(rule?.deny ?? [])].find((e) => e.jwt !== undefined)?.jwt?.provider ?? config.jwt.providers[0]?.name;
    if (provider === undefined) {
      notes.push('no JWT provider is configured or named by the rule: evaluated without a JWT');
      return undefined;
    }
    const why = iss === undefined ? 'the claims have no iss' : `no provider has issuer ${JSON.stringify(iss)}`;
    notes.push(`claims attributed to provider ${provider} (${why})`);
  }
  const sub = payload['sub'];
  const exp = payload['exp'];
  return { provider, payload, subject: typeof sub === 'string' ? sub : undefined, expiresAt: typeof exp === 'number' ? exp * 1000 : 0 };
}

/** The payload of a compact JWS, decoded without verification (explain only). */
function decodeJwtPayload(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) throw new UsageError('--jwt is not a JWT (expected three dot-separated parts)');
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new UsageError('--jwt: the payload is not base64url-encoded JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new UsageError('--jwt: the payload is not a JSON object');
  return payload as Record<string, unknown>;
}

function parseClaims(json: string): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`--claims is not JSON: ${(err as Error).message}`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new UsageError('--claims must be a JSON object');
  return payload as Record<string, unknown>;
}

function loadConfigOrReport(file: string, io: PolicyIo): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) io.err(p);
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function shorten(text: string): string {
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
