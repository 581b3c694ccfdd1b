// AdmissionReview v1 in, AdmissionReview v1 out: the webhook's decision for one request,
// as a pure function (webhook-server.ts does the HTTP). A pod CREATE gets planInjection's
// patch as a base64 JSONPatch; anything the injector cannot handle is answered by the
// configured failure policy: Fail → refused with the reason, Ignore → allowed unpatched
// with the reason as a warning (kubectl shows it). CONTROL path.
// https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response
import type { InjectionOptions } from './injection-options.js';
import { isRecord, planInjection } from './inject-pod.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionSettings {
  readonly failurePolicy: 'Fail' | 'Ignore';
  readonly excludeNamespaces: readonly string[];
  readonly injection: InjectionOptions;
}

/** What the log line says about a request. */
export type AdmissionResult = 'injected' | 'skipped' | 'not-applicable' | 'refused' | 'allowed-unpatched';

export type AdmissionOutcome =
  | {
      readonly httpStatus: 200;
      readonly review: Record<string, unknown>;
      readonly result: AdmissionResult;
      readonly detail: string;
      readonly request: { readonly uid: string; readonly namespace: string; readonly name: string; readonly operation: string };
    }
  /** Not an AdmissionReview at all: no uid to answer; the API server applies its failurePolicy. */
  | { readonly httpStatus: 400; readonly message: string };

const MAX_WARNINGS = 10;
const MAX_WARNING_LENGTH = 256;

export function reviewAdmission(body: unknown, settings: AdmissionSettings): AdmissionOutcome {
  if (!isRecord(body) || body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    return { httpStatus: 400, message: `expected an AdmissionReview of ${ADMISSION_API_VERSION}` };
  }
  const request = body.request;
  if (!isRecord(request) || typeof request.uid !== 'string' || request.uid === '' || request.uid.length > 256) {
    return { httpStatus: 400, message: 'expected an AdmissionReview with request.uid' };
  }
  const uid = request.uid;
  const object = isRecord(request.object) ? request.object : undefined;
  const metadata = object !== undefined && isRecord(object.metadata) ? object.metadata : {};
  const namespace = typeof request.namespace === 'string' ? request.namespace : '';
  const name = podName(metadata, request);
  const operation = typeof request.operation === 'string' ? request.operation : '';
  const answer = (result: AdmissionResult, detail: string, response: Record<string, unknown>): AdmissionOutcome => ({
    httpStatus: 200,
    review: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } },
    result,
    detail,
    request: { uid, namespace, name, operation },
  });
  const failure = (problems: readonly string[]): AdmissionOutcome => {
    const messages = problems.map((p) => `meshward: pod not injected: ${p}`);
    if (settings.failurePolicy === 'Ignore') {
      const warnings = messages.slice(0, MAX_WARNINGS).map((m) => (m.length > MAX_WARNING_LENGTH ? `${m.slice(0, MAX_WARNING_LENGTH - 3)}...` : m));
      return answer('allowed-unpatched', problems.join('; '), { allowed: true, warnings });
    }
    return answer('refused', problems.join('; '), {
      allowed: false,
      status: { status: 'Failure', code: 400, reason: 'BadRequest', message: messages.join('; ') },
    });
  };

  if (!isGvk(request.kind, '', 'v1', 'Pod') || !isGvr(request.resource, '', 'v1', 'pods')) {
    return failure([`the injector only handles pods (v1/Pod), got ${describeKind(request.kind)}`]);
  }
  // Only a new pod gets a sidecar; other operations and subresources (status, ephemeral
  // containers, binding) pass untouched.
  if (typeof request.subResource === 'string' && request.subResource !== '') {
    return answer('not-applicable', `subresource ${request.subResource}`, { allowed: true });
  }
  if (operation !== 'CREATE') return answer('not-applicable', `operation ${operation || '(none)'}`, { allowed: true });
  if (object === undefined) return failure(['the request carries no pod object']);

  const plan = planInjection(object, { namespace: namespace || undefined, excludeNamespaces: settings.excludeNamespaces }, settings.injection);
  switch (plan.action) {
    case 'skip':
      return answer('skipped', plan.reason, { allowed: true });
    case 'error':
      return failure(plan.problems);
    case 'inject':
      return answer('injected', `${plan.settings.sidecarMode} sidecar`, {
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(plan.patch)).toString('base64'),
      });
  }
}

function podName(metadata: Record<string, unknown>, request: Record<string, unknown>): string {
  if (typeof metadata.name === 'string' && metadata.name !== '') return metadata.name;
  if (typeof request.name === 'string' && request.name !== '') return request.name;
  // Pods of a ReplicaSet are named by the API server after admission.
  if (typeof metadata.generateName === 'string') return `${metadata.generateName}*`;
  return '';
}

function isGvk(v: unknown, group: string, version: string, kind: string): boolean {
  return isRecord(v) && (v.group ?? '') === group && v.version === version && v.kind === kind;
}

function isGvr(v: unknown, group: string, version: string, resource: string): boolean {
  return isRecord(v) && (v.group ?? '') === group && v.version === version && v.resource === resource;
}

function describeKind(v: unknown): string {
  if (!isRecord(v)) return 'no kind';
  const group = typeof v.group === 'string' && v.group !== '' ? `${v.group}/` : '';
  return `${group}${String(v.version)}/${String(v.kind)}`.slice(0, 200);
}
