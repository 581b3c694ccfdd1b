// The `catalog` section of the sidecar config (DESIGN §8): defaults, paths resolved against
// the config file's folder, day-counted durations, and problems with file:line:col.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from './load.js';

const MIN = `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity: { trustDomain: cluster.local, certFile: c.crt, keyFile: c.key, caFile: ca.crt }
inbound: { app: 127.0.0.1:8080 }
`;

test('catalog: paths resolve against the config folder; zombieAfter counts days', () => {
  const c = parseConfig(MIN + 'catalog:\n  protos: [proto/, api.binpb]\n  undeclared: audit\n  stateFile: state/catalog.json\n  zombieAfter: 1d12h\n', '/etc/meshward/sidecar.yaml');
  assert.deepEqual(c.catalog, {
    protos: ['/etc/meshward/proto', '/etc/meshward/api.binpb'],
    undeclared: 'audit',
    stateFile: '/etc/meshward/state/catalog.json',
    zombieAfter: 36 * 3_600_000,
  });
  assert.equal(parseConfig(MIN + 'catalog: { zombieAfter: 90d }\n', 'x.yaml').catalog.zombieAfter, 90 * 86_400_000);
  assert.equal(parseConfig(MIN + 'catalog: { zombieAfter: 45m }\n', 'x.yaml').catalog.zombieAfter, 45 * 60_000);
});

test('catalog: bad values name file, line and path', () => {
  const problems = (text: string): string => {
    try {
      parseConfig(MIN + text, 'sidecar.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    return assert.fail('expected a problem');
  };
  assert.match(problems('catalog: { undeclared: maybe }\n'), /^sidecar\.yaml:5:24: \/catalog\/undeclared: /);
  assert.match(problems('catalog:\n  zombieAfter: 0d\n'), /^sidecar\.yaml:6:16: \/catalog\/zombieAfter: expected a duration such as 30d/);
  assert.match(problems('catalog:\n  zombieAfter: 3x\n'), /\/catalog\/zombieAfter: expected a duration/);
  assert.match(problems('catalog: { protoz: [] }\n'), /\/catalog\/protoz: /);
});
