/** The EventBridge, S3 and SQS clients, in their own module so the pages that need them load them. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { useClients } from './clients-context.js';
import { clientConfig, type Session } from './session.js';

type Entry = { events?: EventBridgeClient; s3?: S3Client; sqs?: SQSClient };
const cache = new WeakMap<Session, Entry>();

function entry(session: Session): Entry {
  let e = cache.get(session);
  if (!e) cache.set(session, (e = {}));
  return e;
}

export function useEventBridge(): EventBridgeClient {
  const { session } = useClients();
  const e = entry(session);
  return (e.events ??= new EventBridgeClient(clientConfig(session)));
}

export function useS3(): S3Client {
  const { session } = useClients();
  const e = entry(session);
  // no-store: a file read again (validate-logs after a change) must come from the server, never the HTTP cache.
  return (e.s3 ??= new S3Client({ ...clientConfig(session), forcePathStyle: true, requestHandler: { cache: 'no-store' } }));
}

/** Rule targets' dead-letter queues are read over SQS. */
export function useSqs(): SQSClient {
  const { session } = useClients();
  const e = entry(session);
  return (e.sqs ??= new SQSClient(clientConfig(session)));
}
