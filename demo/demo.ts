// `npm run demo`: the sidecar with embedded defaults, end to end on loopback.
// Makes a dev CA and SPIFFE certificates with `meshward certs`, starts the grpc-js echo
// app and a JWKS server (the end users' identity provider), runs the built sidecar with the
// example policies in policies/, makes calls of every RPC kind and GraphQL queries (to a
// graphql-js app) through mTLS, shows what meshward refuses and why, prints the audit log
// (hash-chained, verified) and the API catalog (declared vs called), and writes the
// compliance report (.demo/report.html). Exit 0 when all is as expected.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCertsCommand } from '../sidecar/cli/certs.js';
import { adminClient, bidi, clientStream, closeAllClients, echoClient, ordersClient, ping, placeOrder, serverStream, unary } from '../integration/support/grpc-clients.js';
import { JwksServer } from '../integration/support/jwks-server.js';
import { grpcFrame, rawRequest } from '../integration/support/raw-h2.js';
import { decodeStatusDetails } from '../integration/support/rpc-status.js';
import { runMeshward, startSidecar } from '../integration/support/sidecar-process.js';
import { makePki } from '../integration/support/tls-fixtures.js';
import { gql } from '../integration/support/graphql-client.js';
import { startAlertDemo } from './alert-demo.js';
import { startEchoApp } from './echo-app.js';
import { SHOP_SCHEMA_FILE, startGraphqlApp } from './graphql-app.js';
import { repoRoot } from './repo-root.js';

const TRUST_DOMAIN = 'cluster.local';
const APP_ID = `spiffe://${TRUST_DOMAIN}/ns/shop/sa/orders`;
const CALLER_ID = `spiffe://${TRUST_DOMAIN}/ns/web/sa/frontend`;

interface Row {
  what: string;
  expected: string;
  got: string;
  ok: boolean;
}

