/**
 * The server computes the signature a header-signed request should carry with smithy's steps
 * (HeaderSignature), not through SignatureV4.sign; for any request both must agree, and a request
 * changed after signing must not match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { HeaderSignature } from '../src/server/sigv4.js';
import { NodeSha256 } from '../src/protocols/node-sha256.js';

const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

interface Case {
  name: string;
  service: string;
  request: () => HttpRequest;
  signed: string[];
}

const cases: Case[] = [
  {
    name: 'JSON 1.1 call',
    service: 'cloudtrail',
    signed: ['content-type', 'host', 'x-amz-date', 'x-amz-target'],
    request: () =>
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1:4577',
        path: '/',
        query: {},
        headers: { 'content-type': 'application/x-amz-json-1.1', host: '127.0.0.1:4577', 'x-amz-date': '20261130T021500Z', 'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents' },
        body: Buffer.from('{"MaxResults":50,"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"ConsoleLogin"}]}'),
      }),
  },
  {
    name: 'S3 with an escaped key, a query and a declared payload hash',
    service: 's3',
    signed: ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-meta-note'],
    request: () =>
      new HttpRequest({
        method: 'PUT',
        protocol: 'http:',
        hostname: 'localhost:4577',
        path: '/bucket/AWSLogs/111122223333/a%20b%2Bc/file%3D1.json.gz',
        query: { 'x-id': 'PutObject', tagging: '' },
        headers: { host: 'localhost:4577', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': '20261130T021500Z', 'x-amz-meta-note': '  two   spaces ', 'content-type': 'application/octet-stream' },
        body: Buffer.from('data'),
      }),
  },
  {
    name: 'a signed date header, and a header with several values',
    service: 'opentrail',
    signed: ['date', 'host', 'x-amz-date', 'x-custom'],
    request: () =>
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1:4577',
        path: '/v1/events',
        query: { a: ['2', '1'], b: 'x y' },
        headers: { date: 'Mon, 30 Nov 2026 02:15:00 GMT', host: '127.0.0.1:4577', 'x-amz-date': '20261130T021500Z', 'x-custom': 'one,two' },
        body: Buffer.from('{"events":[]}'),
      }),
  },
];

test('the server\'s expected signature is SignatureV4.sign\'s, for every kind of request', async () => {
  const signingDate = new Date(Date.UTC(2026, 10, 30, 2, 15, 0));
  for (const c of cases) {
    const signed = new Set(c.signed);
    const signer = new SignatureV4({ credentials: creds, region: 'eu-west-1', service: c.service, sha256: NodeSha256, uriEscapePath: c.service !== 's3', applyChecksum: false });
    const auth = (await signer.sign(c.request(), { signingDate, signableHeaders: signed })).headers.authorization!;
    const want = /Signature=([0-9a-f]{64})/.exec(auth)![1];
    const mine = new HeaderSignature(creds, 'eu-west-1', c.service, c.service !== 's3');
    assert.equal(await mine.expected(c.request(), signingDate, signed), want, c.name);
    // Again (the day's key is kept), and a day later (a new key).
    assert.equal(await mine.expected(c.request(), signingDate, signed), want, `${c.name}, again`);
    const nextDay = new Date(signingDate.getTime() + 86_400_000);
    const later = /Signature=([0-9a-f]{64})/.exec((await signer.sign(c.request(), { signingDate: nextDay, signableHeaders: signed })).headers.authorization!)![1];
    assert.equal(await mine.expected(c.request(), nextDay, signed), later, `${c.name}, next day`);
    // Anything changed after signing changes the signature.
    const changed = c.request();
    changed.headers.host = 'evil.example:4577';
    assert.notEqual(await mine.expected(changed, signingDate, signed), want, `${c.name}, host changed`);
    const otherRegion = new HeaderSignature(creds, 'us-east-1', c.service, c.service !== 's3');
    assert.notEqual(await otherRegion.expected(c.request(), signingDate, signed), want, `${c.name}, other region`);
  }
});
