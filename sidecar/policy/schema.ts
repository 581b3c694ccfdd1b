// The policy file format (DESIGN §4): the one zod schema that validates a policy document
// and the source of policies/schema/policy.schema.json (scripts/gen-policy-schema.ts).
// CONTROL path. Keys are a user-facing contract: add keys, never rename them.
import * as z from 'zod';
import { byteSize, duration } from '../config/fields.js';
import { describeValue, expected, expecting } from '../config/issue-message.js';
import type { DeepReadonly } from '../config/schema.js';
import {
  CLAIM_PATH_REGEX,
  LIMIT_KEY_REGEX,
  METHOD_PATTERN_REGEX,
  PRINCIPAL_PATTERN_REGEX,
  parseClaimPath,
  parseLimitKey,
  parseMethodPattern,
  parsePrincipalPattern,
  type Parsed,
} from './patterns.js';

export const POLICY_API_VERSION = 'meshward.dev/v1alpha1';

/** A string checked by one of the pattern parsers; kept as written (compile.ts parses it again). */
function parsedString(parse: (s: string) => Parsed<unknown>, what: string, regex: string, description: string) {
  return z
    .string({ error: expecting(what) })
    .check((ctx) => {
      const parsed = parse(ctx.value);
      if (!parsed.ok) {
        ctx.issues.push({ code: 'custom', message: `${parsed.error}, got ${describeValue(ctx.value)}`, input: ctx.value });
      }
    })
    .meta({ pattern: regex, description });
}

const methodPattern = parsedString(
  parseMethodPattern,
  'a method pattern',
  METHOD_PATTERN_REGEX,
  'A gRPC method pattern: "package.Service/Method", "package.Service/*", "package.Service/Prefix*" or "*". The most specific matching pattern decides.',
);

const principalPattern = parsedString(
  parsePrincipalPattern,
  'a principal',
  PRINCIPAL_PATTERN_REGEX,
  'An exact SPIFFE ID, a prefix ending in "/*", or "*" (any authenticated peer).',
);

const limitKey = parsedString(
  parseLimitKey,
  'a limit key',
  LIMIT_KEY_REGEX,
  'What a limit counts per: "principal", "global" (one bucket per rule) or "jwt:<claim>".',
).default('principal');

const mode = z
  .enum(['enforce', 'audit'])
  .default('enforce')
  .meta({ description: 'audit: evaluate and record what would happen, never block.' });

const nonEmpty = z.string().min(1);

const claimValue = z.union([nonEmpty, z.array(nonEmpty).min(1)], {
  error: expecting('a string or a list of strings'),
});

const claims = z
  .record(z.string(), claimValue)
  .superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      const parsed = parseClaimPath(key);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', path: [key], message: `${parsed.error}, got ${describeValue(key)}` });
      // A scope condition matches ONE space-separated item, so "a b" could never match.
      const value = record[key];
      if ((key === 'scope' || key === 'scp') && value !== undefined) {
        const values = typeof value === 'string' ? [value] : value;
        values.forEach((v, i) => {
          if (!/\s/.test(v)) return;
          ctx.addIssue({
            code: 'custom',
            path: typeof value === 'string' ? [key] : [key, i],
            message: `a ${key} condition matches one item of the space-separated list; write a list of items to accept any of them, got ${describeValue(v)}`,
          });
        });
      }
    }
  })
  .meta({
    propertyNames: { pattern: CLAIM_PATH_REGEX },
    description:
      'Claim path (dotted, into the token payload) → expected value, or a list of values (any matches). ' +
      'An array claim matches by membership; the scope / scp claim matches one space-separated item.',
  });

const jwtCondition = z.strictObject({
  provider: nonEmpty.meta({ description: 'A provider name from the sidecar config (jwt.providers[].name).' }),
  claims: claims.optional(),
});

/**
 * One allow/deny entry: its keys are AND-ed, entries are OR-ed. Without `principals` and
 * `unauthenticated` the peer must be authenticated (mTLS); `unauthenticated: true` lifts that
 * requirement (plaintext callers in permissive mode match it, and so does everyone else).
 */
const entry = z
  .strictObject({
    principals: z.array(principalPattern).min(1).optional(),
    unauthenticated: z
      .literal(true)
      .optional()
      .meta({ description: 'The peer need not be authenticated: matches plaintext callers too.' }),
    jwt: jwtCondition.optional(),
  })
  .check((ctx) => {
    const v = ctx.value;
    if (v.principals === undefined && v.unauthenticated === undefined && v.jwt === undefined) {
      ctx.issues.push({
        code: 'custom',
        message: 'an entry needs at least one of principals, unauthenticated or jwt',
        input: v,
      });
    } else if (v.principals !== undefined && v.unauthenticated !== undefined) {
      ctx.issues.push({
        code: 'custom',
        message: 'principals and unauthenticated: true cannot be combined in one entry (a plaintext caller has no principal); write two entries',
        input: v,
      });
    }
  })
  .meta({ id: 'PolicyEntry', minProperties: 1, description: 'Keys are AND-ed; entries of a list are OR-ed.' });

const entries = z.array(entry);

