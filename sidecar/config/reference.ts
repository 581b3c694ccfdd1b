// The sidecar config's user reference, generated from the one zod schema (control path,
// build time): the JSON Schema editors read (docs/schema/sidecar.schema.json) and the key
// table of docs/configuration.md. scripts/gen-config-reference.ts writes both; a unit test
// fails when the checked-in copies are stale.

import * as z from 'zod';
import { isDurationSchema } from './fields.js';
import { sidecarConfigSchema } from './schema.js';

interface Node {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly properties?: Readonly<Record<string, Node>>;
  readonly required?: readonly string[];
  readonly items?: Node;
  readonly anyOf?: readonly Node[];
}

export function sidecarJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(sidecarConfigSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://meshward.dev/schemas/sidecar.schema.json', title: 'meshward sidecar configuration (kind: Sidecar)' };
}

/** docs/schema/sidecar.schema.json as checked in. */
export function sidecarJsonSchemaText(): string {
  return `${JSON.stringify(sidecarJsonSchema(), null, 2)}\n`;
}

const INTRO = `# Sidecar configuration reference

<!-- Generated from sidecar/config/schema.ts by \`npm run docs:config\`; do not edit by hand. -->

One YAML file, \`meshward run --config FILE\`. Unknown keys are errors (with a "did you mean");
every error names the file, line, column and key path, and the sidecar exits 2. Relative paths
resolve against the config file's folder. Durations are written \`250ms\`, \`5s\`, \`1m30s\`
(units h, m, s, ms, largest first; long durations also take \`d\`); byte sizes \`65536\`, \`64Ki\`,
\`4Mi\`. The standard \`OTEL_*\` variables apply to tracing, and the file overrides them only where
it sets a value. \`GET /config\` on the admin listener shows the effective configuration.

Editors complete and check the file with the JSON Schema
[\`docs/schema/sidecar.schema.json\`](schema/sidecar.schema.json): put
\`# yaml-language-server: $schema=<path to>/docs/schema/sidecar.schema.json\` on its first line.

A minimal file (everything else has a default):

\`\`\`yaml
apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity:
  trustDomain: cluster.local
  certFile: certs/tls.crt
  keyFile: certs/tls.key
  caFile: certs/ca.crt
inbound:
  app: 127.0.0.1:8080
policies: [policies/]
\`\`\`

Secure defaults that a key relaxes (\`inbound.mtls: permissive\`, \`inbound.allowAnyAuthenticated\`,
\`rateLimit.redis.failMode: open\`, and others marked so below) are logged at startup as
\`INSECURE DEFAULT RELAXED\` and listed under \`relaxedDefaults\` in \`GET /config\`.

## Every key

| key | type | default | meaning |
|---|---|---|---|
`;

/** docs/configuration.md as checked in. */
export function configurationReferenceMarkdown(): string {
  const rows: string[] = [];
  walk(sidecarJsonSchema() as Node, '', true, rows);
  return INTRO + rows.join('\n') + '\n';
}

function walk(node: Node, path: string, required: boolean, rows: string[]): void {
  const object = objectOf(node);
  if (object?.properties !== undefined && path !== '') {
    // A section: one row, then its keys.
    rows.push(row(path, required ? 'object, required' : 'object', undefined, node.description ?? ''));
  }
  if (object?.properties !== undefined) {
    for (const [key, child] of Object.entries(object.properties)) {
      walk(child, path === '' ? key : `${path}.${key}`, object.required?.includes(key) === true, rows);
    }
    return;
  }
  const items = node.items ?? node.anyOf?.find((a) => a.items !== undefined)?.items;
  if (node.type === 'array' && items !== undefined && objectOf(items)?.properties !== undefined) {
    rows.push(row(path, 'list of objects', node.default, node.description ?? ''));
    walk(items, `${path}[]`, true, rows);
    return;
  }
  rows.push(row(path, typeOf(node) + (required ? ', required' : ''), node.default, node.description ?? ''));
}

function objectOf(node: Node): Node | undefined {
  if (node.properties !== undefined) return node;
  return node.anyOf?.find((a) => a.properties !== undefined);
}

function typeOf(node: Node): string {
  const duration = isDurationSchema(node);
  if (duration !== false) return duration === 'days' ? 'duration (d allowed)' : 'duration';
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  if (node.enum !== undefined) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.anyOf !== undefined) {
    if (node.description?.startsWith('A byte size') === true) return 'byte size';
    return node.anyOf.map(typeOf).join(' or ');
  }
  if (node.type === 'integer' || node.type === 'number') {
    const range = node.minimum !== undefined && node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? ` ${node.minimum}–${node.maximum}` : '';
    return `${node.type}${range}`;
  }
  if (node.type === 'array') return `list of ${node.items === undefined ? 'values' : typeOf(node.items)}`;
  if (node.type === 'string' && node.description?.startsWith('An address') === true) return 'host:port';
  if (node.type === 'string' && node.description?.startsWith('A path') === true) return 'path';
  if (node.type === 'string' && node.description?.startsWith('A URL') === true) return 'URL';
  return node.type ?? 'any';
}

function row(path: string, type: string, dflt: unknown, description: string): string {
  const d = dflt === undefined ? '' : `\`${typeof dflt === 'string' ? dflt : JSON.stringify(dflt)}\``;
  return `| \`${path}\` | ${type} | ${d} | ${description.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`;
}
