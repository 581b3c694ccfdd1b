// `meshward inject` on a YAML stream: finds the pod (template) of every Pod, Deployment,
// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob, also inside
// Lists, and applies planInjection's patch to the parsed document, so comments and key
// order survive. Documents with nothing injected are copied byte for byte. All or
// nothing: any problem → no output. CONTROL path; pure.
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { offsetOfPath } from '../config/yaml-source.js';
import type { InjectionOptions } from './injection-options.js';
import { isRecord, planInjection } from './inject-pod.js';
import { applyAddOperations, YamlPatchError } from './yaml-patch.js';

type NodePath = (string | number)[];

/** Where each workload kind keeps its pod template, and the API groups it belongs to. */
const POD_TEMPLATES: Readonly<Record<string, { apiVersion: RegExp; path: readonly string[] }>> = {
  Pod: { apiVersion: /^v1$/, path: [] },
  ReplicationController: { apiVersion: /^v1$/, path: ['spec', 'template'] },
  Deployment: { apiVersion: /^apps\//, path: ['spec', 'template'] },
  StatefulSet: { apiVersion: /^apps\//, path: ['spec', 'template'] },
  DaemonSet: { apiVersion: /^apps\//, path: ['spec', 'template'] },
  ReplicaSet: { apiVersion: /^apps\//, path: ['spec', 'template'] },
  Job: { apiVersion: /^batch\//, path: ['spec', 'template'] },
  CronJob: { apiVersion: /^batch\//, path: ['spec', 'jobTemplate', 'spec', 'template'] },
};

export type ManifestsResult =
  | { readonly ok: true; readonly output: string; readonly injected: readonly string[]; readonly skipped: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

const MAX_LIST_DEPTH = 4;

export function injectManifests(text: string, source: string, options: InjectionOptions): ManifestsResult {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const docs: Document.Parsed[] = 'empty' in parsed ? [] : parsed;
  const problems: string[] = [];
  const injected: string[] = [];
  const skipped: string[] = [];
  const at = (doc: Document, path: NodePath): string => {
    const { line, col } = lineCounter.linePos(offsetOfPath(doc, path));
    return `${source}:${line}:${col}`;
  };

  if ('empty' in parsed) {
    for (const e of parsed.errors) problems.push(`${source}: invalid YAML: ${e.message}`);
  }
  const changed = docs.map((doc) => {
    for (const e of doc.errors) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      problems.push(`${source}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`);
    }
    if (doc.errors.length > 0) return false;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push(`${at(doc, [])}: invalid YAML: ${(err as Error).message}`);
      return false;
    }
    let modified = false;
    const visit = (obj: unknown, path: NodePath, depth: number): void => {
      if (!isRecord(obj) || typeof obj.kind !== 'string') return;
      if (Array.isArray(obj.items) && (obj.kind === 'List' || obj.kind.endsWith('List'))) {
        if (depth < MAX_LIST_DEPTH) obj.items.forEach((item, i) => visit(item, [...path, 'items', i], depth + 1));
        return;
      }
      const where = POD_TEMPLATES[obj.kind];
      if (where === undefined || typeof obj.apiVersion !== 'string' || !where.apiVersion.test(obj.apiVersion)) return;
      const meta = isRecord(obj.metadata) ? obj.metadata : {};
      const name = `${obj.kind}/${typeof meta.name === 'string' ? meta.name : '(unnamed)'}`;
      const template = where.path.reduce<unknown>((o, key) => (isRecord(o) ? o[key] : undefined), obj);
      const templatePath = [...path, ...where.path];
      const result = planInjection(template, { namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined }, options);
      if (result.action === 'skip') {
        skipped.push(`${at(doc, path)}: ${name}: not injected: ${result.reason}`);
      } else if (result.action === 'error') {
        for (const p of result.problems) problems.push(`${at(doc, templatePath)}: ${name}: ${p}`);
      } else {
        try {
          applyAddOperations(doc, templatePath, result.patch);
          injected.push(`${at(doc, path)}: ${name}`);
          modified = true;
        } catch (err) {
          if (!(err instanceof YamlPatchError)) throw err;
          problems.push(`${at(doc, templatePath)}: ${name}: ${err.message}`);
        }
      }
    };
    visit(value, [], 0);
    return modified;
  });
  if (problems.length > 0) return { ok: false, problems };

  // Each document's own text runs from its start to the next one's (the first from 0,
  // so leading comments stay; the last to the end, so trailing ones do).
  let output = '';
  docs.forEach((doc, i) => {
    const start = i === 0 ? 0 : doc.range[0];
    const end = docs[i + 1]?.range[0] ?? text.length;
    if (!changed[i]) {
      output += text.slice(start, end);
      return;
    }
    if (i > 0) doc.directives.docStart = true;
    output += doc.toString({ lineWidth: 0, flowCollectionPadding: flowPadding(text.slice(start, end)) });
    // Text after the document's own nodes, before the next "---" (e.g. a "..." marker).
    const tail = text.slice(doc.range[2], end);
    if (/^\s*\.\.\.\s*$/.test(tail)) output += '...\n';
  });
  if (docs.length === 0) output = text;
  return { ok: true, output, injected, skipped };
}

/**
 * Whether a document writes its flow collections padded (`{ a: b }`) or tight (`{a: b}`),
 * by majority; a document without any gets the padded form (Kubernetes' docs write it so).
 * Rewritten documents keep their author's style, so GitOps diffs show only the injection.
 */
function flowPadding(text: string): boolean {
  const padded = text.match(/[[{] +[^\s\]}]/g)?.length ?? 0;
  const tight = text.match(/[[{][^\s\]}]/g)?.length ?? 0;
  return padded >= tight;
}
