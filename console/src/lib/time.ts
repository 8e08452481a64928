/** Time ranges as the AWS console offers them: relative presets or an absolute span. */

export const RELATIVE: { id: string; label: string; ms: number }[] = [
  { id: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { id: '1h', label: 'Last hour', ms: 3600_000 },
  { id: '1d', label: 'Last day', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '90d', label: 'Last 90 days', ms: 90 * 86_400_000 },
];

export interface TimeRange {
  kind: 'relative' | 'absolute';
  relative: string;
  /** datetime-local values (the browser's time zone). */
  from: string;
  to: string;
}

export function resolveRange(r: TimeRange, now = Date.now()): { start: Date; end: Date } {
  if (r.kind === 'relative') {
    const ms = RELATIVE.find((p) => p.id === r.relative)?.ms ?? 86_400_000;
    return { start: new Date(now - ms), end: new Date(now) };
  }
  const start = r.from ? new Date(r.from) : new Date(now - 86_400_000);
  const end = r.to ? new Date(r.to) : new Date(now);
  return { start, end };
}

export function localInput(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtTime(d: Date | undefined): string {
  if (!d) return '';
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A bucket width that gives about `n` bars over the span, rounded to a readable unit. */
export function bucketMs(spanMs: number, n = 48): number {
  const steps = [60_000, 5 * 60_000, 15 * 60_000, 3600_000, 3 * 3600_000, 6 * 3600_000, 86_400_000, 7 * 86_400_000];
  for (const s of steps) if (spanMs / s <= n) return s;
  return steps.at(-1)!;
}
