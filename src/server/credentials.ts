/** Root credentials of the default account: from the environment, or generated once and kept in the data folder. */
import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Accounts } from '../domain/accounts.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey } from '../domain/identity.js';
import type { Config } from '../config.js';

export interface RootCredentials {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  generated: boolean;
}

export async function bootstrapRootCredentials(config: Config, accounts: Accounts): Promise<RootCredentials> {
  const file = join(config.dataDir, 'credentials.json');
  let creds: RootCredentials;
  if (config.accessKeyId && config.secretAccessKey) {
    creds = {
      accountId: config.accountId ?? '000000000000',
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      generated: false,
    };
  } else if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Omit<RootCredentials, 'generated'>;
    creds = { ...saved, generated: false };
  } else {
    creds = {
      accountId: config.accountId ?? newAccountId(),
      accessKeyId: newAccessKeyId(),
      secretAccessKey: newSecretAccessKey(),
      generated: true,
    };
    mkdirSync(config.dataDir, { recursive: true });
    const { generated: _g, ...toSave } = creds;
    writeFileSync(file, `${JSON.stringify(toSave, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  await accounts.ensureRootKey(creds.accountId, creds.accessKeyId, creds.secretAccessKey);
  return creds;
}

export function credentialsNotice(c: RootCredentials, endpoint: string, file: string): string {
  return [
    '',
    'opentrail generated root credentials for the default account (kept in ' + file + '):',
    `  account id:        ${c.accountId}`,
    `  access key id:     ${c.accessKeyId}`,
    `  secret access key: ${c.secretAccessKey}`,
    'Use them with the AWS CLI:',
    `  export AWS_ACCESS_KEY_ID=${c.accessKeyId} AWS_SECRET_ACCESS_KEY=${c.secretAccessKey} AWS_DEFAULT_REGION=us-east-1`,
    `  aws --endpoint-url ${endpoint} cloudtrail lookup-events --max-results 5`,
    `or sign in to the web console with them: ${endpoint}/console/`,
    '',
  ].join('\n');
}
