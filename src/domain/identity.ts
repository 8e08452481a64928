/** Accounts, principals and access keys, in IAM's terms. */
import { randomBytes } from 'node:crypto';
import type { UserIdentity } from './record.js';

export interface Account {
  accountId: string;
  name: string;
  createdAt: Date;
}

export type PrincipalType = 'Root' | 'IAMUser';

export interface Principal {
  accountId: string;
  type: PrincipalType;
  /** IAM user name; `root` for the account's root principal. */
  userName: string;
  /** Unique id: the account id for Root, `AIDA…` for IAM users. */
  principalId: string;
  createdAt: Date;
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  userName: string;
  status: 'Active' | 'Inactive';
  createdAt: Date;
}

export function principalArn(p: Pick<Principal, 'accountId' | 'type' | 'userName'>): string {
  return p.type === 'Root' ? `arn:aws:iam::${p.accountId}:root` : `arn:aws:iam::${p.accountId}:user/${p.userName}`;
}

export function userIdentityOf(p: Principal, accessKeyId: string): UserIdentity {
  if (p.type === 'Root') {
    return { type: 'Root', principalId: p.accountId, arn: principalArn(p), accountId: p.accountId, accessKeyId };
  }
  return {
    type: 'IAMUser',
    principalId: p.principalId,
    arn: principalArn(p),
    accountId: p.accountId,
    accessKeyId,
    userName: p.userName,
  };
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function idChars(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += B32[b % 32];
  return s;
}

export function newAccessKeyId(): string {
  return `AKIA${idChars(16)}`;
}
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/[+/]/g, 'A').slice(0, 40);
}
export function newUserId(): string {
  return `AIDA${idChars(17)}`;
}
export function newAccountId(): string {
  let s = String(1 + Math.floor(Math.random() * 9));
  const bytes = randomBytes(11);
  for (const b of bytes) s += String(b % 10);
  return s;
}

export const ACCOUNT_ID_RE = /^\d{12}$/;
export const USER_NAME_RE = /^[\w+=,.@-]{1,64}$/;
