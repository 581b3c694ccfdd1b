// Dependency rules of meshward (`npm run lint`, run by .ci/run). The layers, bottom up
// (docs/architecture.md): core/ → engines (identity, authn, grpc, policy, ratelimit,
// graphql) → pipeline/ → filters/, telemetry/, proxy/ → app/ (+ main.ts, cli/).
// Folder-level cycles are checked by scripts/check-folder-cycles.mjs.

/**
 * The data path: the ground floor, the engines, the pipeline, filters, observers (telemetry,
 * the tap, the API catalog's observations), transports; message validation's checks; and the
 * alerts' call observer with the tables it fills (the rest of alerts/ — detectors on a timer,
 * receivers — is control path: it reads its `alerts:` section, never the whole config).
 */
const DATA_PATH =
  '^sidecar/(core|pipeline|filters|proxy|h2|grpc|authn|ratelimit|graphql|telemetry|identity|tap|catalog)/' +
  '|^sidecar/policy/(model|evaluate|claims|patterns|deny-code|explain|compile[a-z-]*)\\.ts$' +
  '|^sidecar/validation/(?!validation-problems\\.ts$)[^/]+\\.ts$' +
  '|^sidecar/alerts/(alerts-observer|pair-table|api-use-table|baseline)\\.ts$';
const ENGINES = '^sidecar/(identity|authn|grpc|policy|ratelimit|graphql)/';
/** Modules only tests and benchmarks may import. */
const TEST_HELPERS = '\\.test-helper\\.ts$';
/** Tests and their helpers may reach across the layers they test. */
const TEST_CODE = '\\.test\\.ts$|\\.test-helper\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-the-ground-floor',
      comment: 'core/ (the filter contract, chain, exchange seam, codes, replies, log) imports nothing else from sidecar/.',
      severity: 'error',
      from: { path: '^sidecar/core/' },
      to: { path: '^sidecar/', pathNot: '^sidecar/core/' },
    },
    {
      name: 'data-path-stays-off-the-control-plane',
      comment: 'The data path (proxy, pipeline, filters, engines, observers) never imports config/, cli/, inject/, admin/ or app/.',
      severity: 'error',
      from: { path: DATA_PATH, pathNot: TEST_CODE },
      to: { path: '^sidecar/(config|cli|inject|admin|app)/' },
    },
    {
      name: 'alerts-stay-off-the-control-plane',
      comment: 'alerts/ is built by app/ from its `alerts:` section (config/alerts-schema.ts); it never reaches into cli/, inject/, admin/ or app/.',
      severity: 'error',
      from: { path: '^sidecar/alerts/', pathNot: TEST_CODE },
      to: { path: '^sidecar/(cli|inject|admin|app)/' },
    },
    {
      name: 'engines-take-plain-values',
      comment: 'Engines (limiters, limit keys, policy evaluation, GraphQL analysis, JWT, identity, gRPC framing) know nothing of the call, its pipeline or its transport.',
      severity: 'error',
      from: { path: ENGINES, pathNot: TEST_CODE },
      to: { path: '^sidecar/(pipeline|filters|proxy|telemetry|app|main\\.ts)' },
    },
    {
      name: 'pipeline-below-filters-observers-transports',
      comment: 'pipeline/ (the call, the runner, the observer fan-out) is used by filters, observers and transports, never the other way round.',
      severity: 'error',
      from: { path: '^sidecar/pipeline/', pathNot: TEST_CODE },
      to: { path: '^sidecar/(filters|proxy|telemetry|app)/' },
    },
    {
      name: 'filters-observers-transports-side-by-side',
      comment: 'A filter, an observer and a transport do not import each other: they meet in the call (pipeline/call.ts) and in app/.',
      severity: 'error',
      from: { path: '^sidecar/(filters|proxy|telemetry)/', pathNot: TEST_CODE },
      to: { path: '^sidecar/(filters|proxy|telemetry)/', pathNot: '^sidecar/$1/' },
    },
    {
      name: 'only-app-reads-the-sidecar-config',
      comment: 'config/schema.ts (the SidecarConfig) is read by the assembly in app/; config/ itself and inject/ (which writes sidecar configs) are the exceptions.',
      severity: 'error',
      from: { pathNot: '^sidecar/(app|config|inject)/|\\.test\\.ts$' },
      to: { path: '^sidecar/config/schema\\.ts$' },
    },
    {
      name: 'only-app-assembles-the-stores',
      comment: 'The stores that watch files and publish snapshots are built and wired only in app/; the data path reads snapshots.',
      severity: 'error',
      from: { pathNot: '^sidecar/app/|\\.test\\.ts$' },
      // (a type import — a status shape — is not wiring)
      to: { path: '^sidecar/(policy/policy-store|identity/identity-store|graphql/schema-store)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'test-helpers-stay-in-tests',
      comment: 'Test helpers (*.test-helper.ts) live beside the tests; the sidecar never imports them.',
      severity: 'error',
      from: { path: '^sidecar/', pathNot: '\\.test\\.ts$|\\.test-helper\\.ts$' },
      to: { path: TEST_HELPERS },
    },
    {
      name: 'no-circular',
      comment: 'No module imports itself through others at run time.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-types',
      comment: 'A cycle closed only by type imports (e.g. a stream naming its connection\'s type) is reported, not refused; folder cycles are refused whatever the import kind.',
      severity: 'warn',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    // Type-only imports count: a layer that names another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
