// The injector's config file (`meshward injector --config FILE`): listener, webhook TLS,
// failure policy, limits and the injection defaults. Validated like the sidecar config
// (config/load.ts machinery): every problem as `FILE:LINE:COL: /path: message`.
// CONTROL path.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { byteSize, duration, filePath, hostPort } from '../config/fields.js';
import { ConfigError, deepFreeze, validateDocument } from '../config/load.js';
import type { DeepReadonly } from '../config/schema.js';
import { injectionOptionsSchema } from './injection-options.js';

export function createInjectorConfigSchema(baseDir: string) {
  const file = filePath(baseDir);
  return z.strictObject({
    apiVersion: z.literal('meshward.dev/v1alpha1'),
    kind: z.literal('Injector'),
    listen: hostPort({ listen: true }).prefault('0.0.0.0:8443'),
    tls: z.strictObject({
      certFile: file,
      keyFile: file,
      reloadInterval: duration({ positive: true })
        .prefault('30s')
        .meta({ description: 'How often the certificate files are checked for a new certificate (cert-manager renewals).' }),
    }),
    failurePolicy: z
      .enum(['Fail', 'Ignore'])
      .default('Fail')
      .meta({ description: "As the webhook's failurePolicy: how a request the injector cannot handle is answered (Fail: refused; Ignore: allowed unpatched)." }),
    excludeNamespaces: z
      .array(z.string().min(1))
      .prefault([])
      .meta({ description: 'Namespaces never injected, besides kube-system (which always is excluded).' }),
    limits: z
      .strictObject({
        maxBodyBytes: byteSize(1024, 64 * 1024 * 1024).prefault('4Mi'),
        requestTimeout: duration({ positive: true }).prefault('10s'),
        maxConnections: z.int().min(1).max(65_536).default(1024),
      })
      .prefault({}),
    shutdown: z.strictObject({ drainTimeout: duration({ positive: false }).prefault('10s') }).prefault({}),
    injection: injectionOptionsSchema.prefault({}),
  });
}

export type InjectorConfig = DeepReadonly<z.output<ReturnType<typeof createInjectorConfigSchema>>>;

/** Reads and validates the injector config file; throws ConfigError. */
export function loadInjectorConfig(file: string): InjectorConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the config file: ${(err as Error).message}`]);
  }
  return parseInjectorConfig(text, file);
}

export function parseInjectorConfig(text: string, file: string): InjectorConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const schema = createInjectorConfigSchema(dirname(resolve(file)));
  const result = validateDocument(doc, lineCounter, file, schema, {
    empty: 'expected a map with apiVersion, kind and tls, got an empty document',
  });
  if (result.ok) return deepFreeze(result.value);
  throw new ConfigError(result.problems.map((p) => p.text));
}
