/** Browse a trail's delivered files folder by folder; open a log or digest file as JSON. */
import { useEffect, useState } from 'react';
import { useS3 } from '../lib/more-clients.js';
import { errorText } from '../lib/session.js';
import { listFolder, readJsonGz, type Listing } from '../lib/s3files.js';
import { fmtTime } from '../lib/time.js';
import { ErrorAlert } from './ErrorAlert.js';
import { JsonView } from './JsonView.js';

export function FileBrowser({ bucket, prefix: root }: { bucket: string; prefix: string }) {
  const s3 = useS3();
  const [prefix, setPrefix] = useState(root);
  const [listing, setListing] = useState<Listing>();
  const [file, setFile] = useState<{ key: string; json: unknown }>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setListing(undefined);
    setError(undefined);
    listFolder(s3, bucket, prefix).then(setListing, (e: unknown) => setError(errorText(e)));
  }, [s3, bucket, prefix]);
  const more = async (): Promise<void> => {
    if (!listing?.next) return;
    const n = await listFolder(s3, bucket, prefix, listing.next);
    setListing({ folders: [...listing.folders, ...n.folders], files: [...listing.files, ...n.files], next: n.next });
  };
  const parts = prefix.slice(root.length).split('/').filter(Boolean);
  return (
    <section className="card" aria-label="Delivered files">
      <h2>
        Delivered files in <code>s3://{bucket}</code>
      </h2>
      <nav aria-label="Folder" className="crumbs">
        <button type="button" className="link" onClick={() => setPrefix(root)}>
          {root}
        </button>
        {parts.map((p, i) => (
          <span key={i}>
            {' / '}
            <button type="button" className="link" onClick={() => setPrefix(root + parts.slice(0, i + 1).join('/') + '/')}>
              {p}
            </button>
          </span>
        ))}
      </nav>
      <ErrorAlert error={error} />
      <div className="lake-grid">
        <ul className="file-list">
          {listing?.folders.map((f) => (
            <li key={f}>
              <button type="button" className="link" onClick={() => setPrefix(f)}>
                📁 {f.slice(prefix.length)}
              </button>
            </li>
          ))}
          {listing?.files.map((f) => (
            <li key={f.key}>
              <button type="button" className="link" onClick={() => void readJsonGz(s3, bucket, f.key).then((json) => setFile({ key: f.key, json }), (e: unknown) => setError(errorText(e)))}>
                📄 {f.key.slice(prefix.length)}
              </button>{' '}
              <span className="muted small">
                {f.size.toLocaleString()} B · {fmtTime(f.modified)}
              </span>
            </li>
          ))}
          {listing && listing.folders.length + listing.files.length === 0 && <li className="muted">Nothing delivered here yet.</li>}
          {listing?.next && (
            <li>
              <button type="button" onClick={() => void more()}>
                More…
              </button>
            </li>
          )}
        </ul>
        {file && (
          <div>
            <h3 className="small">
              <code>{file.key.split('/').pop()}</code>
            </h3>
            <JsonView value={file.json} />
          </div>
        )}
      </div>
    </section>
  );
}
