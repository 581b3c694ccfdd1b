// The `alerts:` section of the sidecar config (DESIGN §10): receivers, the learning period,
// the detectors' thresholds and the delivery queue. Every key has a default: without the
// section the detectors run and `GET /alerts` lists what they find; nothing is sent until a
// receiver is configured. CONTROL path.
import * as z from 'zod';
import { duration, filePath, url, type DeepReadonly } from './fields.js';

export const ALERT_NAMES = [
  'MeshwardDenySpike',
  'MeshwardNewCaller',
  'MeshwardRateSpike',
  'MeshwardJwtFailures',
  'MeshwardShadowApi',
  'MeshwardDeprecatedApi',
  'MeshwardCertificateExpiry',
  'MeshwardLimitStoreDown',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** Labels meshward sets on every alert; `alerts.labels` may not redefine them. */
export const ALERT_LABELS = ['alertname', 'severity', 'service', 'method', 'principal'] as const;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The `alerts:` section once validated: what the alerts (alerts/) are built from. */
export type AlertsConfig = DeepReadonly<z.output<ReturnType<typeof createAlertsSchema>>>;

export function createAlertsSchema(baseDir: string) {
  // Read and checked when the sidecar starts (a bad file is exit 2, alerts/http-post.ts), not
  // here: parsing a config reads no files (the injector validates configs for other pods).
  const headersFile = filePath(baseDir)
    .optional()
    .meta({ description: 'Extra request headers (e.g. Authorization), one "Name: value" per line; never logged.' });
  const timeout = duration({ positive: true }).prefault('5s').meta({ description: 'Bound on one delivery attempt.' });
  // Credentials go in headersFile, not in the URL (which /config and logs show).
  const receiverUrl = url({ protocols: ['http:', 'https:'] });

  const alertmanager = z
    .strictObject({
    url: receiverUrl.meta({ description: 'Alertmanager base URL; alerts go to POST <url>/api/v2/alerts.' }),
    headersFile,
    timeout,
    resendEvery: duration({ positive: true })
      .prefault('1m')
      .meta({ description: 'Active alerts are sent again this often (Alertmanager resolves an alert nobody repeats).' }),
    })
    .meta({ description: 'Send alerts to Alertmanager (API v2).' });
  const webhook = z
    .strictObject({
      url: receiverUrl.meta({ description: "Receives Alertmanager's webhook payload (version 4) on firing and on resolve." }),
      headersFile,
      timeout,
    })
    .meta({ description: "Send alerts to a webhook, in Alertmanager's webhook format." });

  const factor = z.number().min(1).max(1000);
  const count = (d: number) => z.int().min(1).max(1_000_000_000).default(d);

  return z
    .strictObject({
      enabled: z.boolean().default(true).meta({ description: 'false: no detector runs (no per-call counting).' }),
      alertmanager: alertmanager.optional(),
      webhook: webhook.optional(),
      service: z
        .string()
        .min(1)
        .max(128)
        .optional()
        .meta({ description: 'The `service` label; default telemetry.serviceName (else OTEL_SERVICE_NAME, else meshward).' }),
      labels: z
        .record(z.string(), z.string().max(1024))
        .superRefine((labels, ctx) => {
          for (const name of Object.keys(labels)) {
            if (!LABEL_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got ${JSON.stringify(name)}` });
            else if ((ALERT_LABELS as readonly string[]).includes(name)) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is a label meshward sets itself` });
          }
        })
        .prefault({})
        .meta({ description: 'Extra labels on every alert (e.g. cluster, namespace).' }),
      learnFor: duration({ positive: false })
        .prefault('10m')
        .meta({ description: 'Baselines learn this long (per caller and method) before an anomaly alert fires; new callers are alerted only after it.' }),
      eventFor: duration({ positive: true })
        .prefault('1h')
        .meta({ description: 'How long event alerts (MeshwardNewCaller, MeshwardShadowApi, MeshwardDeprecatedApi) stay active.' }),
      window: duration({ positive: true }).prefault('1m').meta({ description: 'The counting window of the per-caller detectors.' }),
      evaluateEvery: duration({ positive: true })
        .prefault('10s')
        .meta({ description: 'How often the detectors run (off the request path); at most `window`.' }),
      baseline: duration({ positive: true })
        .prefault('1h')
        .meta({ description: 'Time constant of the per-caller EWMA baselines.' }),
      maxPairs: z
        .int()
        .min(10)
        .max(1_000_000)
        .default(10_000)
        .meta({ description: 'Caller × method pairs tracked; the least recently used is evicted beyond it (counted).' }),
      maxActive: z.int().min(10).max(100_000).default(1000).meta({ description: 'Active alerts kept; more are counted, not raised.' }),
      denySpike: z
        .strictObject({
          factor: factor.default(4).meta({ description: 'Denials above factor × the baseline (per window) fire.' }),
          minDenials: count(5).meta({ description: 'Fewer denials in a window never fire.' }),
          ratioJump: z.number().gt(0).max(1).default(0.5).meta({ description: 'A deny ratio this far above the baseline ratio fires.' }),
          floor: count(20).meta({ description: 'A pair without a baseline yet fires at this many denials in a window.' }),
        })
        .prefault({})
        .meta({ description: 'MeshwardDenySpike: a caller refused far more than its baseline on a method.' }),
      rateSpike: z
        .strictObject({
          factor: factor.default(4).meta({ description: 'Calls above factor × the baseline (per window) fire.' }),
          minCalls: count(60).meta({ description: 'Fewer calls in a window never fire.' }),
        })
        .prefault({})
        .meta({ description: 'MeshwardRateSpike: a caller calling a method far above its baseline.' }),
      jwtFailures: z
        .strictObject({ floor: count(10).meta({ description: 'Bad signature / unknown key / algorithm failures of one caller in a window.' }) })
        .prefault({})
        .meta({ description: 'MeshwardJwtFailures: forged-looking tokens from one caller.' }),
      certificateExpiry: z
        .strictObject({ lifetimeLeft: z.number().gt(0).lt(1).default(0.2).meta({ description: 'Fires when less than this share of the lifetime is left.' }) })
        .prefault({})
        .meta({ description: "MeshwardCertificateExpiry: this workload's certificate is not rotated in time." }),
      delivery: z
        .strictObject({
          queueSize: z.int().min(1).max(100_000).default(1000).meta({ description: 'Alerts waiting per receiver; the oldest is dropped beyond it (counted).' }),
          batch: z.int().min(1).max(1000).default(64).meta({ description: 'Alerts per request.' }),
          retries: z.int().min(0).max(100).default(5).meta({ description: 'Attempts after the first before a batch is given up (counted).' }),
          backoff: duration({ positive: true }).prefault('500ms').meta({ description: 'Wait before the first retry; doubles per retry.' }),
          maxBackoff: duration({ positive: true }).prefault('30s').meta({ description: 'Longest wait between retries.' }),
        })
        .prefault({})
        .meta({ description: "Each receiver's queue: bounded, batched, retried with exponential backoff; never on a call." }),
      disabled: z.array(z.enum(ALERT_NAMES)).prefault([]).meta({ description: 'Detectors switched off, by alertname.' }),
    })
    .meta({ description: 'Alerts and anomaly detection (docs/alerts.md): detectors per caller and method, Alertmanager and webhook delivery.' })
    .superRefine((a, ctx) => {
      if (a.evaluateEvery > a.window) ctx.addIssue({ code: 'custom', path: ['evaluateEvery'], message: `expected at most window (${a.window} ms), got ${a.evaluateEvery} ms` });
      if (a.delivery.backoff > a.delivery.maxBackoff) ctx.addIssue({ code: 'custom', path: ['delivery', 'backoff'], message: 'expected at most delivery.maxBackoff' });
    });
}
