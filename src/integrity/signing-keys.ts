/**
 * Per-region RSA signing keys for digest files, as CloudTrail keeps them:
 * 2048-bit, rotated on a schedule, old public keys kept so old digests stay
 * verifiable. The private key lives only in the metastore (mode 0600 in the
 * embedded shape) and never leaves the server.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';
import { InvalidTimeRangeException } from '../protocols/errors.js';

const KIND = 'signing-key';
/** Keys are the service's, not an account's. */
const GLOBAL = '';

export interface SigningKey {
  region: string;
  /** Lower-case hex MD5 of the DER PKCS#1 public key (AWS's fingerprint). */
  fingerprint: string;
  /** Base64 of the DER PKCS#1 RSAPublicKey (what ListPublicKeys returns as Value). */
  publicKeyDer: string;
  privateKeyPem: string;
  validityStart: number;
  validityEnd: number;
}

export function fingerprintOf(publicKeyDer: Buffer): string {
  return createHash('md5').update(publicKeyDer).digest('hex');
}

export class SigningKeys {
  private readonly cache = new Map<string, SigningKey>();

  constructor(
    private readonly meta: Metastore,
    /** How long a key signs before the next one takes over (ms); its public key stays valid as long again. */
    private readonly rotationMs: number,
  ) {}

  private async all(region: string): Promise<SigningKey[]> {
    return (await this.meta.listDocs<SigningKey>(KIND, GLOBAL)).filter((k) => k.region === region).sort((a, b) => a.validityStart - b.validityStart);
  }

  /** The key that signs now in `region`; made (or rotated) on demand. */
  async current(region: string, now = Date.now()): Promise<SigningKey> {
    const cached = this.cache.get(region);
    if (cached && now < cached.validityStart + this.rotationMs) return cached;
    const keys = await this.all(region);
    let key = keys.at(-1);
    if (!key || now >= key.validityStart + this.rotationMs) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
      const der = pair.publicKey.export({ type: 'pkcs1', format: 'der' });
      key = {
        region,
        fingerprint: fingerprintOf(der),
        publicKeyDer: der.toString('base64'),
        privateKeyPem: pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        validityStart: now,
        // Signs for one rotation period; verifies digests it signed for one more.
        validityEnd: now + 2 * this.rotationMs,
      };
      await this.meta.putDoc(KIND, GLOBAL, `${region}/${key.fingerprint}`, key);
    }
    this.cache.set(region, key);
    return key;
  }

  /** Public keys of `region` valid at some point in [start, end] (ListPublicKeys). */
  async publicKeys(region: string, start: number, end: number): Promise<SigningKey[]> {
    return (await this.all(region)).filter((k) => k.validityStart <= end && k.validityEnd >= start);
  }

  /**
   * ListPublicKeys: the region's keys valid in [start, end] (each defaulting to now, which gives
   * the current key). The region's first key is made on first use.
   */
  async list(region: string, start?: number, end?: number, now = Date.now()): Promise<SigningKey[]> {
    const from = start ?? now;
    const to = end ?? now;
    if (from > to) throw new InvalidTimeRangeException('Start time must be earlier than end time.');
    await this.current(region, now);
    return this.publicKeys(region, from, to);
  }
}
