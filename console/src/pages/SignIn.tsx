import { useState, type FormEvent } from 'react';
import { DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { ErrorAlert } from '../components/ErrorAlert.js';
import { clientsFor, errorText, type Session } from '../lib/session.js';

/** Sign in with an access key pair: checked by one signed DescribeTrails call, kept in this tab only. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [accessKeyId, setKey] = useState('');
  const [secretAccessKey, setSecret] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const s = { accessKeyId: accessKeyId.trim(), secretAccessKey: secretAccessKey.trim(), region: region.trim() };
    try {
      await clientsFor(s).cloudtrail.send(new DescribeTrailsCommand({}));
      onSignedIn(s);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="signin card" onSubmit={submit} aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to opentrail</h1>
      <p className="muted">
        Use an access key pair (the one <code>opentrail serve</code> printed on first start, or one made with <code>opentrail admin</code>). It stays in this browser tab only and signs
        every call with SigV4, exactly like the AWS CLI.
      </p>
      <label>
        Access key ID
        <input name="accessKeyId" autoComplete="username" required value={accessKeyId} onChange={(e) => setKey(e.target.value)} />
      </label>
      <label>
        Secret access key
        <input name="secretAccessKey" type="password" autoComplete="current-password" required value={secretAccessKey} onChange={(e) => setSecret(e.target.value)} />
      </label>
      <label>
        Region
        <input name="region" required value={region} onChange={(e) => setRegion(e.target.value)} />
      </label>
      <ErrorAlert error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
