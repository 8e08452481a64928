/** A trail's event selectors as forms: basic (read/write, management, data resources) or advanced (field conditions). */
import { useEffect, useState } from 'react';
import { GetEventSelectorsCommand, PutEventSelectorsCommand, type AdvancedEventSelector, type EventSelector, type Trail } from '@aws-sdk/client-cloudtrail';
import { useClients } from '../lib/clients-context.js';
import { ErrorAlert } from './ErrorAlert.js';
import { errorText } from '../lib/session.js';

const FIELDS = ['eventCategory', 'eventSource', 'eventName', 'readOnly', 'resources.type', 'resources.ARN', 'eventType', 'userIdentity.arn', 'errorCode', 'sessionCredentialFromConsole'];
const OPERATORS = ['Equals', 'NotEquals', 'StartsWith', 'NotStartsWith', 'EndsWith', 'NotEndsWith'] as const;
type Op = (typeof OPERATORS)[number];
const DATA_TYPES = ['AWS::S3::Object', 'AWS::Lambda::Function', 'AWS::DynamoDB::Table'];

interface Cond {
  field: string;
  op: Op;
  values: string;
}
interface Adv {
  name: string;
  conds: Cond[];
}

const split = (s: string): string[] => s.split(',').map((v) => v.trim()).filter(Boolean);

function toForm(a: AdvancedEventSelector): Adv {
  const conds: Cond[] = [];
  for (const f of a.FieldSelectors ?? []) {
    for (const op of OPERATORS) {
      const v = f[op];
      if (v?.length) conds.push({ field: f.Field ?? '', op, values: v.join(', ') });
    }
  }
  return { name: a.Name ?? '', conds };
}

function fromForm(a: Adv): AdvancedEventSelector {
  const byField = new Map<string, Record<string, string[]>>();
  for (const c of a.conds) {
    const f = byField.get(c.field) ?? {};
    f[c.op] = [...(f[c.op] ?? []), ...split(c.values)];
    byField.set(c.field, f);
  }
  return { Name: a.name || undefined, FieldSelectors: [...byField].map(([Field, ops]) => ({ Field, ...ops })) };
}

