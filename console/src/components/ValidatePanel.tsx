/** Run validate-logs on a trail in the browser: progress bar, per-file verdicts, the CLI's summary lines. */
import { useState } from 'react';
import type { Trail } from '@aws-sdk/client-cloudtrail';
import { useClients } from '../lib/clients-context.js';
import { useS3 } from '../lib/more-clients.js';
import { errorText } from '../lib/session.js';
import { localInput } from '../lib/time.js';
import { validateInBrowser, type FileResult, type ValidateSummary } from '../lib/validate.js';
import { TableHead } from './Table.js';
import { ErrorAlert } from './ErrorAlert.js';
import { Progress } from './Progress.js';

export function ValidatePanel({ trail }: { trail: Trail }) {
  const { cloudtrail, session } = useClients();
  const s3 = useS3();
  const [from, setFrom] = useState(localInput(new Date(Date.now() - 86_400_000)));
  // Empty means now, as the CLI's --end-time defaults to now.
  const [to, setTo] = useState('');
  const [files, setFiles] = useState<FileResult[]>([]);
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [lines, setLines] = useState<string[]>([]);
  const [summary, setSummary] = useState<ValidateSummary>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string>();
  const [onlyInvalid, setOnlyInvalid] = useState(false);

  const run = async (): Promise<void> => {
    setFiles([]);
    setLines([]);
    setSummary(undefined);
    setError(undefined);
    setProgress(undefined);
    setRunning(true);
    const found: FileResult[] = [];
    const text: string[] = [];
    let last = 0;
    const flush = (): void => {
      setFiles([...found]);
      setLines([...text]);
    };
    try {
      const s = await validateInBrowser(
        cloudtrail,
        s3,
        { trailArn: trail.TrailARN!, start: new Date(from), end: to ? new Date(to) : new Date(), region: session.region, bucket: trail.S3BucketName!, prefix: trail.S3KeyPrefix, verbose: true },
        {
          out: (l) => text.push(l),
          err: (l) => text.push(l),
          progress: (done, total) => {
            setProgress({ done, total });
            if (performance.now() - last > 200 || done === total) {
              last = performance.now();
              flush();
            }
          },
          onFile: (r) => found.push(r),
        },
      );
      setSummary(s);
    } catch (e) {
      setError(errorText(e));
    } finally {
      flush();
      setRunning(false);
    }
  };

  const shown = onlyInvalid ? files.filter((f) => !f.valid) : files;
  return (
    <section className="card" aria-label={`Validate logs of ${trail.Name}`}>
      <h2>Validate log files of {trail.Name}</h2>
      <div className="filters">
        <label>
          Start
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          End (empty: now)
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="button" className="primary" onClick={() => void run()} disabled={running}>
          {running ? 'Validating…' : 'Validate'}
        </button>
        <label className="toggle">
          <input type="checkbox" checked={onlyInvalid} onChange={(e) => setOnlyInvalid(e.target.checked)} /> Only invalid files
        </label>
      </div>
      {progress && <Progress label="Log files checked" done={progress.done} total={progress.total} />}
      <ErrorAlert error={error} />
      {summary && (
        <p className={summary.exitCode ? 'error' : 'ok'} data-testid="validate-summary">
          {summary.digests.valid}/{summary.digests.valid + summary.digests.invalid} digest files valid · {summary.logs.valid}/{summary.logs.valid + summary.logs.invalid} log files valid
        </p>
      )}
      {shown.length > 0 && (
        <div className="table-scroll">
          <table className="grid">
            <TableHead cols={['Kind', 'File', 'Result']} />
            <tbody>
              {shown.slice(0, 5000).map((f, i) => (
                <tr key={i}>
                  <td>{f.kind}</td>
                  <td>
                    <code>{f.key}</code>
                  </td>
                  <td className={f.valid ? 'ok' : 'error-text'}>{f.valid ? 'valid' : `INVALID: ${f.reason}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {lines.length > 0 && (
        <details>
          <summary>Output as the CLI prints it</summary>
          <pre className="code small">{lines.join('\n')}</pre>
        </details>
      )}
    </section>
  );
}
