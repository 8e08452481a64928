/** EventBridge rules: list, create with a pattern tested live against a recent event, targets, dead-letter queues. */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import {
  DeleteRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
  type Rule,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { useClients } from '../lib/clients-context.js';
import { useEventBridge } from '../lib/more-clients.js';
import { errorText } from '../lib/session.js';
import { actThenRefresh } from '../lib/act.js';
import { lookupPage, type Row } from '../lib/events.js';
import { envelopeFor, ruleCounters, type RuleCounters } from '../lib/rules.js';
import { useDark } from '../lib/dark.js';
import { fmtTime } from '../lib/time.js';
import { CodeEditor } from '../components/CodeEditor.js';
import { EmptyRow, TableHead } from '../components/Table.js';
import { ErrorAlert } from '../components/ErrorAlert.js';
import { DeadLetters } from '../components/DeadLetters.js';

export function Rules() {
  const events = useEventBridge();
  const [rules, setRules] = useState<Rule[]>([]);
  const [counters, setCounters] = useState<RuleCounters>({});
  const [selected, setSelected] = useState<string>();
  const [error, setError] = useState<string>();
  const [creating, setCreating] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const all: Rule[] = [];
      let token: string | undefined;
      do {
        const out = await events.send(new ListRulesCommand({ NextToken: token }));
        all.push(...(out.Rules ?? []));
        token = out.NextToken;
      } while (token);
      setRules(all);
      setCounters(await ruleCounters().catch(() => ({})));
    } catch (e) {
      setError(errorText(e));
    }
  }, [events]);
  useEffect(() => void refresh(), [refresh]);

  const act = actThenRefresh(setError, refresh);

  return (
    <section className="page" aria-labelledby="rules-title">
      <div className="page-head">
        <h1 id="rules-title">Rules</h1>
        <button type="button" className="primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          Create rule
        </button>
      </div>
      <ErrorAlert error={error} />
      {creating && (
        <CreateRule
          onDone={async (name) => {
            setCreating(false);
            await refresh();
            setSelected(name);
          }}
        />
      )}
      <div className="card">
        <div className="table-scroll">
          <table className="grid">
            <TableHead cols={['Name', 'State', 'Event pattern', 'Matched', 'Invocations', 'Failed', 'Dead-lettered', 'Actions']} />
            <tbody>
              {rules.map((r) => {
                const c = counters[r.Arn ?? ''];
                return (
                  <tr key={r.Arn} className={selected === r.Name ? 'selected' : undefined}>
                    <td>
                      <button type="button" className="link" onClick={() => setSelected(r.Name)}>
                        {r.Name}
                      </button>
                    </td>
                    <td>{r.State}</td>
                    <td>
                      <code className="clip">{r.EventPattern}</code>
                    </td>
                    <td>{c?.matched ?? 0}</td>
                    <td>{c?.invocations ?? 0}</td>
                    <td>{c?.failed ?? 0}</td>
                    <td>{c?.deadLettered ?? 0}</td>
                    <td>
                      <div className="row">
                      <button type="button" onClick={() => void act(() => events.send(r.State === 'ENABLED' ? new DisableRuleCommand({ Name: r.Name }) : new EnableRuleCommand({ Name: r.Name })))}>
                        {r.State === 'ENABLED' ? 'Disable' : 'Enable'}
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => window.confirm(`Delete rule ${r.Name}? Remove its targets first.`) && void act(() => events.send(new DeleteRuleCommand({ Name: r.Name })))}
                      >
                        Delete
                      </button>
                      </div>
                    </td>
                  </tr>
                );
              })}
              {rules.length === 0 && (
                <EmptyRow cols={8}>No rules on the default event bus.</EmptyRow>
              )}
            </tbody>
          </table>
        </div>
      </div>
      {selected && <Targets rule={selected} />}
      <DeadLetters />
    </section>
  );
}

