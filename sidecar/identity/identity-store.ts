// This workload's certificate, key and trust bundle over time (CONTROL path): loaded at
// startup, re-read when any of the three files changes (short-lived SVIDs rotate), checked
// (one SPIFFE ID of our trust domain, key matches, leaf chains to the bundle, still valid)
// and published to listeners — new handshakes use the new files at once; existing
// connections keep theirs. A bad or mismatched set is rejected: the old one stays.

import { X509Certificate } from 'node:crypto';
import { dirname } from 'node:path';
import { watchFolders } from '../core/folder-watch.js';
import { log } from '../core/log.js';
import { loadWorkloadIdentity, type IdentityFiles, type WorkloadIdentity } from './workload-identity.js';

export type RotationResult = 'rotated' | 'unchanged' | 'rejected';

const DEBOUNCE_MS = 200;
const EXPIRY_CHECK_MS = 60_000;
/** Warn when less than this share of the certificate's lifetime is left (or 10 minutes). */
const WARN_FRACTION = 0.2;

export class IdentityStore {
  private identity: WorkloadIdentity;
  private readonly listeners: Array<(identity: WorkloadIdentity) => void> = [];
  private readonly resultListeners: Array<(result: RotationResult) => void> = [];
  private stopWatching: (() => void) | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private warnedFor: string | undefined;
  private lastError: string | undefined;

  /** Throws (exit 1 at startup) when the files are unreadable or inconsistent. */
  constructor(private readonly files: IdentityFiles) {
    this.identity = checkedIdentity(files);
  }

  get current(): WorkloadIdentity {
    return this.identity;
  }

  /** Called with every newly published identity. */
  onRotate(listener: (identity: WorkloadIdentity) => void): void {
    this.listeners.push(listener);
  }

  /** Called after every reload attempt (metrics, tests). */
  onResult(listener: (result: RotationResult) => void): void {
    this.resultListeners.push(listener);
  }

  reload(): RotationResult {
    let result: RotationResult;
    try {
      const next = checkedIdentity(this.files);
      if (next.certPem === this.identity.certPem && next.keyPem === this.identity.keyPem && next.caPem === this.identity.caPem) {
        result = 'unchanged';
      } else {
        const previous = this.identity;
        this.identity = next;
        for (const l of this.listeners) l(next);
        log.info('certificates rotated', { spiffeId: next.spiffeId, notAfter: new Date(next.notAfter).toISOString(), previousNotAfter: new Date(previous.notAfter).toISOString() });
        result = 'rotated';
      }
      this.lastError = undefined;
      this.checkExpiry();
    } catch (err) {
      const message = (err as Error).message;
      // Files are often written one after the other: only the same error twice in a row is news.
      if (message !== this.lastError) log.error('certificate rotation rejected; keeping the current certificate', { error: message });
      this.lastError = message;
      result = 'rejected';
    }
    for (const l of this.resultListeners) l(result);
    return result;
  }

  /** Watches the folders of the three files (also sees rename-over and symlink swaps). */
  watch(): void {
    const dirs = [this.files.certFile, this.files.keyFile, this.files.caFile].map((file) => dirname(file));
    this.stopWatching?.();
    this.stopWatching = watchFolders(dirs, () => this.reload(), 'certificate', DEBOUNCE_MS);
    this.checkExpiry();
    this.expiryTimer = setInterval(() => this.checkExpiry(), EXPIRY_CHECK_MS);
    this.expiryTimer.unref();
  }

  close(): void {
    clearInterval(this.expiryTimer);
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private checkExpiry(): void {
    const { notAfter, notBefore, certPem } = this.identity;
    const left = notAfter - Date.now();
    const threshold = Math.max(10 * 60_000, (notAfter - notBefore) * WARN_FRACTION);
    if (left < threshold && this.warnedFor !== certPem) {
      this.warnedFor = certPem;
      log.warn(left <= 0 ? 'workload certificate has expired' : 'workload certificate expires soon', {
        spiffeId: this.identity.spiffeId,
        notAfter: new Date(notAfter).toISOString(),
        secondsLeft: Math.round(left / 1000),
      });
    }
  }
}

/** loadWorkloadIdentity plus the checks a rotation needs: the leaf chains to the bundle and is valid now. */
function checkedIdentity(files: IdentityFiles): WorkloadIdentity {
  const identity = loadWorkloadIdentity(files);
  const leaf = new X509Certificate(identity.certPem);
  const cas = splitPem(identity.caPem).map((pem) => new X509Certificate(pem));
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
    throw new Error(`${files.certFile}: not issued by any certificate in ${files.caFile}`);
  }
  if (identity.notAfter <= Date.now()) throw new Error(`${files.certFile}: expired at ${new Date(identity.notAfter).toISOString()}`);
  if (identity.notBefore > Date.now() + 60_000) throw new Error(`${files.certFile}: not valid before ${new Date(identity.notBefore).toISOString()}`);
  return identity;
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
