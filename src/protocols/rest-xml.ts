/** S3's REST-XML wire format: XML bodies and S3's error document. */
import { XMLParser } from 'fast-xml-parser';
import type { ServiceError } from './errors.js';
import type { WireResponse } from './json11.js';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export type XmlValue = string | number | boolean | Date | undefined | XmlNode | XmlNode[];
export interface XmlNode {
  [name: string]: XmlValue | XmlValue[];
}

function render(name: string, v: XmlValue | XmlValue[]): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.map((x) => render(name, x)).join('');
  if (v instanceof Date) return `<${name}>${v.toISOString()}</${name}>`;
  if (typeof v === 'object') return `<${name}>${Object.entries(v).map(([k, x]) => render(k, x)).join('')}</${name}>`;
  return `<${name}>${escapeXml(String(v))}</${name}>`;
}

/** `<?xml …?><Root xmlns="…">…</Root>` */
export function xmlDocument(root: string, body: XmlNode, ns = 'http://s3.amazonaws.com/doc/2006-03-01/'): string {
  const inner = Object.entries(body).map(([k, v]) => render(k, v)).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${ns}">${inner}</${root}>`;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

export function parseXml(body: Buffer): Record<string, unknown> {
  return parser.parse(body.toString('utf8')) as Record<string, unknown>;
}

export function xmlError(err: ServiceError & { bucket?: string; key?: string }, requestId: string, resource?: string): WireResponse {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${render('Error', {
    Code: err.code,
    Message: err.message,
    BucketName: err.bucket,
    Key: err.key,
    Resource: resource,
    RequestId: requestId,
  })}`;
  return {
    statusCode: err.statusCode,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'x-amzn-requestid': requestId },
    body,
  };
}
