/** An API error as the page shows it (announced to screen readers); nothing when there is none. */
export function ErrorAlert({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error}
    </p>
  );
}
