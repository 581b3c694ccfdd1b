// The sidecar config file format (DESIGN §3): the one schema that validates a parsed file
// and converts it (durations → ms, addresses → HostPort, paths → absolute).
// CONTROL path. Keys are a user-facing contract: add keys, never rename them.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import * as z from 'zod';
import { createAlertsSchema } from './alerts-schema.js';
import { byteSize, duration, filePath, hostPort, longDuration, spiffeId, trustDomain, url, type DeepReadonly, type HostPort } from './fields.js';
import { expected, expecting } from './issue-message.js';
import { parsePrincipalPattern } from '../identity/principal-pattern.js';

export type { HostPort } from './fields.js';

export const JWT_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
] as const;

/**
 * Builds the schema; relative paths in the file resolve against `baseDir`.
 * Defaults of converted values use `prefault`: the default is written in YAML form (`'5m'`,
 * `{}`) and parsed like a value from the file, so a missing section gets every inner
 * default, and the generated JSON Schema shows it (zod drops a `default` it cannot show).
 */
export function createSidecarConfigSchema(baseDir: string) {
  const file = filePath(baseDir);

  const identity = z.strictObject({
    trustDomain: trustDomain.meta({ description: "The SPIFFE trust domain: this workload's ID and its callers' must be in it." }),
    certFile: file.meta({ description: "This workload's X.509-SVID (PEM, leaf first, exactly one URI SAN); re-read on change." }),
    keyFile: file.meta({ description: 'Its private key (PEM); re-read on change.' }),
    caFile: file.meta({ description: 'The trust bundle (PEM): callers and remote sidecars must chain to it; re-read on change.' }),
  });

  const graphql = z.strictObject({
    path: z
      .string()
      .refine((p) => p.startsWith('/'), { error: (iss) => expected('a URL path starting with /', iss.input) })
      .default('/graphql')
      .meta({ description: 'The URL path GraphQL requests are served on (HTTP/1.1 and HTTP/2).' }),
    app: hostPort({ listen: false }).optional().meta({ description: "The GraphQL app (HTTP/1.1 keep-alive, loopback); defaults to inbound.app." }),
    schemaFile: file.optional().meta({ description: "The app's schema (SDL): validation, cost and field rules; re-read on change." }),
  });

  const limits = z.strictObject({
    maxConnections: z.int().min(1).max(1_048_576).default(1024).meta({ description: 'Open connections per listener (per worker process).' }),
    maxConcurrentStreams: z.int().min(1).max(100).default(100).meta({ description: 'Streams in flight per HTTP/2 connection.' }),
    maxHeaderListBytes: byteSize(1024, 65536).prefault(16384).meta({ description: 'Request header list size (RFC 9113 accounting: name + value + 32 per field).' }),
    maxHeaderPairs: z.int().min(8).max(256).default(64).meta({ description: 'Request header fields per request.' }),
    handshakeTimeout: duration({ positive: true }).prefault('10s').meta({ description: 'TLS handshake (and first bytes in permissive mode) must finish within this.' }),
    firstRequestTimeout: duration({ positive: true })
      .prefault('10s')
      .meta({ description: 'A new connection (after TLS) must have sent its first complete request head within this time.' }),
    requestHeadersTimeout: duration({ positive: true })
      .prefault('10s')
      .meta({ description: 'A request head (HTTP/2 header block, HTTP/1.1 request line and headers), once begun, must be complete within this time.' }),
    idleTimeout: duration({ positive: true }).prefault('5m').meta({ description: 'A connection without activity for this long is closed (GOAWAY).' }),
    maxResetsPerConnection: z
      .int()
      .min(1)
      .max(100_000)
      .default(200)
      .meta({ description: 'Client RST_STREAMs tolerated per connection per 10s before GOAWAY.' }),
  });

  const inbound = z
    .strictObject({
      listen: hostPort({ listen: true }).prefault('0.0.0.0:7443').meta({ description: 'The mTLS listener other workloads call (port 0: any free port).' }),
      mtls: z
        .enum(['strict', 'permissive'])
        .default('strict')
        .meta({ description: 'strict: a client certificate chaining to caFile is required; permissive: plaintext is accepted too, as unauthenticated (migration).' }),
      app: hostPort({ listen: false }).meta({ description: 'The app, on loopback: gRPC over h2c.' }),
      graphql: graphql.optional(),
      maxTimeout: duration({ positive: true })
        .prefault('5m')
        .meta({ description: "Upper bound on a caller's grpc-timeout, and the deadline when none is sent." }),
      allowAnyAuthenticated: z
        .boolean()
        .default(false)
        .meta({ description: 'Allow any caller with a valid SPIFFE ID (until policies exist).' }),
      limits: limits.prefault({}),
    })
    // graphql.app defaults to inbound.app; after this, consumers never see it missing.
    .transform((v) => ({ ...v, graphql: v.graphql && { ...v.graphql, app: v.graphql.app ?? v.app } }));

  const route = z.strictObject({
    authority: z.string().min(1).meta({ description: 'The :authority the app sends (host:port), case-insensitive.' }),
    address: hostPort({ listen: false }).meta({ description: "The remote sidecar's inbound listener." }),
    identity: spiffeId.meta({ description: 'The SPIFFE ID the remote sidecar must present.' }),
  });

  const outbound = z.strictObject({
    // Plaintext: loopback only (DESIGN §1), so nothing off the pod can use our identity.
    listen: hostPort({ listen: true })
      .prefault('127.0.0.1:7001')
      .refine((a) => /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(a.host), 'the outbound listener is plaintext: it must listen on loopback (127.0.0.1, ::1)'),
    routes: z.array(route).prefault([]).superRefine(uniqueBy('authority')).meta({ description: 'Where calls go, by :authority; an unknown authority is refused (14).' }),
  });

  const jwtProvider = z.strictObject({
    name: z.string().min(1).meta({ description: 'The name policies use (jwt.provider).' }),
    issuer: url({ protocols: ['https:'], loopbackHttp: true }).meta({ description: "The token's iss, compared byte for byte; it also picks the provider." }),
    jwksUri: url({ protocols: ['https:'], loopbackHttp: true }).meta({ description: 'The key set (5 s timeout, 30 s cooldown, 10 min cache, 1 MiB cap; jku/x5u never followed).' }),
    audiences: z.array(z.string().min(1)).min(1).meta({ description: 'The token\'s aud must contain one of these.' }),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).meta({ description: 'Accepted signature algorithms (pinned: others are refused before any key lookup).' }),
    clockTolerance: duration({ positive: false }).prefault('30s').meta({ description: 'Leeway for exp and nbf.' }),
  });

  const rateLimit = z.strictObject({
    store: z
      .enum(['memory', 'redis'])
      .default('memory')
      .meta({ description: 'Where rate-limit and cost-budget tokens live: this sidecar, or Redis shared by every replica.' }),
    redis: z
      .strictObject({
        url: url({ protocols: ['redis:', 'rediss:'], credentials: true })
          .default('redis://127.0.0.1:6379')
          .meta({ description: 'redis:// or rediss:// (TLS); a password in the URL is redacted in /config.' }),
        failMode: z
          .enum(['open', 'closed'])
          .default('closed')
          .meta({ description: 'Redis unreachable: closed answers 14 UNAVAILABLE, open lets calls through unlimited.' }),
        timeout: duration({ positive: true }).prefault('50ms').meta({ description: 'No call waits longer than this for Redis.' }),
      })
      .prefault({}),
  });

  // No zod defaults here: a key the file leaves out stays undefined, so the OTEL_* variables
  // apply (DESIGN §3: the file overrides them only where it sets a value). The defaults
  // shown are applied by telemetry/telemetry-settings.ts after the environment.
  const telemetry = z.strictObject({
    serviceName: z.string().min(1).optional().meta({ default: 'meshward', description: 'Else OTEL_SERVICE_NAME.' }),
    otlp: z
      .strictObject({
        endpoint: url({ protocols: ['http:', 'https:'] }).meta({ description: 'The OTLP collector (e.g. Jaeger :4318); /v1/traces is appended for HTTP. Else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.' }),
        protocol: z
          .enum(['http/protobuf', 'http/json', 'grpc'])
          .optional()
          .meta({ default: 'http/protobuf', description: 'Else OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL.' }),
      })
      .optional(),
    sampling: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .meta({ default: 1, description: 'Parent-based sampling ratio. Else OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.' }),
    jaegerUrl: url({ protocols: ['http:', 'https:'] })
      .optional()
      .meta({ description: "Jaeger's UI (e.g. http://jaeger.example:16686): the dashboard links trace ids to it." }),
  });

  // The API catalog (DESIGN §8): declarations, the undeclared-method filter, observations.
  const catalog = z.strictObject({
    protos: z
      .array(file)
      .prefault([])
      .meta({ description: '.proto files and folders (import roots), and descriptor sets (.binpb, .pb, .protoset); hot-reloaded.' }),
    undeclared: z
      .enum(['deny', 'audit', 'allow'])
      .default('deny')
      .meta({ description: 'Calls to gRPC methods not in `protos` (when set): deny = 12 UNIMPLEMENTED before the policy; audit = forward and record audit_deny; allow = only count.' }),
    stateFile: file.optional().meta({ description: 'Observations are kept here (written atomically, every few seconds) and survive restarts.' }),
    zombieAfter: longDuration({ positive: true })
      .prefault('30d')
      .meta({ description: 'A declared method not called for this long (with stateFile) is a zombie.' }),
  });

  const auditFile = z
    .string()
    .min(1)
    .transform((f) => (f === '-' ? f : resolve(baseDir, f)))
    .meta({ description: '"-" for stdout, or a path.' });

  return z.strictObject({
    apiVersion: z.literal('meshward.dev/v1alpha1'),
    kind: z.literal('Sidecar'),
    identity,
    inbound,
    outbound: outbound.optional(),
    admin: z
      .strictObject({
        listen: hostPort({ listen: true })
          .prefault('127.0.0.1:7000')
          .meta({ description: '/healthz, /readyz, /metrics, /config, /policies, /tap and the dashboard (docs/dashboard.md).' }),
        allow: z
          .array(principalPattern)
          .prefault([])
          .meta({
            description:
              'Who may use the admin endpoints when admin.listen is not loopback: SPIFFE IDs, prefixes ending in "/*", or "*" (mTLS required; /healthz and /readyz stay open).',
          }),
      })
      .prefault({}),
    policies: z.array(file).prefault([]).meta({ description: 'Policy files and folders; hot-reloaded.' }),
    jwt: z.strictObject({ providers: z.array(jwtProvider).prefault([]).superRefine(uniqueBy('name')).superRefine(uniqueBy('issuer')) }).prefault({}),
    rateLimit: rateLimit.prefault({}),
    telemetry: telemetry.prefault({}),
    audit: z
      .strictObject({
        file: auditFile.prefault('-'),
        hmacKeyFile: file
          .optional()
          .meta({ description: 'Key for the hash chain (HMAC-SHA-256; at least 16 bytes, one trailing newline ignored); without it plain SHA-256. docs/audit.md.' }),
      })
      .prefault({}),
    catalog: catalog.prefault({}),
    alerts: createAlertsSchema(baseDir).prefault({}),
    workers: z
      .union([z.int().min(1).max(64), z.literal('auto')], { error: expecting('an integer from 1 to 64, or "auto"') })
      .transform((w) => (w === 'auto' ? Math.min(64, availableParallelism()) : w))
      .prefault(1)
      .meta({ description: 'Processes serving the listeners (node:cluster); "auto" = one per available CPU. Limits stay correct (docs/workers.md).' }),
    shutdown: z
      .strictObject({
        drainTimeout: duration({ positive: false })
          .prefault('20s')
          .meta({ description: 'How long in-flight calls may finish after SIGTERM.' }),
      })
      .prefault({}),
  }).superRefine(distinctListeners);
}

