/** Events over a time range as bars (recharts). */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Bucket } from '../lib/buckets.js';

export function TimeHistogram({ data, series = ['count'], height = 140, label }: { data: Bucket[]; series?: string[]; height?: number; label: string }) {
  const colors = ['var(--accent)', 'var(--danger)', 'var(--warn)'];
  return (
    <figure className="chart" aria-label={label} data-total={data.reduce((n, b) => n + b.count, 0)}>
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
