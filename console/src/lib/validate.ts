/**
 * validate-logs in the browser: the server's own validation walk (src/integrity/validate-core.ts)
 * with WebCrypto, DecompressionStream and S3 on the same port, public keys from ListPublicKeys.
 */
import { ListPublicKeysCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { ListObjectsV2Command, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { checkLogsWith, validateLogsWith, type CoreIo, type ValidateBackend, type ValidateOptions, type ValidateSummary } from '../../../src/integrity/validate-core.js';
import { gunzip, readObject } from './s3files.js';

export type { FileResult, ValidateSummary } from '../../../src/integrity/validate-core.js';

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** WebCrypto imports SubjectPublicKeyInfo, not PKCS#1: wrap the RSAPublicKey in rsaEncryption's SPKI. */
export function pkcs1ToSpki(pkcs1: Uint8Array): Uint8Array {
  const algorithm = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00, ...pkcs1];
  const body = [...algorithm, ...bitString];
  return new Uint8Array([0x30, ...derLength(body.length), ...body]);
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const isMissing = (e: unknown): boolean => e instanceof NoSuchKey || ['NoSuchKey', 'NoSuchBucket', 'NotFound'].includes((e as { name?: string }).name ?? '');

export function browserBackend(s3: S3Client, concurrency = 8): ValidateBackend {
  const get: ValidateBackend['get'] = async (bucket, key) => {
    try {
      return await readObject(s3, bucket, key);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  };
  const sha256Hex = async (data: Uint8Array): Promise<string> => hex(await crypto.subtle.digest('SHA-256', data as BufferSource));
  return {
    get,
    async list(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(out.Contents ?? []).map((o) => o.Key ?? ''));
        token = out.NextContinuationToken;
      } while (token);
      return keys;
    },
    gunzip,
    sha256Hex,
    async importKey(der) {
      return crypto.subtle.importKey('spki', pkcs1ToSpki(der) as BufferSource, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
    },
    async verify(key, data, signature) {
      return crypto.subtle.verify('RSASSA-PKCS1-v1_5', key as CryptoKey, signature as BufferSource, data as BufferSource);
    },
    checkLogs: checkLogsWith({ get, gunzip, sha256Hex }, concurrency),
  };
}

export async function validateInBrowser(ct: CloudTrailClient, s3: S3Client, o: ValidateOptions, io: Omit<CoreIo, 'backend' | 'publicKeys'>): Promise<ValidateSummary> {
  return validateLogsWith(o, {
    ...io,
    backend: browserBackend(s3),
    publicKeys: async (start, end) => {
      const keys: { fingerprint: string; der: Uint8Array }[] = [];
      let token: string | undefined;
      do {
        const out = await ct.send(new ListPublicKeysCommand({ StartTime: start, EndTime: end, NextToken: token }));
        keys.push(...(out.PublicKeyList ?? []).map((k) => ({ fingerprint: k.Fingerprint ?? '', der: k.Value ?? new Uint8Array() })));
        token = out.NextToken;
      } while (token);
      return keys;
    },
  });
}
