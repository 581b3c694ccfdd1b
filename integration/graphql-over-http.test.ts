// GraphQL-over-HTTP conformance through meshward, checked by a checker nobody here wrote:
// graphql-http's serverAudits against its own spec-conformant handler, once directly and
// once through the built sidecar (mTLS). meshward may add no error and no warning that the
// app alone does not give.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildSchema } from 'graphql';
import { auditServer, type AuditResult } from 'graphql-http';
import { createHandler } from 'graphql-http/lib/use/http';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientId, clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const SDL = 'type Query { hello(name: String): String }\n';

let dir: string;
let pki: Pki;
let app: Server;
let appPort: number;
let sidecar: SidecarProcess;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-graphql-http-'));
  pki = await makePki(join(dir, 'pki'));
  const schema = buildSchema(SDL);
  const handler = createHandler({ schema, rootValue: { hello: ({ name }: { name?: string }) => `hello ${name ?? 'world'}` } });
  app = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] === '/graphql') return void handler(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as { port: number }).port;

  await writeFile(join(dir, 'schema.graphql'), SDL);
  await mkdir(join(dir, 'policies'));
  await writeFile(
    join(dir, 'policies', 'api.yaml'),
    `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: api }
spec:
  graphql:
    - path: /graphql
      allow: [ { principals: ["${clientId()}"] } ]
      introspection: { allow: [ { principals: ["${clientId()}"] } ] }
`,
  );
  const config = await writeSidecarConfig(dir, { appPort: 1, pki, extra: 'policies: [policies/]\n' });
  const text = await readFile(config, 'utf8');
  await writeFile(config, text.replace('admin:\n', `  graphql: { path: /graphql, app: "127.0.0.1:${appPort}", schemaFile: schema.graphql }\nadmin:\n`));
  sidecar = await startSidecar(config);
});

after(async () => {
  await stopAll();
  app?.close();
  await rm(dir, { recursive: true, force: true });
});

/** fetch over mutual TLS with the test client's SVID (the audits call it like the global fetch). */
function mtlsFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const tls = clientTls(pki, pki.client);
  const url = new URL(String(input instanceof Request ? input.url : input));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers).entries()),
        ca: tls.caPem,
        cert: tls.certPem,
        key: tls.keyPem,
        servername: 'localhost',
        checkServerIdentity: () => undefined, // the SVID has a URI SAN only; the CA pins it
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          const status = res.statusCode ?? 500;
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

const summary = (results: AuditResult[]) => new Map(results.map((r) => [r.id, r]));

test('serverAudits: through meshward, no error or warning the app alone does not give', async () => {
  const direct = summary(await auditServer({ url: `http://127.0.0.1:${appPort}/graphql` }));
  assert.ok(direct.size > 40, 'the audit suite ran');
  assert.deepEqual([...direct.values()].filter((r) => r.status === 'error').map((r) => r.name), [], 'the reference app conforms');
  const proxied = summary(await auditServer({ url: `https://${sidecar.inbound}/graphql`, fetchFn: mtlsFetch }));
  const added: string[] = [];
  for (const [id, r] of proxied) {
    if (r.status === 'ok' || direct.get(id)?.status === r.status) continue;
    added.push(`${r.status}: ${r.name}${'reason' in r ? ` (${r.reason})` : ''}`);
  }
  assert.ok([...proxied.values()].filter((r) => r.status === "ok").length > 40, "the audits passed through meshward");
  assert.deepEqual(added, []);
});
