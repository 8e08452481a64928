#!/usr/bin/env node
// Regenerates console/src/sample-queries.json from ../shared/conformance/lake-queries (MIT-0 sample
// queries; each keeps its source line). The JSON is committed so a clone without ../shared builds.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '..', 'shared', 'conformance', 'lake-queries');
const out = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
  const text = readFileSync(join(dir, f), 'utf8');
  const lines = text.split('\n');
  const source = (lines.find((l) => l.startsWith('-- Source:')) ?? '').replace('-- Source: ', '');
  const kind = (lines.find((l) => l.startsWith('-- Kind:')) ?? '').replace('-- Kind: ', '');
  if (/^Athena/.test(kind) || /malformed/i.test(kind)) continue;
  const sql = lines.filter((l) => !/^-- (Source|Licence|Kind):/.test(l)).join('\n').trim();
  const name = f.replace(/^samples-/, '').replace(/\.sql$/, '').replace(/^(aws-samples|awsdocs)-/, '');
  out.push({ name, source, sql });
}
writeFileSync(join(import.meta.dirname, '..', 'console', 'src', 'sample-queries.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`${out.length} sample queries`);
