/**
 * Generic request validation driven by the botocore service model (shapes,
 * required members, types, min/max, enums, patterns). The model files are the
 * ones bundled with botocore, vendored under models/.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface Shape {
  type: string;
  members?: Record<string, { shape: string; locationName?: string; location?: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  min?: number;
  max?: number;
  enum?: string[];
  pattern?: string;
  exception?: boolean;
  sensitive?: boolean;
}

export interface OperationModel {
  name: string;
  input?: { shape: string };
  output?: { shape: string };
  errors?: { shape: string }[];
}

export interface ServiceModel {
  metadata: Record<string, string>;
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
}

const here = dirname(fileURLToPath(import.meta.url));
const cache = new Map<string, ServiceModel>();

/** Load a vendored model, e.g. `cloudtrail-2013-11-01`. */
export function loadModel(name: string): ServiceModel {
  const hit = cache.get(name);
  if (hit) return hit;
  // src/protocols → repo root (also works from dist/src/protocols).
  let root = join(here, '..', '..');
  if (root.endsWith('dist')) root = join(root, '..');
  const raw = readFileSync(join(root, 'models', `${name}.json.gz`));
  const model = JSON.parse(gunzipSync(raw).toString('utf8')) as ServiceModel;
  cache.set(name, model);
  return model;
}

export interface Violation {
  /** Path from the input root, e.g. `LookupAttributes.1.member.AttributeKey`. */
  path: string;
  /** The top-level input member the violation sits under. */
  member: string;
  message: string;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Validate and coerce `input` against `shapeName`. Timestamps (epoch seconds or
 * ISO strings) become Date; blobs (base64) become Buffer. Returns the coerced
 * value and the list of violations (empty when valid).
 */
export function validateInput(
  model: ServiceModel,
  shapeName: string,
  input: unknown,
): { value: Record<string, unknown>; violations: Violation[] } {
  const violations: Violation[] = [];
  const value = walk(model, shapeName, input, '', '', violations) as Record<string, unknown>;
  return { value: value ?? {}, violations };
}

function walk(
  model: ServiceModel,
  shapeName: string,
  v: unknown,
  path: string,
  top: string,
  out: Violation[],
): unknown {
  const shape = model.shapes[shapeName];
  if (!shape) return v;
  const bad = (constraint: string): void => {
    out.push({
      path,
      member: top,
      message: `Value '${describe(v)}' at '${lowerFirst(path)}' failed to satisfy constraint: ${constraint}`,
    });
  };
  if (v === null || v === undefined) return undefined;
  switch (shape.type) {
    case 'structure': {
      if (typeof v !== 'object' || Array.isArray(v)) {
        bad('Member must be a structure');
        return undefined;
      }
      const obj = v as Record<string, unknown>;
      const res: Record<string, unknown> = {};
      for (const req of shape.required ?? []) {
        if (obj[req] === undefined || obj[req] === null) {
          const p = path ? `${path}.${req}` : req;
          out.push({ path: p, member: top || req, message: `Value null at '${lowerFirst(p)}' failed to satisfy constraint: Member must not be null` });
        }
      }
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        if (!(name in obj)) continue;
        const p = path ? `${path}.${name}` : name;
        const coerced = walk(model, member.shape, obj[name], p, top || name, out);
        if (coerced !== undefined) res[name] = coerced;
      }
      return res;
    }
    case 'list': {
      if (!Array.isArray(v)) {
        bad('Member must be a list');
        return undefined;
      }
      if (shape.min !== undefined && v.length < shape.min) bad(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && v.length > shape.max) bad(`Member must have length less than or equal to ${shape.max}`);
      return v.map((item, i) => walk(model, shape.member!.shape, item, `${path}.${i + 1}.member`, top, out));
    }
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) {
        bad('Member must be a map');
        return undefined;
      }
      const res: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        res[k] = walk(model, shape.value!.shape, item, `${path}.${k}`, top, out);
      }
      return res;
    }
    case 'string': {
      if (typeof v !== 'string') {
        bad('Member must be a string');
        return undefined;
      }
      if (shape.min !== undefined && v.length < shape.min) bad(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && v.length > shape.max) bad(`Member must have length less than or equal to ${shape.max}`);
      if (shape.enum && !shape.enum.includes(v)) bad(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      if (shape.pattern) {
        let re: RegExp | undefined;
        try {
          re = new RegExp(`^(?:${shape.pattern})$`, 'u');
        } catch {
          re = undefined;
        }
        if (re && !re.test(v)) bad(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      }
      return v;
    }
    case 'integer':
    case 'long': {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        bad('Member must be an integer');
        return undefined;
      }
      if (shape.min !== undefined && v < shape.min) bad(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && v > shape.max) bad(`Member must have value less than or equal to ${shape.max}`);
      return v;
    }
    case 'double':
    case 'float': {
      if (typeof v !== 'number') {
        bad('Member must be a number');
        return undefined;
      }
      return v;
    }
    case 'boolean': {
      if (typeof v !== 'boolean') {
        bad('Member must be a boolean');
        return undefined;
      }
      return v;
    }
    case 'timestamp': {
      let d: Date | undefined;
      if (typeof v === 'number' && Number.isFinite(v)) d = new Date(v * 1000);
      else if (typeof v === 'string') {
        const n = Number(v);
        d = v.trim() !== '' && Number.isFinite(n) ? new Date(n * 1000) : new Date(v);
      }
      if (!d || Number.isNaN(d.getTime())) {
        bad('Member must be a timestamp');
        return undefined;
      }
      return d;
    }
    case 'blob': {
      if (typeof v !== 'string') {
        bad('Member must be a base64 string');
        return undefined;
      }
      return Buffer.from(v, 'base64');
    }
    default:
      return v;
  }
}

export function formatViolations(violations: Violation[]): string {
  const n = violations.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${violations.map((v) => v.message).join('; ')}`;
}

/** What CloudTrail writes for a value the model marks sensitive. */
export const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/** `value` (an input of `shapeName`) with every member the model marks sensitive replaced by HIDDEN. */
export function redactSensitive(model: ServiceModel, shapeName: string, value: unknown): unknown {
  const shape = model.shapes[shapeName];
  if (!shape || value === null || value === undefined) return value;
  if (shape.sensitive) return HIDDEN;
  if (shape.type === 'structure' && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const m = shape.members?.[k];
      out[k] = m ? redactSensitive(model, m.shape, v) : v;
    }
    return out;
  }
  if (shape.type === 'list' && Array.isArray(value) && shape.member) return value.map((v) => redactSensitive(model, shape.member!.shape, v));
  if (shape.type === 'map' && typeof value === 'object' && shape.value) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactSensitive(model, shape.value.shape, v);
    return out;
  }
  return value;
}
