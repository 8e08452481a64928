/** Counting event times into evenly sized, readable time buckets. */
import { bucketMs } from './time.js';

export interface Bucket {
  t: number;
  label: string;
  count: number;
  [series: string]: number | string;
}

export function bucketize(times: number[], start: number, end: number, n = 48): Bucket[] {
  const w = bucketMs(Math.max(60_000, end - start), n);
  const first = Math.floor(start / w) * w;
  const buckets: Bucket[] = [];
  for (let t = first; t <= end; t += w) buckets.push({ t, label: tickLabel(t, w), count: 0 });
  for (const t of times) {
    const i = Math.floor((t - first) / w);
    if (i >= 0 && i < buckets.length) buckets[i]!.count++;
  }
  return buckets;
}

export function tickLabel(t: number, w: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return w >= 86_400_000 ? `${d.getMonth() + 1}/${d.getDate()}` : `${d.getMonth() + 1}/${d.getDate()} ${p(d.getHours())}:${p(d.getMinutes())}`;
}


/** Server-side counts (CountEvents) as chart buckets. */
export function fromCounts(buckets: { StartTime: number; Count: number }[], bucketSeconds: number): Bucket[] {
  return buckets.map((b) => ({ t: b.StartTime * 1000, label: tickLabel(b.StartTime * 1000, bucketSeconds * 1000), count: b.Count }));
}