/**
 * Two listeners of one sidecar on the same port clash when their hosts overlap (equal, or
 * either a wildcard): the second would fail at startup with EADDRINUSE. Caught here, as a
 * config error (exit 2) that names both keys.
 */
function distinctListeners(
  config: { inbound: { listen: HostPort }; admin: { listen: HostPort }; outbound?: { listen: HostPort } | undefined },
  ctx: z.RefinementCtx,
): void {
  const listeners: [string, HostPort][] = [
    ['inbound', config.inbound.listen],
    ['admin', config.admin.listen],
  ];
  if (config.outbound !== undefined) listeners.push(['outbound', config.outbound.listen]);
  const wildcard = (h: string) => h === '0.0.0.0' || h === '::' || h === '';
  listeners.forEach(([key, a], i) => {
    for (const [otherKey, b] of listeners.slice(0, i)) {
      if (a.port === 0 || a.port !== b.port) continue;
      if (a.host !== b.host && !wildcard(a.host) && !wildcard(b.host)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key, 'listen'],
        message: `${key}.listen ${a.host}:${a.port} is also ${otherKey}.listen (${b.host}:${b.port}); each listener needs its own port`,
      });
    }
  });
}

/** A policy principal pattern (DESIGN §4), kept as written; admin.allow. */
const principalPattern = z.string({ error: expecting('a SPIFFE ID, a prefix ending in "/*", or "*"') }).check((ctx) => {
  const parsed = parsePrincipalPattern(ctx.value);
  if (!parsed.ok) ctx.issues.push({ code: 'custom', message: `${parsed.error}; got ${JSON.stringify(ctx.value)}`, input: ctx.value });
});

/** Flags the second and later list items whose `key` repeats an earlier item's. */
function uniqueBy<K extends string>(key: K) {
  return (items: readonly Record<K, unknown>[], ctx: z.RefinementCtx) => {
    const seen = new Set<unknown>();
    items.forEach((item, i) => {
      const value = item[key];
      if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [i, key], message: `duplicate ${key} ${JSON.stringify(value)}` });
      seen.add(value);
    });
  };
}

/**
 * The schema with relative paths resolved against the working directory; for generating
 * the JSON Schema (`z.toJSONSchema(sidecarConfigSchema, { target: 'draft-7', io: 'input' })`)
 * and for callers that already hold a parsed object. loadConfig uses the file's folder.
 */
export const sidecarConfigSchema = createSidecarConfigSchema('.');

export type { DeepReadonly } from './fields.js';

/** The loaded config: converted values, every default filled in, deep-frozen. */
export type SidecarConfig = DeepReadonly<z.output<typeof sidecarConfigSchema>>;
