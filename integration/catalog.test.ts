// The API catalog end to end (issue 16, DESIGN §8, §13): the built sidecar with
// `catalog.protos`, the echo app recording what it receives, the admin /catalog view, the
// `meshward catalog` and `meshward policy suggest` commands.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { repoRoot } from '../demo/repo-root.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient, unary } from './support/grpc-clients.js';
import { startSidecar, stopAll } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const DEMO_PROTO = join(repoRoot, 'proto', 'demo.proto');

let dir: string;
let pki: Pki;
let app: EchoApp;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-catalog-'));
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('declarations', () => {
  test('invalid catalog.protos at startup: exit 2 naming file and line', async () => {
    await writeFile(join(dir, 'bad.proto'), 'syntax = "proto3";\nmessage M {\n  Nope x = 1;\n}\n');
    const config = await writeSidecarConfig(dir, { appPort: app.port, pki, fileName: 'bad.yaml', extra: 'catalog: { protos: [bad.proto] }' });
    const sidecar = await startSidecar(config, { expectFailure: true });
    assert.equal(await sidecar.waitForExit(), 2);
    assert.match(sidecar.stderrLines.join('\n'), /bad\.proto:3: field M\.x: unknown type "Nope"/);
  });

  test('a declared method is served', async () => {
    const config = await writeSidecarConfig(dir, {
      appPort: app.port,
      pki,
      allowAnyAuthenticated: true,
      fileName: 'declared.yaml',
      extra: `catalog: { protos: [${JSON.stringify(DEMO_PROTO)}] }`,
    });
    const sidecar = await startSidecar(config);
    const r = await unary(echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' }), { message: 'hi' });
    assert.equal(r.status, 0, r.details);
    await sidecar.stop();
  });
});