function CreateRule({ onDone }: { onDone: (name: string) => Promise<void> }) {
  const events = useEventBridge();
  const { session } = useClients();
  const dark = useDark();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [pattern, setPattern] = useState('{\n  "source": ["aws.s3"],\n  "detail": {\n    "eventName": ["CreateBucket"]\n  }\n}');
  const [recent, setRecent] = useState<Row[]>([]);
  const [sample, setSample] = useState(0);
  const [test, setTest] = useState<{ ok?: boolean; error?: string }>({});
  const [error, setError] = useState<string>();

  useEffect(() => {
    lookupPage(session, { key: 'EventName', value: '', start: new Date(Date.now() - 7 * 86_400_000), end: new Date(), hideReadOnly: false })
      .then((p) => setRecent(p.rows))
      .catch((e: unknown) => setError(errorText(e)));
  }, [session]);

  // Test the pattern against the chosen event as the user types (debounced).
  useEffect(() => {
    const row = recent[sample];
    if (!row) return;
    const t = setTimeout(() => {
      events
        .send(new TestEventPatternCommand({ EventPattern: pattern, Event: JSON.stringify(envelopeFor(row)) }))
        .then((o) => setTest({ ok: o.Result }))
        .catch((e: unknown) => setTest({ error: errorText(e) }));
    }, 250);
    return () => clearTimeout(t);
  }, [pattern, sample, recent, events]);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      await events.send(new PutRuleCommand({ Name: name, Description: description || undefined, EventPattern: pattern, State: 'ENABLED' }));
      await onDone(name);
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-label="Create rule">
      <h2>New rule</h2>
      <div className="filters">
        <label className="grow">
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} pattern="[\.\-_A-Za-z0-9]{1,64}" />
        </label>
        <label className="grow">
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      <div className="lake-grid">
        <div>
          <span className="label-text" id="pattern-label">
            Event pattern
          </span>
          <CodeEditor language="json" label="Event pattern" value={pattern} onChange={setPattern} dark={dark} minHeight={200} />
        </div>
        <div>
          <label>
            Test against a recent event
            <select value={sample} onChange={(e) => setSample(Number(e.target.value))}>
              {recent.map((r, i) => (
                <option key={r.id} value={i}>
                  {fmtTime(r.time)} {r.source} {r.name}
                </option>
              ))}
            </select>
          </label>
          <p aria-live="polite" data-testid="pattern-test" className={test.error ? 'error' : test.ok ? 'ok' : 'muted'}>
            {recent.length === 0 ? 'No recent events to test against.' : test.error ? test.error : test.ok === undefined ? 'Testing…' : test.ok ? '✔ The pattern matches this event' : '✘ The pattern does not match this event'}
          </p>
          {recent[sample] && (
            <details>
              <summary>The event as the rule sees it</summary>
              <pre className="code small">{JSON.stringify(envelopeFor(recent[sample]), null, 2)}</pre>
            </details>
          )}
        </div>
      </div>
      <ErrorAlert error={error} />
      <button type="submit" className="primary">
        Create rule
      </button>
    </form>
  );
}

function Targets({ rule }: { rule: string }) {
  const events = useEventBridge();
  const [targets, setTargets] = useState<Target[]>([]);
  const [id, setId] = useState('');
  const [arn, setArn] = useState('');
  const [dlq, setDlq] = useState('');
  const [error, setError] = useState<string>();
  const refresh = useCallback(async () => {
    try {
      setTargets((await events.send(new ListTargetsByRuleCommand({ Rule: rule }))).Targets ?? []);
    } catch (e) {
      setError(errorText(e));
    }
  }, [events, rule]);
  useEffect(() => void refresh(), [refresh]);

  const add = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const out = await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: id, Arn: arn, DeadLetterConfig: dlq ? { Arn: dlq } : undefined }] }));
      if (out.FailedEntryCount) throw new Error(out.FailedEntries?.map((f) => `${f.ErrorCode}: ${f.ErrorMessage}`).join('; '));
      setId('');
      setArn('');
      setDlq('');
      await refresh();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="card" aria-label={`Targets of ${rule}`}>
      <h2>Targets of {rule}</h2>
      <div className="table-scroll">
        <table className="grid">
          <TableHead cols={['Id', 'ARN', 'Dead-letter queue', 'Retry policy', '']} />
          <tbody>
            {targets.map((t) => (
              <tr key={t.Id}>
                <td>{t.Id}</td>
                <td>
                  <code>{t.Arn}</code>
                </td>
                <td>{t.DeadLetterConfig?.Arn ? <code>{t.DeadLetterConfig.Arn}</code> : <span className="muted">none</span>}</td>
                <td>{t.RetryPolicy ? `${t.RetryPolicy.MaximumRetryAttempts ?? 185} attempts, ${t.RetryPolicy.MaximumEventAgeInSeconds ?? 86400} s` : 'default (185 attempts, 24 h)'}</td>
                <td>
                  <button type="button" className="danger" onClick={() => void events.send(new RemoveTargetsCommand({ Rule: rule, Ids: [t.Id!] })).then(refresh, (e: unknown) => setError(errorText(e)))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
            {targets.length === 0 && (
              <EmptyRow cols={5}>No targets.</EmptyRow>
            )}
          </tbody>
        </table>
      </div>
      <form className="filters" onSubmit={add} aria-label="Add target">
        <label>
          Target id
          <input required value={id} onChange={(e) => setId(e.target.value)} />
        </label>
        <label className="grow">
          Target ARN (API destination or file sink)
          <input required value={arn} placeholder="arn:opentrail:sink:us-east-1:111122223333:file/alerts" onChange={(e) => setArn(e.target.value)} />
        </label>
        <label className="grow">
          Dead-letter queue ARN (optional)
          <input value={dlq} placeholder="arn:aws:sqs:us-east-1:111122223333:rule-dlq" onChange={(e) => setDlq(e.target.value)} />
        </label>
        <button type="submit">Add target</button>
      </form>
      <ErrorAlert error={error} />
    </section>
  );
}
