/**
 * Saved Lake query results in AWS's layout (shared/spec §4, §5.8):
 * `{prefix}/AWSLogs/{account}/CloudTrail-Lake/Query/{YYYY}/{MM}/{DD}/{queryId}/result_{n}.csv.gz` and a
 * `result_sign.json` beside them — the SHA-256 of each compressed file, joined by spaces and signed
 * (SHA256withRSA) with the region's digest signing key, verifiable with ListPublicKeys.
 */
import { createHash, sign } from 'node:crypto';
import { formatEventTime } from '../domain/record.js';
import type { SigningKey } from '../integrity/signing-keys.js';

export function resultFolder(prefix: string, accountId: string, queryId: string, at: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const day = `${at.getUTCFullYear()}/${p(at.getUTCMonth() + 1)}/${p(at.getUTCDate())}`;
  return `${prefix ? `${prefix}/` : ''}AWSLogs/${accountId}/CloudTrail-Lake/Query/${day}/${queryId}`;
}

export interface ResultSign {
  version: '1.0';
  region: string;
  files: { fileHashValue: string; fileName: string }[];
  hashAlgorithm: 'SHA-256';
  signatureAlgorithm: 'SHA256withRSA';
  queryCompleteTime: string;
  hashSignature: string;
  publicKeyFingerprint: string;
}

/** The sign file for result files (their compressed bytes), signed with `key`. */
export function resultSign(files: { name: string; body: Buffer }[], region: string, completedAt: Date, key: SigningKey): ResultSign {
  const hashed = files.map((f) => ({ fileHashValue: createHash('sha256').update(f.body).digest('hex'), fileName: f.name }));
  const signed = hashed.map((h) => h.fileHashValue).join(' ');
  return {
    version: '1.0',
    region,
    files: hashed,
    hashAlgorithm: 'SHA-256',
    signatureAlgorithm: 'SHA256withRSA',
    queryCompleteTime: formatEventTime(completedAt),
    hashSignature: sign('sha256', Buffer.from(signed, 'utf8'), key.privateKeyPem).toString('hex'),
    publicKeyFingerprint: key.fingerprint,
  };
}