async function main(): Promise<number> {
  const dir = join(repoRoot, '.demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const quiet = { out: () => undefined, err: (l: string) => console.error(l) };

  console.log('1. certificates: meshward certs init / issue (a dev CA and two SPIFFE workload certificates)');
  const certs = join(dir, 'certs');
  let code = await runCertsCommand(['init', '--dir', certs, '--trust-domain', TRUST_DOMAIN], quiet);
  code ||= await runCertsCommand(['issue', '--ca-dir', certs, '--spiffe-id', APP_ID, '--out', join(certs, 'orders')], quiet);
  code ||= await runCertsCommand(['issue', '--ca-dir', certs, '--spiffe-id', CALLER_ID, '--out', join(certs, 'frontend')], quiet);
  if (code !== 0) return code;
  const read = (p: string) => readFileSync(join(certs, p), 'utf8');
  const caller = { caPem: read('frontend/ca.crt'), certPem: read('frontend/tls.crt'), keyPem: read('frontend/tls.key') };

  console.log('2. the app: a grpc-js echo service on 127.0.0.1 (h2c), unary and streaming methods');
  const app = await startEchoApp();
  const shop = await startGraphqlApp();
  console.log(`   and a graphql-js app (demo/shop.graphql) on 127.0.0.1:${shop.port} (HTTP/1.1)`);
  const idp = await JwksServer.start();
  console.log(`   the identity provider: a JWKS server at ${idp.jwksUri}`);
  const alerting = await startAlertDemo(dir, certs, caller.caPem);

  const configFile = join(dir, 'sidecar.yaml');
  writeFileSync(
    configFile,
    `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity:
  trustDomain: ${TRUST_DOMAIN}
  certFile: certs/orders/tls.crt
  keyFile: certs/orders/tls.key
  caFile: certs/orders/ca.crt
inbound:
  listen: 127.0.0.1:0
  mtls: strict
  app: 127.0.0.1:${app.port}
  graphql: { path: /graphql, app: 127.0.0.1:${shop.port}, schemaFile: ${JSON.stringify(SHOP_SCHEMA_FILE)} }
admin:
  listen: 127.0.0.1:0
policies: [${join(repoRoot, 'policies')}, ${join(repoRoot, 'demo', 'policies')}]   # the examples, and Orders with validate: enforce
catalog:
  protos: [${join(repoRoot, 'proto')}]   # the services' .proto files: message validation reads their constraints
jwt:
  providers:
    - name: corp
      issuer: ${idp.origin}
      jwksUri: ${idp.jwksUri}
      audiences: [orders]
      algorithms: [RS256, ES256]
audit:
  file: audit.log
${alerting.configYaml}`,
  );
  console.log(`3. the sidecar: meshward run --config ${configFile}`);
  // Readiness is awaited (bounded): loading the protos and compiling their validators takes a
  // moment more on a busy machine.
  const sidecar = await startSidecar(configFile, { timeoutMs: 30_000 });
  // Ready means the alerts' learning period has started (it begins before the listeners open).
  const readyAt = Date.now();
  console.log(`   inbound (mTLS) ${sidecar.inbound}, admin http://${sidecar.admin}/readyz, app 127.0.0.1:${app.port}\n`);

  const rows: Row[] = [];
  const check = (what: string, expected: string, got: string) => rows.push({ what, expected, got, ok: expected === got });
  const client = echoClient(sidecar.inbound, caller, { expectServerId: APP_ID, servername: 'orders' });

  const u = await unary(client, { message: 'hello through meshward' }, { metadata: { 'x-meshward-principal': 'spiffe://forged' } });
  check('unary Echo/Unary', 'OK "hello through meshward"', `${statusName(u.status)} "${u.reply?.message ?? ''}"`);
  const seen = app.calls.at(-1);
  check('  app saw caller identity', CALLER_ID, String(seen?.metadata['x-meshward-principal']));
  const pinger = adminClient(sidecar.inbound, caller, { expectServerId: APP_ID, servername: 'orders' });
  const now = Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>) => idp.sign({ iss: idp.origin, aud: 'orders', sub: 'alice', exp: now + 300, ...claims });
  const p1 = await ping(pinger);
  check('Admin/Ping without an end-user token', 'UNAUTHENTICATED', statusName(p1.status));
  const p2 = await ping(pinger, {}, { metadata: { authorization: `Bearer ${await token({ scope: 'openid', realm_access: { roles: ['user'] } })}` } });
  check('Admin/Ping, token without admin role', 'PERMISSION_DENIED', statusName(p2.status));
  const p3 = await ping(pinger, {}, { metadata: { authorization: `Bearer ${await token({ scope: 'openid admin:ping', realm_access: { roles: ['admin'] } })}` } });
  check('Admin/Ping, admin token', 'OK', statusName(p3.status));
  const adminToken = `Bearer ${await token({ scope: 'openid admin:ping', realm_access: { roles: ['admin'] } })}`;
  const burst = await Promise.all(Array.from({ length: 15 }, () => ping(pinger, {}, { metadata: { authorization: adminToken } })));
  const limited = burst.filter((r) => r.status === 8).length;
  check('Admin/Ping x15 at once (rateLimit 10/s by jwt:sub)', 'some RESOURCE_EXHAUSTED', limited > 0 && limited < burst.length ? 'some RESOURCE_EXHAUSTED' : `${limited} of ${burst.length} limited`);
  const ss = await serverStream(client, { count: 5, payloadSize: 1024 });
  check('server streaming Echo/ServerStream', 'OK 5 messages', `${statusName(ss.status)} ${ss.count} messages`);
  const cs = await clientStream(client, Array.from({ length: 7 }, (_, i) => ({ message: `part ${i}` })));
  check('client streaming Echo/ClientStream (audit-mode trial)', 'OK 7 received', `${statusName(cs.status)} ${cs.reply?.count ?? 0} received`);
  const bd = await bidi(client, ['a', 'b', 'c'].map((message) => ({ message })));
  check('bidi streaming Echo/Bidi', 'OK a,b,c', `${statusName(bd.status)} ${bd.replies.map((r) => r.message).join(',')}`);
  const dl = await unary(client, { message: 'slow', sleepMs: 2000 }, { deadlineMs: 200 });
  check('deadline passed on and enforced', 'DEADLINE_EXCEEDED', statusName(dl.status));

  const before = app.calls.length;
  const bad = await rawRequest(sidecar.inbound, caller, { path: '/meshward.demo.v1.Echo/../meshward.demo.v1.Admin/Ping', body: grpcFrame(Buffer.alloc(0)) });
  check('dot-segment :path refused', 'PERMISSION_DENIED', statusName(Number(bad.headers['grpc-status'])));
  const json = await rawRequest(sidecar.inbound, caller, { path: '/meshward.demo.v1.Echo/Unary', contentType: 'application/json', body: '{}' });
  check('non-gRPC content-type', 'HTTP 415', `HTTP ${json.status}`);
  const undeclared = await rawRequest(sidecar.inbound, caller, { path: '/meshward.demo.v1.Echo/Debug', body: grpcFrame(Buffer.alloc(0)) });
  check('method not in catalog.protos (Echo/Debug)', 'UNIMPLEMENTED', statusName(Number(undeclared.headers['grpc-status'])));
  check('  refused calls reached the app', '0', String(app.calls.length - before));

  // Message validation: Orders' requests carry protovalidate constraints (proto/demo.proto).
  const orders = ordersClient(sidecar.inbound, caller, { expectServerId: APP_ID, servername: 'orders' });
  const order = { orderId: 'o-1001', customer: 'ada', quantity: 2, shipping: { country: 'GB', city: 'London' }, items: [{ sku: 'tea', count: 2 }] };
  const o1 = await placeOrder(orders, order);
  check('Orders/PlaceOrder, a valid order (validate: enforce)', 'OK', statusName(o1.status));
  const ordersBefore = app.calls.length;
  const o2 = await placeOrder(orders, { ...order, orderId: 'x', shipping: undefined, items: [{ sku: '', count: 2 }] });
  check('Orders/PlaceOrder, order_id too short, no address, empty sku', 'INVALID_ARGUMENT', statusName(o2.status));
  const violations = decodeStatusDetails(o2.metadata['grpc-status-details-bin']).fieldViolations ?? [];
  check('  BadRequest field violations', 'order_id,shipping,items[0].sku', violations.map((v) => v.field).join(','));
  for (const v of violations) console.log(`   ${v.field}: ${v.description}`);
  check('  refused order reached the app', '0', String(app.calls.length - ordersBefore));

  const gqlBefore = shop.documents().length;
  const q = (query: string, headers: Record<string, string> = {}) => gql(sidecar.inbound, { tls: caller, body: { query }, headers });
  const g1 = await q('{ me { name } }');
  check('GraphQL query over HTTP/1.1 + mTLS', '200 Ada', `${g1.status} ${g1.json?.data?.me?.name}`);
  const g2 = await q('{ me { ...Contact } } fragment Contact on Account { email }');
  check('GraphQL field User.email, no token', '401 UNAUTHENTICATED', `${g2.status} ${g2.json?.errors?.[0]?.extensions?.code}`);
  const g3 = await q('{ me { email } }', { authorization: `Bearer ${await token({ roles: ['admin'] })}` });
  check('GraphQL field User.email, admin token', '200 ada@example.com', `${g3.status} ${g3.json?.data?.me?.email}`);
  const deep = `{ me ${'{ friends(first: 1) '.repeat(8)}{ id }${' }'.repeat(8)} }`;
  const g4 = await q(deep, { accept: 'application/graphql-response+json' });
  check('GraphQL depth 10 (limit 8)', '400 MAX_DEPTH_LIMIT', `${g4.status} ${g4.json?.errors?.[0]?.extensions?.code}`);
  const g5 = await q('{ __schema { types { name } } }');
  check('GraphQL introspection by the frontend', '403 FORBIDDEN', `${g5.status} ${g5.json?.errors?.[0]?.extensions?.code}`);
  check('  documents that reached the GraphQL app', '2', String(shop.documents().length - gqlBefore));

  const stranger = await makePki(join(dir, 'stranger'), TRUST_DOMAIN); // a CA the sidecar does not trust
  const s = await unary(echoClient(sidecar.inbound, { caPem: caller.caPem, certPem: stranger.client.certPem, keyPem: stranger.client.keyPem }, { servername: 'orders' }), { message: 'let me in' }, { deadlineMs: 3000 });
  check('caller with an untrusted CA', 'UNAVAILABLE (handshake refused)', `${statusName(s.status)} (handshake refused)`);

  // The API catalog: what is declared (proto/demo.proto, the GraphQL SDL) against what was called.
  const catalog = (await (await fetch(`http://${sidecar.admin}/catalog`)).json()) as { shadow: Array<{ name: string }>; observed: Array<{ name: string }> };
  check('catalog: shadow API (called, not declared)', 'meshward.demo.v1.Echo/Debug', catalog.shadow.map((e) => e.name).join(','));
  check('catalog: GraphQL fields observed', 'Query.me,User.name', catalog.observed.map((e) => e.name).filter((n) => n === 'Query.me' || n === 'User.name').join(','));
  const catalogReport = await runMeshward(['catalog', '--admin', `http://${sidecar.admin}`]);
  for (const [what, expected, got] of await alerting.run(sidecar, readyAt)) check(what, expected, got);
  console.log();

  closeAllClients();
  // The compliance report of this sidecar (DESIGN §11), with an SBOM of meshward's dependencies.
  const auditLog = join(dir, 'audit.log');
  const reportFile = join(dir, 'report.html');
  const sbomFile = join(dir, 'sbom.cdx.json');
  const sbom = await runMeshward([sbomFile], { cli: join(repoRoot, 'scripts', 'write-sbom.mjs'), timeoutMs: 60_000 });
  if (sbom.code !== 0) console.error(`   (no SBOM: ${sbom.stderr.trim()})`);
  const report = await runMeshward(['report', '--admin', `http://${sidecar.admin}`, '--audit', auditLog, '--out', reportFile, '--sbom', sbomFile], { timeoutMs: 30_000 });
  check('compliance report (meshward report)', 'exit 0', `exit ${report.code}`);
  const exit = await sidecar.stop('SIGTERM');
  check('SIGTERM: drain and exit', 'exit 0', `exit ${exit}`);
  const verify = await runMeshward(['audit', 'verify', auditLog]);
  check('audit log hash chain (meshward audit verify)', 'exit 0', `exit ${verify.code}`);
  await app.close();
  await shop.close();
  await idp.close();
  await alerting.close();

  console.log('audit log (.demo/audit.log: every decision that was not a plain allow):');
  for (const line of readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as Record<string, unknown>;
    console.log(`  #${r.seq} ${r.decision} ${r.status} ${r.method} ${r.reason} rule=${r.rule ?? '-'} principal=${r.principal ?? '-'} sub=${r.subject ?? '-'}`);
  }
  console.log(`  ${verify.stdout.trim().split('\n').at(-2) ?? ''} (meshward audit verify ${auditLog})`);
  console.log();
  console.log(`compliance report: ${reportFile} (open it in a browser; print it to PDF)`);
  console.log(`  meshward report --admin http://${sidecar.admin} --audit ${auditLog} --out ${reportFile}`);
  console.log(`  ${report.stderr.trim()}`);
  console.log();
  console.log(`API catalog (meshward catalog --admin http://${sidecar.admin}):`);
  for (const line of catalogReport.stdout.trimEnd().split('\n')) console.log(`  ${line}`);
  console.log();
  console.log('sidecar log (stderr, JSON lines):');
  for (const line of sidecar.stderrLines) console.log(`  ${line}`);
  console.log();
  const width = Math.max(...rows.map((r) => r.what.length));
  for (const r of rows) console.log(`${r.ok ? '✔' : '✘'} ${r.what.padEnd(width)}  ${r.got}${r.ok ? '' : `   (expected ${r.expected})`}`);
  const failed = rows.filter((r) => !r.ok).length;
  console.log(failed === 0 ? `\nall ${rows.length} checks as expected; files in ${dir}` : `\n${failed} of ${rows.length} checks failed`);
  return failed === 0 ? 0 : 1;
}

const names = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
function statusName(code: number): string {
  return names[code] ?? `status ${code}`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
