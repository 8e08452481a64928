/** Events over a time range as bars (recharts). */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { bucketMs } from '../lib/time.js';

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

function tickLabel(t: number, w: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return w >= 86_400_000 ? `${d.getMonth() + 1}/${d.getDate()}` : `${d.getMonth() + 1}/${d.getDate()} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function TimeHistogram({ data, series = ['count'], height = 140, label }: { data: Bucket[]; series?: string[]; height?: number; label: string }) {
  const colors = ['var(--accent)', 'var(--danger)', 'var(--warn)'];
  return (
    <figure className="chart" aria-label={label}>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 11, fill: 'var(--muted)' }} minTickGap={24} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11, fill: 'var(--muted)' }} />
          <Tooltip contentStyle={{ background: 'var(--panel)', border: '1px solid var(--border)', color: 'var(--text)' }} />
          {series.map((s, i) => (
            <Bar key={s} dataKey={s} stackId="a" fill={colors[i % colors.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