export function SelectorsEditor({ trail, onSaved }: { trail: Trail; onSaved: () => Promise<void> }) {
  const { cloudtrail } = useClients();
  const [mode, setMode] = useState<'basic' | 'advanced'>('basic');
  const [basic, setBasic] = useState<EventSelector[]>([]);
  const [advanced, setAdvanced] = useState<Adv[]>([]);
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    cloudtrail
      .send(new GetEventSelectorsCommand({ TrailName: trail.TrailARN }))
      .then((o) => {
        if (o.AdvancedEventSelectors?.length) {
          setMode('advanced');
          setAdvanced(o.AdvancedEventSelectors.map(toForm));
        } else setBasic(o.EventSelectors ?? []);
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, [cloudtrail, trail.TrailARN]);

  const save = async (): Promise<void> => {
    setError(undefined);
    setSaved(false);
    try {
      await cloudtrail.send(
        new PutEventSelectorsCommand(mode === 'basic' ? { TrailName: trail.TrailARN, EventSelectors: basic } : { TrailName: trail.TrailARN, AdvancedEventSelectors: advanced.map(fromForm) }),
      );
      setSaved(true);
      await onSaved();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const setB = (i: number, s: Partial<EventSelector>): void => setBasic(basic.map((b, j) => (i === j ? { ...b, ...s } : b)));
  const setA = (i: number, a: Partial<Adv>): void => setAdvanced(advanced.map((b, j) => (i === j ? { ...b, ...a } : b)));

  return (
    <section className="card" aria-label={`Event selectors of ${trail.Name}`}>
      <div className="page-head">
        <h2>Event selectors of {trail.Name}</h2>
        <div className="segmented" role="radiogroup" aria-label="Selector kind">
          {(['basic', 'advanced'] as const).map((m) => (
            <label key={m} className="toggle">
              <input type="radio" name="selector-mode" checked={mode === m} onChange={() => setMode(m)} /> {m === 'basic' ? 'Basic' : 'Advanced'}
            </label>
          ))}
        </div>
      </div>
      {mode === 'basic' ? (
        <>
          {basic.map((b, i) => (
            <fieldset key={i} className="selector">
              <legend>Selector {i + 1}</legend>
              <div className="filters">
                <label>
                  Read/write events
                  <select value={b.ReadWriteType ?? 'All'} onChange={(e) => setB(i, { ReadWriteType: e.target.value as EventSelector['ReadWriteType'] })}>
                    <option>All</option>
                    <option>ReadOnly</option>
                    <option>WriteOnly</option>
                  </select>
                </label>
                <label className="toggle">
                  <input type="checkbox" checked={b.IncludeManagementEvents ?? true} onChange={(e) => setB(i, { IncludeManagementEvents: e.target.checked })} /> Management events
                </label>
                <button type="button" className="danger" onClick={() => setBasic(basic.filter((_, j) => j !== i))}>
                  Remove selector
                </button>
              </div>
              {(b.DataResources ?? []).map((d, k) => (
                <div key={k} className="filters">
                  <label>
                    Data resource type
                    <select value={d.Type} onChange={(e) => setB(i, { DataResources: b.DataResources!.map((x, n) => (n === k ? { ...x, Type: e.target.value } : x)) })}>
                      {DATA_TYPES.map((t) => (
                        <option key={t}>{t}</option>
                      ))}
                    </select>
                  </label>
                  <label className="grow">
                    Values (ARN prefixes, comma-separated)
                    <input value={(d.Values ?? []).join(', ')} onChange={(e) => setB(i, { DataResources: b.DataResources!.map((x, n) => (n === k ? { ...x, Values: split(e.target.value) } : x)) })} />
                  </label>
                  <button type="button" onClick={() => setB(i, { DataResources: b.DataResources!.filter((_, n) => n !== k) })}>
                    Remove
                  </button>
                </div>
              ))}
              <button type="button" onClick={() => setB(i, { DataResources: [...(b.DataResources ?? []), { Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] })}>
                Add data resource
              </button>
            </fieldset>
          ))}
          <button type="button" onClick={() => setBasic([...basic, { ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [] }])}>
            Add selector
          </button>
        </>
      ) : (
        <>
          {advanced.map((a, i) => (
            <fieldset key={i} className="selector">
              <legend>Advanced selector {i + 1}</legend>
              <div className="filters">
                <label className="grow">
                  Name
                  <input value={a.name} onChange={(e) => setA(i, { name: e.target.value })} />
                </label>
                <button type="button" className="danger" onClick={() => setAdvanced(advanced.filter((_, j) => j !== i))}>
                  Remove selector
                </button>
              </div>
              {a.conds.map((c, k) => (
                <div key={k} className="filters">
                  <label>
                    Field
                    <select value={c.field} onChange={(e) => setA(i, { conds: a.conds.map((x, n) => (n === k ? { ...x, field: e.target.value } : x)) })}>
                      {FIELDS.map((f) => (
                        <option key={f}>{f}</option>
                      ))}
                    </select>
                  </label>
                  <label>
                    Operator
                    <select value={c.op} onChange={(e) => setA(i, { conds: a.conds.map((x, n) => (n === k ? { ...x, op: e.target.value as Op } : x)) })}>
                      {OPERATORS.map((o) => (
                        <option key={o}>{o}</option>
                      ))}
                    </select>
                  </label>
                  <label className="grow">
                    Values (comma-separated)
                    <input value={c.values} onChange={(e) => setA(i, { conds: a.conds.map((x, n) => (n === k ? { ...x, values: e.target.value } : x)) })} />
                  </label>
                  <button type="button" onClick={() => setA(i, { conds: a.conds.filter((_, n) => n !== k) })}>
                    Remove
                  </button>
                </div>
              ))}
              <button type="button" onClick={() => setA(i, { conds: [...a.conds, { field: 'eventCategory', op: 'Equals', values: 'Management' }] })}>
                Add condition
              </button>
            </fieldset>
          ))}
          <button type="button" onClick={() => setAdvanced([...advanced, { name: '', conds: [{ field: 'eventCategory', op: 'Equals', values: 'Management' }] }])}>
            Add advanced selector
          </button>
        </>
      )}
      <div className="row">
        <button type="button" className="primary" onClick={() => void save()}>
          Save selectors
        </button>
        {saved && <span className="ok">Saved</span>}
      </div>
      <ErrorAlert error={error} />
    </section>
  );
}
