export function Progress({ label, done, total }: { label: string; done: number; total?: number }) {
  return (
    <div className="progress-wrap">
      <progress aria-label={label} value={done} max={total && total > 0 ? total : undefined} />
      <span className="muted">
        {label}: {done.toLocaleString()}
        {total ? ` / ${total.toLocaleString()}` : ''}
      </span>
    </div>
  );
}
