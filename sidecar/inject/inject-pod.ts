// Sidecar injection for one pod (or pod template): decides whether to inject and, if so,
// returns the change as JSON Patch `add` operations (RFC 6902) relative to the pod. The
// webhook sends them as they are; `meshward inject` applies them to the YAML document at
// the workload's pod template. One function, so both entry points inject the same thing.
// CONTROL path; pure, no I/O.
import type { IContainer, IVolume } from 'kubernetes-models/v1';
import type { InjectionOptions } from './injection-options.js';
import {
  CONFIG_ANNOTATION,
  INJECT_LABEL,
  INJECTED_ANNOTATION,
  resolvePodSettings,
  type AppPortGuess,
  type PodSettings,
} from './pod-overrides.js';
import { renderSidecarConfig } from './sidecar-config.js';
import { SIDECAR_CONTAINER_NAME, sidecarContainer, sidecarVolumes } from './sidecar-container.js';

/** The only operation injection needs: everything it does is an addition. */
export interface AddOperation {
  readonly op: 'add';
  /** A JSON Pointer (RFC 6901) into the pod. */
  readonly path: string;
  readonly value: unknown;
}

export type InjectionResult =
  | { readonly action: 'inject'; readonly patch: readonly AddOperation[]; readonly settings: PodSettings }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'error'; readonly problems: readonly string[] };

export interface InjectionContext {
  /** The pod's namespace when the pod itself does not say (AdmissionRequest.namespace). */
  readonly namespace?: string | undefined;
  /** Namespaces never injected besides kube-system (the injector's own, typically). */
  readonly excludeNamespaces?: readonly string[];
}

/** Value of the INJECTED_ANNOTATION marker. */
export const INJECTED_MARKER = 'true';

export function planInjection(pod: unknown, ctx: InjectionContext, options: InjectionOptions): InjectionResult {
  if (!isRecord(pod)) return { action: 'error', problems: ['expected a pod (a map with metadata and spec)'] };
  const metadata = isRecord(pod.metadata) ? pod.metadata : undefined;
  const spec = pod.spec;
  if (!isRecord(spec) || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    return { action: 'error', problems: ['expected a pod spec with at least one container in spec.containers'] };
  }
  const annotations = stringMap(metadata?.annotations);
  const labels = stringMap(metadata?.labels);
  const containers = records(spec.containers);
  const initContainers = records(spec.initContainers);

  const namespace = typeof metadata?.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : ctx.namespace;
  if (namespace === 'kube-system' || (namespace !== undefined && ctx.excludeNamespaces?.includes(namespace))) {
    return { action: 'skip', reason: `namespace ${namespace} is never injected` };
  }
  if (labels[INJECT_LABEL] === 'false') return { action: 'skip', reason: `opted out (label ${INJECT_LABEL}: "false")` };
  if (annotations[INJECTED_ANNOTATION] !== undefined) return { action: 'skip', reason: `already injected (annotation ${INJECTED_ANNOTATION})` };
  if ([...containers, ...initContainers].some((c) => c.name === SIDECAR_CONTAINER_NAME)) {
    return { action: 'skip', reason: `already injected (a container named ${SIDECAR_CONTAINER_NAME})` };
  }
  if (spec.hostNetwork === true) {
    return { action: 'skip', reason: "hostNetwork pod: its ports would be the node's ports" };
  }

  const containerPorts = new Map<number, string>();
  for (const c of [...containers, ...initContainers]) {
    for (const p of records(c.ports)) {
      if (typeof p.containerPort === 'number' && !containerPorts.has(p.containerPort)) containerPorts.set(p.containerPort, String(c.name));
    }
  }
  const resolved = resolvePodSettings({ annotations, labels, containerPorts, appPort: guessAppPort(containers) }, options);
  if (!resolved.ok) return { action: 'error', problems: resolved.problems };
  const settings = resolved.settings;

  if (settings.sidecarMode === 'container' && (spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure')) {
    return {
      action: 'skip',
      reason: `restartPolicy ${spec.restartPolicy}: a regular sidecar container would keep the pod running after the app completes (use sidecar mode native, Kubernetes >= 1.29)`,
    };
  }

  const volumes = sidecarVolumes(settings, options);
  const existingVolumes = new Set(records(spec.volumes).map((v) => v.name));
  const clashes = volumes.filter((v) => existingVolumes.has(v.name)).map((v) => `the pod already has a volume named ${JSON.stringify(v.name)}`);
  if (clashes.length > 0) return { action: 'error', problems: clashes };

  const config = renderSidecarConfig(settings, options);
  if (!config.ok) return { action: 'error', problems: config.problems };

  const patch: AddOperation[] = [
    ...annotationOps(metadata, { [INJECTED_ANNOTATION]: INJECTED_MARKER, [CONFIG_ANNOTATION]: config.text }),
    ...containerOps(spec, settings, sidecarContainer(settings, options)),
    ...listAppendOps(spec.volumes, '/spec/volumes', volumes),
  ];
  return { action: 'inject', patch, settings };
}

function annotationOps(metadata: Record<string, unknown> | undefined, add: Record<string, string>): AddOperation[] {
  if (metadata === undefined) return [{ op: 'add', path: '/metadata', value: { annotations: add } }];
  if (!isRecord(metadata.annotations)) return [{ op: 'add', path: '/metadata/annotations', value: add }];
  return Object.entries(add).map(([key, value]) => ({ op: 'add', path: `/metadata/annotations/${escapePointer(key)}`, value }));
}

function containerOps(spec: Record<string, unknown>, settings: PodSettings, container: IContainer): AddOperation[] {
  if (settings.sidecarMode === 'container') return [{ op: 'add', path: '/spec/containers/-', value: container }];
  // First init container: later init containers (and the app) may already use the mesh.
  if (!Array.isArray(spec.initContainers)) return [{ op: 'add', path: '/spec/initContainers', value: [container] }];
  return [{ op: 'add', path: '/spec/initContainers/0', value: container }];
}

function listAppendOps(list: unknown, path: string, items: readonly IVolume[]): AddOperation[] {
  if (!Array.isArray(list)) return [{ op: 'add', path, value: [...items] }];
  return items.map((value) => ({ op: 'add', path: `${path}/-`, value }));
}

/** RFC 6901: "~" → "~0", "/" → "~1". */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function records(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

/** Labels and annotations as strings (a YAML manifest may hold an unquoted number). */
function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
  }
  return out;
}

/**
 * The app's port when no `meshward.dev/app-port` annotation names it: the first TCP port of
 * the first container that declares one (UDP and SCTP ports are never the app's), unless a
 * later container also declares TCP ports while the first declares none — then nothing says
 * which is the app, and the annotation is asked for.
 */
export function guessAppPort(containers: readonly Record<string, unknown>[]): AppPortGuess {
  const tcp = containers
    .map((c) => ({ name: String(c.name), ports: records(c.ports).filter((p) => typeof p.containerPort === 'number' && (p.protocol ?? 'TCP') === 'TCP') }))
    .filter((c) => c.ports.length > 0);
  if (tcp.length === 0) return { port: undefined };
  const owner = tcp[0]!;
  if (tcp.length > 1 && owner.name !== String(containers[0]?.name)) {
    const listed = tcp.map((c) => `${c.ports.map((p) => p.containerPort).join(', ')} on container ${JSON.stringify(c.name)}`).join('; ');
    return { port: undefined, ambiguous: `several containers declare TCP ports (${listed}) and the first container none` };
  }
  return { port: owner.ports[0]!.containerPort as number };
}