const rateLimit = z
  .strictObject({
    requests: z.int().min(1).max(1_000_000_000),
    per: duration({ positive: true }),
    burst: z.int().min(0).max(1_000_000_000).optional(),
    by: limitKey,
    mode,
  })
  .meta({ id: 'RateLimit', description: 'A token bucket: `requests` per `per`, plus `burst`.' });

const concurrency = z.strictObject({
  max: z.int().min(1).max(1_000_000),
  queue: z.int().min(0).max(1_000_000).default(0),
  queueTimeout: duration({ positive: true }).optional(),
  mode,
});

const bandwidth = z.strictObject({
  bytesPerSecond: byteSize(1, 1024 ** 3),
  by: limitKey,
  mode,
});

const grpcRule = z.strictObject({
  methods: z.array(methodPattern).min(1),
  allow: entries.optional(),
  deny: entries.optional().meta({ description: 'Checked before allow.' }),
  rateLimit: rateLimit.optional(),
  concurrency: concurrency.optional(),
  bandwidth: bandwidth.optional(),
  maxMessageBytes: byteSize(1, 1024 ** 3).optional().meta({ description: 'Largest request message; default 4 MiB.' }),
  timeout: duration({ positive: true }).optional().meta({ description: "Upper bound on the caller's grpc-timeout." }),
  validate: z
    .enum(['enforce', 'audit'])
    .optional()
    .meta({
      description:
        'Check every request message against its protovalidate (buf.validate) constraints, with the descriptors of catalog.protos: ' +
        'enforce refuses a violation (3 INVALID_ARGUMENT) before the app sees the message; audit forwards it and records audit_deny. Default: off.',
    }),
});

const positiveLimit = z.int().min(1).max(1_000_000_000).optional();

const graphqlLimits = z.strictObject({
  depth: positiveLimit,
  cost: positiveLimit,
  aliases: positiveLimit,
  rootFields: positiveLimit,
  tokens: positiveLimit,
  directives: positiveLimit,
  batch: positiveLimit,
  bodyBytes: byteSize(1, 64 * 1024 ** 2).optional(),
  mode,
});

/** "Type.field", or "Type.*" for every field of the type. */
const FIELD_COORDINATE = /^[_A-Za-z][_0-9A-Za-z]*\.([_A-Za-z][_0-9A-Za-z]*|\*)$/;

const fieldCoordinate = z
  .string({ error: expecting('a field coordinate such as "Mutation.deleteOrder" or "User.*"') })
  .refine((s) => FIELD_COORDINATE.test(s), {
    error: (iss) => expected('a field coordinate "Type.field" or "Type.*", such as "Mutation.deleteOrder"', iss.input),
  })
  .meta({ pattern: FIELD_COORDINATE.source });

const graphqlRule = z.strictObject({
  path: z
    .string()
    .refine((p) => p.startsWith('/'), { error: (iss) => expected('a URL path starting with /', iss.input) })
    .default('/graphql'),
  allow: entries.optional(),
  deny: entries.optional(),
  limits: graphqlLimits.optional(),
  introspection: z.strictObject({ allow: entries.optional(), deny: entries.optional() }).optional(),
  fields: z.array(z.strictObject({ fields: z.array(fieldCoordinate).min(1), allow: entries.optional(), deny: entries.optional() })).optional(),
  rateLimit: rateLimit.optional(),
  costBudget: z
    .strictObject({
      points: z.int().min(1).max(1_000_000_000_000),
      per: duration({ positive: true }),
      by: limitKey,
      mode,
    })
    .optional(),
});

const POLICY_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

const policyName = z
  .string({ error: expecting('a policy name') })
  .refine((s) => POLICY_NAME.test(s), {
    error: (iss) =>
      expected('a policy name of lowercase letters, digits, "-" and "." (at most 63, starting and ending alphanumeric)', iss.input),
  })
  .meta({ pattern: POLICY_NAME.source, description: 'Unique across all loaded policies; rule ids are "NAME:grpc[i]".' });

/** The schema of one policy document (one YAML document of a policy file). */
export const policySchema = z
  .strictObject({
    apiVersion: z.literal(POLICY_API_VERSION),
    kind: z.literal('Policy'),
    metadata: z.strictObject({ name: policyName }),
    spec: z.strictObject({
      mode,
      grpc: z.array(grpcRule).default([]),
      graphql: z.array(graphqlRule).default([]),
    }),
  })
  .meta({ title: 'meshward Policy', description: 'A meshward policy document (DESIGN §4).' });

/** A validated policy document: converted values (durations in ms, sizes in bytes), defaults filled in. */
export type PolicyDocument = DeepReadonly<z.output<typeof policySchema>>;
export type GrpcPolicyRule = PolicyDocument['spec']['grpc'][number];
export type PolicyEntry = NonNullable<GrpcPolicyRule['allow']>[number];
export type GraphqlPolicyRule = PolicyDocument['spec']['graphql'][number];
export type PolicyMode = PolicyDocument['spec']['mode'];

/** The JSON Schema editors read (draft-07, input form: what a file may contain). */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
}

/** policies/schema/policy.schema.json as checked in (scripts/gen-policy-schema.ts writes it). */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
