// Reads the sidecar's audit log (JSON lines) in tests, waiting (bounded) for new records.
// Test support, not part of the sidecar.

import { readFile } from 'node:fs/promises';

export type AuditEntry = Record<string, any>;

export async function readAudit(file: string): Promise<AuditEntry[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);
}

/** The records after the first `before`, once there are at least `n` of them (or after ~2 s). */
export async function auditAfter(file: string, before: number, n: number): Promise<AuditEntry[]> {
  for (let i = 0; i < 100; i++) {
    const all = await readAudit(file);
    if (all.length >= before + n) return all.slice(before);
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await readAudit(file)).slice(before);
}
