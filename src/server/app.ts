/**
 * The opentrail server: storage, the ingest spine, services, and the HTTP
 * listener with its handler chain (health/metrics → authenticate → route →
 * serve → record → respond).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from '../config.js';
import { SqliteEventLog } from '../storage/sqlite/event-log.js';
import { lockDataFolder } from './data-lock.js';
import { SqliteMetastore } from '../storage/sqlite/metastore.js';
import type { EventLog, Metastore } from '../storage/interfaces.js';
import { Ingest } from '../pipeline/ingest.js';
import { EventHistory } from '../domain/event-history.js';
import { Accounts } from '../domain/accounts.js';
import { userIdentityOf } from '../domain/identity.js';
import { apiCallRecord } from '../domain/api-call-record.js';
import { createCloudTrailService } from '../services/cloudtrail/index.js';
import { LOOKUP_EVENTS_ENCODER } from '../services/cloudtrail/lookup-events-wire.js';
import { createS3Service } from '../services/s3/index.js';
import { INGEST_PATH, INGEST_SIGNING_NAME, createIngestService } from '../services/ingest/index.js';
import { IndexAdmission } from './index-admission.js';
import { createEventsService } from '../services/events/index.js';
import { EventRules } from '../domain/event-rules.js';
import { RulesEngine } from '../rules/engine.js';
import { TargetInvoker } from '../rules/targets.js';
import { EventDataStores } from '../domain/event-data-stores.js';
import { LakeWriter } from '../lake/lake-writer.js';
import { LakeQueries } from '../lake/queries.js';
import { Channels } from '../domain/channels.js';
import { LakeImports } from '../lake/imports.js';
import { createCloudTrailDataService } from '../services/cloudtrail-data/index.js';
import { Trails } from '../domain/trails.js';
import { TrailDelivery } from '../delivery/trail-delivery.js';
import { createObjectStore } from '../storage/object-store-factory.js';
import { SigningKeys } from '../integrity/signing-keys.js';
import { DataEventFilter } from '../pipeline/data-event-filter.js';
import { Digests } from '../integrity/digests.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { IncomingRequest, RequestContext, Service, ServiceResult } from '../services/types.js';
import { InternalFailure, ServiceError, ThrottlingException, UnrecognizedClientException, UnknownOperationException } from '../protocols/errors.js';
import { json11Error, type WireResponse } from '../protocols/json11.js';
import { parseCredential, verifySignature } from './sigv4.js';
import { Metrics } from './metrics.js';
import { LakeMirror } from '../lake/lake-mirror.js';
import { createSqsService } from '../services/sqs/index.js';
import { DeadLetterQueues } from '../domain/dead-letters.js';
import { ConsoleFiles, isConsoleRequest } from './console.js';
import { bootstrapRootCredentials, credentialsNotice, type RootCredentials } from './credentials.js';
import { newEventId } from '../domain/event-id.js';

const MAX_BODY = 20 * 1024 * 1024;

export interface App {
  readonly url: string;
  readonly port: number;
  readonly credentials: RootCredentials;
  readonly accounts: Accounts;
  readonly ingest: Ingest;
  readonly eventLog: EventLog;
  readonly metastore: Metastore;
  readonly objectStore: ObjectStore;
  readonly trails: Trails;
  readonly delivery: TrailDelivery;
  readonly rules: RulesEngine;
  readonly lake: { stores: EventDataStores; writer: LakeWriter; queries: LakeQueries };
  readonly logger: Logger;
  close(): Promise<void>;
}

function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ServiceError('RequestEntityTooLargeException', `Request body exceeds ${MAX_BODY} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function clientIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export async function startServer(config: Config, opts: { logger?: Logger } = {}): Promise<App> {
  // Asynchronous, buffered stdout: lines go out 4 KB at a time, or every 200 ms when fewer come,
  // instead of a write(2) per request on the request path (a tenth of its time under load).
  const logDestination = opts.logger ? undefined : pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 200 });
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { service: 'opentrail' } }, logDestination);
  const unlock = lockDataFolder(config.dataDir);
  let metastore: SqliteMetastore;
  let eventLog: SqliteEventLog;
  try {
    metastore = new SqliteMetastore(join(config.dataDir, 'meta.db'));
    eventLog = new SqliteEventLog(join(config.dataDir, 'events.db'), {
      pageEncoder: LOOKUP_EVENTS_ENCODER,
      encodedCacheMiB: config.lookupCacheMiB,
      readerThreads: config.lookupThreads,
      readIntoMemory: true,
      commitSync: config.commitSync,
    });
  } catch (err) {
    unlock();
    throw err;
  }
  void eventLog.readIntoMemory.then((k) =>
    'skipped' in k
      ? logger.info({ reason: k.skipped }, 'event log not read into memory for lookups')
      : logger.info({ pages: k.pages, mib: Math.round(k.bytes / 2 ** 20), ms: k.ms }, 'event log read into memory for lookups'),
  );
  if (config.commitSync === 'normal') {
    logger.warn('OPENTRAIL_COMMIT_SYNC=normal: commits of the event log are not synced to disk; an acknowledged event survives the process being killed, not the machine losing power');
  }
  const accounts = new Accounts(metastore);
  const credentials = await bootstrapRootCredentials(config, accounts);

  let tokenKeyHex = await metastore.getSetting('lookup-token-key');
  if (!tokenKeyHex) {
    tokenKeyHex = randomBytes(32).toString('hex');
    await metastore.setSetting('lookup-token-key', tokenKeyHex);
  }
  const metrics = new Metrics({ lookupEntries: () => eventLog.pageEntries });
  const ingest = new Ingest(eventLog, { maxPending: config.maxPendingEvents });
  const indexAdmission = new IndexAdmission(() => eventLog.indexLag(), config.maxIndexLag, (refusing, lag) =>
    refusing
      ? logger.warn({ indexLag: lag, maxIndexLag: config.maxIndexLag }, 'the LookupEvents index is falling behind the log: the ingest API answers 429 until it gains again')
      : logger.info({ indexLag: lag }, 'the LookupEvents index is gaining on the log again: the ingest API takes events again'),
  );
  ingest.onCommit((n) => metrics.eventsRecorded.inc(n));
  // Random idempotency ids: counted, and the log says so once an hour per account.
  const randomIdsToldAt = new Map<string, number>();
  const onRandomIds = (accountId: string, count: number): void => {
    metrics.ingestRandomIds.inc(count);
    const now = Date.now();
    if (now - (randomIdsToldAt.get(accountId) ?? -Infinity) < 3600_000) return;
    randomIdsToldAt.set(accountId, now);
    logger.warn({ accountId, count }, 'the ingest API is sent random UUIDs (version 4) as idempotency ids: each costs the event log a page write, and they halve the rate it takes events in; send time-ordered ids (UUID v7 or ULID), as opentrail/client does');
  };
  eventLog.onCommitTime((seconds) => metrics.logCommit.observe(seconds));
  const history = new EventHistory(eventLog, { retentionDays: config.retentionDays, tokenKey: Buffer.from(tokenKeyHex, 'hex') });
  const onUnexpectedError = (err: unknown, operation: string): void => {
    logger.error({ err, operation }, 'unexpected error in operation');
  };
  const objectStore = createObjectStore(config, credentials.accountId);
  const trails = new Trails(metastore, objectStore, eventLog);
  const dataEvents = new DataEventFilter(trails);
  const signingKeys = new SigningKeys(metastore, config.keyRotationDays * 86_400_000);
  const digests = new Digests(metastore, objectStore, signingKeys, config.digestIntervalSeconds * 1000);
  const delivery = new TrailDelivery(eventLog, trails, objectStore, {
    digests,
    intervalMs: config.deliveryIntervalSeconds * 1000,
    maxRecordsPerFile: config.maxRecordsPerFile,
    logger,
  });
  const eventRules = new EventRules(metastore);
  const rules = new RulesEngine(eventLog, metastore, eventRules, new TargetInvoker(eventRules, config.sinkDir), {
    logger,
    retryBaseMs: config.rulesRetryBaseMs,
    counters: {
      matched: (rule) => metrics.ruleMatched.inc({ rule }),
      invoked: (rule) => metrics.ruleInvocations.inc({ rule }),
      failed: (rule) => metrics.ruleFailed.inc({ rule }),
      throttled: (rule) => metrics.ruleThrottled.inc({ rule }),
      deadLettered: (rule) => metrics.ruleDeadLettered.inc({ rule }),
    },
  });
  ingest.onCommit(() => rules.wake());
  const eventDataStores = new EventDataStores(metastore);
  const lakeRoot = join(config.dataDir, 'lake');
  const lakeMirror = config.lakeBucket ? new LakeMirror(objectStore, config.lakeBucket, lakeRoot, { logger, intervalMs: config.lakeIntervalMs * 10 }) : undefined;
  const lakeQueries = new LakeQueries(metastore, eventDataStores, lakeRoot, { logger, objectStore, signingKeys, timeoutMs: config.lakeQueryTimeoutSeconds * 1000 });
  const lakeWriter = new LakeWriter(eventLog, eventDataStores, lakeRoot, {
    intervalMs: config.lakeIntervalMs,
    batchEvents: config.lakeBatchEvents,
    logger,
    mirror: lakeMirror,
    queriesRunning: () => lakeQueries.busy(),
  });
  const channels = new Channels(metastore, eventDataStores);
  const lakeImports = new LakeImports(metastore, eventDataStores, objectStore, lakeWriter, { logger });
  const services = new Map<string, Service>();
  for (const s of [
    createCloudTrailService({ history, trails, signingKeys, lake: { stores: eventDataStores, queries: lakeQueries, writer: lakeWriter, channels, imports: lakeImports }, onUnexpectedError }),
    createCloudTrailDataService({ ingest, channels, onUnexpectedError }),
    createS3Service({ store: objectStore, onUnexpectedError }),
    createIngestService({ ingest, history, onUnexpectedError, onRandomIds }),
    createEventsService({ rules: eventRules, onUnexpectedError }),
    createSqsService({ queues: new DeadLetterQueues(metastore, eventRules), onUnexpectedError }),
  ]) {
    services.set(s.signingName, s);
  }

  const send = (res: ServerResponse, w: WireResponse): void => {
    // One body or its parts (a LookupEvents answer: the page as the reader thread sent it),
    // measured in bytes and written one after another in one go; no part is joined to another.
    const parts = typeof w.body === 'string' || Buffer.isBuffer(w.body) ? [w.body] : w.body;
    let length = 0;
    for (const p of parts) length += typeof p === 'string' ? Buffer.byteLength(p) : p.byteLength;
    res.writeHead(w.statusCode, { ...w.headers, 'content-length': w.headers['content-length'] ?? length });
    // 'finish' comes once the socket has taken the last byte (its write completed); a connection
    // that goes first never finishes, and the body's buffers are then left to the collector.
    if (w.sent) res.once('finish', w.sent);
    res.cork();
    for (const p of parts) res.write(p);
    res.end();
    res.uncork();
  };

  let inFlight = 0;
  const consoleFiles = new ConsoleFiles();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const receivedAt = new Date();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/health') {
      const body = JSON.stringify({ status: 'ok', version: '0.1.0', uptimeSeconds: Math.round(process.uptime()), ingestBacklog: ingest.backlog, indexLag: await eventLog.indexLag(), ingestRefusedForIndex: indexAdmission.refusing, commitSync: config.commitSync });
      send(res, { statusCode: 200, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId }, body });
      return;
    }
    if (isConsoleRequest(req, url.pathname, url.search)) {
      send(res, await consoleFiles.respond(req, url.pathname, requestId));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      metrics.ingestBacklog.set(ingest.backlog);
      metrics.historyIndexLag.set(await eventLog.indexLag());
      metrics.ingestRefusedForIndex.set(indexAdmission.refusing ? 1 : 0);
      const body = await metrics.registry.metrics();
      send(res, { statusCode: 200, headers: { 'content-type': metrics.registry.contentType, 'x-amzn-requestid': requestId }, body });
      return;
    }
    let serviceName = 'unknown';
    let operation = 'unknown';
    let wire: WireResponse;
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const incoming: IncomingRequest = {
      method: req.method ?? 'GET',
      path: rawPath,
      query: parseQuery(url.search),
      headers: req.headers,
      body: Buffer.alloc(0),
    };
    // Until the signature names the service, guess from the request's shape which error format to speak.
    let errorService: Service | undefined = req.headers['x-amz-target'] ? undefined : services.get(url.pathname.startsWith('/v1/') ? INGEST_SIGNING_NAME : url.pathname === '/PutAuditEvents' ? 'cloudtrail-data' : 's3');
    try {
      incoming.body = await readBody(req);
      const cred = parseCredential(incoming);
      serviceName = cred.service;
      errorService = services.get(cred.service);
      const who = await accounts.resolve(cred.accessKeyId);
      if (!who) throw new UnrecognizedClientException('The security token included in the request is invalid.');
      await verifySignature(incoming, cred, who.key.secretAccessKey, receivedAt);
      const service = services.get(cred.service);
      if (!service) throw new UnknownOperationException(`No service named ${cred.service} is served here`);
      const tls = (req.socket as TLSSocket).encrypted ? (req.socket as TLSSocket) : undefined;
      const ua = req.headers['user-agent'];
      const ctx: RequestContext = {
        requestId,
        recordEventId: newEventId(),
        accountId: who.principal.accountId,
        region: cred.region,
        principal: who.principal,
        accessKeyId: cred.accessKeyId,
        userIdentity: userIdentityOf(who.principal, cred.accessKeyId),
        sourceIPAddress: clientIp(req),
        userAgent: Array.isArray(ua) ? ua.join(' ') : ua,
        tlsDetails: tls
          ? { tlsVersion: tls.getProtocol() ?? undefined, cipherSuite: tls.getCipher()?.standardName, clientProvidedHostHeader: req.headers.host }
          : undefined,
        receivedAt,
        origin: req.headers.host ? `${tls ? 'https' : 'http'}://${req.headers.host}` : undefined,
      };
      const result: ServiceResult = await service.handle(incoming, ctx);
      operation = result.operation;
      const answer = result.response;
      if (result.audit) {
        const a = result.audit;
        const record = apiCallRecord({
          accountId: ctx.accountId,
          region: ctx.region,
          userIdentity: ctx.userIdentity,
          sourceIPAddress: ctx.sourceIPAddress,
          userAgent: ctx.userAgent,
          requestId,
          eventId: ctx.recordEventId,
          time: new Date(),
          tlsDetails: ctx.tlsDetails,
          ...a,
        });
        try {
          // Fail closed: the response goes out only once its record is committed.
          // (Data events no logging trail selects are not recorded, as AWS.)
          if (await dataEvents.wanted(record)) await ingest.record([record]);
        } catch (err) {
          if (err instanceof ThrottlingException) throw err;
          logger.error({ err, requestId }, 'could not commit the audit record; failing the call');
          throw new InternalFailure('The call could not be recorded in the audit log, so it was not completed.');
        }
      }
      wire = await answer;
    } catch (err) {
      const e = err instanceof ServiceError ? err : new InternalFailure('The request processing has failed because of an unknown error.');
      if (!(err instanceof ServiceError)) logger.error({ err, requestId }, 'unhandled error');
      wire = errorService?.encodeError ? errorService.encodeError(e, requestId, incoming) : json11Error(e, requestId);
    }
    send(res, wire);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.requests.inc({ service: serviceName, operation, status: String(wire.statusCode) });
    metrics.latency.observe({ service: serviceName, operation }, seconds);
    logger.info({ requestId, service: serviceName, operation, status: wire.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request');
  };

  // Admission for the ingest API: past this many requests (or bytes of bodies) being read, parsed
  // and committed at once, callers get 429 at once instead of queueing in memory without bound.
  let ingestRequests = 0;
  let ingestBytes = 0;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'POST' && (req.url ?? '').split('?')[0] === INGEST_PATH) {
      const bytes = Number(req.headers['content-length']) || 1 << 20;
      const busy = ingestRequests >= config.maxIngestRequests || ingestBytes + bytes > config.maxIngestBytes;
      if (busy || indexAdmission.refusing) {
        req.resume(); // read and discard the body, so the connection stays usable
        const err = new ThrottlingException(
          busy
            ? `Rate exceeded: ${ingestRequests} ingest requests are already being recorded; retry with backoff`
            : `Rate exceeded: the LookupEvents history index is ${indexAdmission.behind} events behind the log and falling further behind; retry with backoff`,
        );
        send(res, services.get(INGEST_SIGNING_NAME)!.encodeError!(err, randomUUID(), { method: 'POST', path: INGEST_PATH, query: {}, headers: req.headers, body: Buffer.alloc(0) }));
        metrics.requests.inc({ service: INGEST_SIGNING_NAME, operation: 'PutEvents', status: '429' });
        return;
      }
      ingestRequests++;
      ingestBytes += bytes;
      res.once('close', () => {
        ingestRequests--;
        ingestBytes -= bytes;
      });
    }
    inFlight++;
    handle(req, res)
      .catch((err) => {
        logger.error({ err }, 'request failed');
        if (!res.headersSent) send(res, json11Error(new InternalFailure('Internal failure'), randomUUID()));
      })
      .finally(() => {
        inFlight--;
      });
  };

  const server: Server = config.tlsCert && config.tlsKey
    ? (createHttpsServer({ cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }, listener) as unknown as Server)
    : createHttpServer(listener);
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = config.tlsCert ? 'https' : 'http';
  const url = `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  if (credentials.generated && config.printCredentials) {
    process.stdout.write(credentialsNotice(credentials, url, join(config.dataDir, 'credentials.json')));
  }

  // Event history retention: purge what is older than the window, now and hourly.
  const purge = async (): Promise<void> => {
    try {
      const n = await eventLog.purge(Date.now() - history.retentionMs);
      if (n > 0) logger.info({ purged: n }, 'purged events older than the retention window');
    } catch (err) {
      logger.error({ err }, 'purge failed');
    }
  };
  void purge();
  const purgeTimer = setInterval(() => void purge(), 3600_000);
  purgeTimer.unref();

  delivery.start();
  indexAdmission.start();
  await rules.start();
  await lakeQueries.recover();
  lakeWriter.start();
  const lakeExpiry = setInterval(() => void lakeQueries.expire().catch((err: unknown) => logger.error({ err }, 'lake: query expiry failed')), 3600_000);
  lakeExpiry.unref();
  logger.info({ url, console: `${url}/console/`, dataDir: config.dataDir, accountId: credentials.accountId }, 'opentrail listening');
  logDestination?.flush(); // the start is told at once, not with the next 4 KB of lines
  const indexLag = await eventLog.indexLag();
  if (indexLag > 0) {
    // Only a long backlog is left at open (a data folder whose index is being rebuilt, say).
    logger.info({ indexLag }, 'the LookupEvents index is behind the log and is being built in the background; lookups read the rest from the log meanwhile (GET /health shows indexLag)');
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(purgeTimer);
      indexAdmission.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
      await ingest.close();
      await delivery.stop();
      await rules.stop();
      clearInterval(lakeExpiry);
      await lakeQueries.close();
      await lakeWriter.stop();
      await objectStore.close();
      await eventLog.close();
      await metastore.close();
      unlock();
      logger.info('opentrail stopped');
      logDestination?.flushSync();
    })();
    return closing;
  };

  return { url, port, credentials, accounts, ingest, eventLog, metastore, objectStore, trails, delivery, rules, lake: { stores: eventDataStores, writer: lakeWriter, queries: lakeQueries }, logger, close };
}
