/** Rule targets' dead-letter queues over SQS: depth, the oldest messages with EventBridge's attributes, delete, purge, redrive. */
import { useCallback, useEffect, useState } from 'react';
import { DeleteMessageCommand, GetQueueAttributesCommand, ListQueuesCommand, PurgeQueueCommand, ReceiveMessageCommand, StartMessageMoveTaskCommand, type Message } from '@aws-sdk/client-sqs';
import { useSqs } from '../lib/more-clients.js';
import { errorText } from '../lib/session.js';
import { actThenRefresh } from '../lib/act.js';
import { EmptyRow, TableHead } from './Table.js';
import { ErrorAlert } from './ErrorAlert.js';
import { JsonView } from './JsonView.js';

interface Queue {
  url: string;
  arn: string;
  depth: number;
  inFlight: number;
}

export function DeadLetters() {
  const sqs = useSqs();
  const [queues, setQueues] = useState<Queue[]>([]);
  const [open, setOpen] = useState<string>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();

  const refresh = useCallback(async () => {
    try {
      const urls = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
      const qs = await Promise.all(
        urls.map(async (url) => {
          const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
          return { url, arn: a.QueueArn ?? '', depth: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
        }),
      );
      setQueues(qs);
    } catch (e) {
      setError(errorText(e));
    }
  }, [sqs]);
  useEffect(() => void refresh(), [refresh]);

  /** The oldest ten messages, left visible (VisibilityTimeout 0): looking does not hide them from anyone. */
  const peek = useCallback(
    async (url: string) => {
      setOpen(url);
      try {
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
        setMessages(out.Messages ?? []);
      } catch (e) {
        setError(errorText(e));
      }
    },
    [sqs],
  );

  const run = actThenRefresh(setError, async () => {
    await refresh();
    if (open) await peek(open);
  });
  const act = async (fn: () => Promise<unknown>, done: string): Promise<void> => {
    if (await run(fn)) setNote(done);
  };

  const name = (arn: string): string => arn.split(':').pop() ?? arn;
  return (
    <section className="card" aria-label="Dead-letter queues">
      <div className="page-head">
        <h2>Dead-letter queues</h2>
        <button type="button" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        Events a target could not take after its retries, as EventBridge sends them to SQS. The same queues answer the SQS API (<code>aws sqs receive-message</code>).
      </p>
      <table className="grid">
        <TableHead cols={['Queue', 'Messages', 'Being read', 'Actions']} />
        <tbody>
          {queues.map((q) => (
            <tr key={q.url} className={open === q.url ? 'selected' : undefined}>
              <td>
                <code>{name(q.arn)}</code>
              </td>
              <td data-testid={`dlq-depth-${name(q.arn)}`}>{q.depth}</td>
              <td>{q.inFlight}</td>
              <td>
                <div className="row">
                  <button type="button" onClick={() => void peek(q.url)}>
                    View messages
                  </button>
                  <button type="button" disabled={q.depth === 0} onClick={() => void act(() => sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.arn })), `Sent ${q.depth} event(s) back to their targets`)}>
                    Redrive
                  </button>
                  <button type="button" className="danger" disabled={q.depth === 0} onClick={() => window.confirm(`Delete every message in ${name(q.arn)}?`) && void act(() => sqs.send(new PurgeQueueCommand({ QueueUrl: q.url })), 'Purged')}>
                    Purge
                  </button>
                </div>
              </td>
            </tr>
          ))}
          {queues.length === 0 && (
            <EmptyRow cols={4}>No target has a dead-letter queue.</EmptyRow>
          )}
        </tbody>
      </table>
      {note && (
        <p className="ok" aria-live="polite">
          {note}
        </p>
      )}
      <ErrorAlert error={error} />
      {open && (
        <div>
          <h3 className="small">Oldest messages in {name(queues.find((q) => q.url === open)?.arn ?? open)}</h3>
          {messages.length === 0 && <p className="muted">No messages.</p>}
          {messages.map((m) => {
            let body: unknown = m.Body;
            try {
              body = JSON.parse(m.Body ?? '');
            } catch {
              // shown as text
            }
            const at = m.MessageAttributes ?? {};
            return (
              <details key={m.MessageId} className="dlq-message">
                <summary>
                  <code>{at.ERROR_CODE?.StringValue}</code> {at.ERROR_MESSAGE?.StringValue} · {at.EXHAUSTED_RETRY_CONDITION?.StringValue} · {at.RETRY_ATTEMPTS?.StringValue} retries ·{' '}
                  {m.Attributes?.SentTimestamp ? new Date(Number(m.Attributes.SentTimestamp)).toISOString() : ''}
                </summary>
                <p className="small muted">
                  Rule <code>{at.RULE_ARN?.StringValue}</code> → target <code>{at.TARGET_ARN?.StringValue}</code>
                </p>
                <JsonView value={body} />
                <button type="button" className="danger" onClick={() => void act(() => sqs.send(new DeleteMessageCommand({ QueueUrl: open, ReceiptHandle: m.ReceiptHandle })), 'Deleted')}>
                  Delete message
                </button>
              </details>
            );
          })}
        </div>
      )}
    </section>
  );
}
