/**
 * CloudTrail Lake's table of CloudTrail events (column names lower-case, as
 * Lake's schema has them; identifiers are case-insensitive in queries), and
 * how a record becomes a row. Nested JSON under the map columns is kept as
 * JSON text, as Lake keeps it, so `json_extract_scalar(element_at(
 * requestParameters, 'x'), '$.y')` works as in AWS's samples.
 */
import type { CloudTrailRecord } from '../domain/record.js';

const S = 'VARCHAR';
const MAP = 'MAP(VARCHAR, VARCHAR)';

/** Column → DuckDB type, in Lake's order. */
export const LAKE_COLUMNS: [string, string][] = [
  ['eventversion', S],
  [
    'useridentity',
    `STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, accesskeyid VARCHAR, username VARCHAR,
      sessioncontext STRUCT(attributes STRUCT(creationdate TIMESTAMP, mfaauthenticated VARCHAR),
        sessionissuer STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, username VARCHAR),
        webidfederationdata STRUCT(federatedprovider VARCHAR, attributes MAP(VARCHAR, VARCHAR)),
        sourceidentity VARCHAR, ec2roledelivery VARCHAR, ec2issuedinvpc VARCHAR),
      invokedby VARCHAR, identityprovider VARCHAR)`,
  ],
  ['eventtime', 'TIMESTAMP'],
  ['eventsource', S],
  ['eventname', S],
  ['awsregion', S],
  ['sourceipaddress', S],
  ['useragent', S],
  ['errorcode', S],
  ['errormessage', S],
  ['requestparameters', MAP],
  ['responseelements', MAP],
  ['additionaleventdata', MAP],
  ['requestid', S],
  ['eventid', S],
  ['readonly', 'BOOLEAN'],
  ['resources', 'STRUCT(accountid VARCHAR, type VARCHAR, arn VARCHAR, arnprefix VARCHAR)[]'],
  ['eventtype', S],
  ['apiversion', S],
  ['managementevent', 'BOOLEAN'],
  ['recipientaccountid', S],
  ['sharedeventid', S],
  ['annotation', S],
  ['vpcendpointid', S],
  ['vpcendpointaccountid', S],
  ['serviceeventdetails', MAP],
  ['addendum', MAP],
  ['edgedevicedetails', MAP],
  ['insightdetails', MAP],
  ['eventcategory', S],
  ['tlsdetails', 'STRUCT(tlsversion VARCHAR, ciphersuite VARCHAR, clientprovidedhostheader VARCHAR)'],
  ['sessioncredentialfromconsole', S],
  ['eventjson', S],
  ['eventjsonchecksum', S],
];

type Obj = Record<string, unknown>;

/** A JSON object as map<string,string>: strings as they are, anything else as its JSON text. */
function asMap(v: unknown): Record<string, string> | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Obj)) {
    if (x === null || x === undefined) continue;
    out[k] = typeof x === 'string' ? x : JSON.stringify(x);
  }
  return out;
}

const str = (v: unknown): string | null => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));

/** Keys lower-cased, recursively (struct fields in Lake's schema are lower-case). */
function lowerKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(lowerKeys);
  if (v && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v as Obj)) out[k.toLowerCase()] = lowerKeys(x);
    return out;
  }
  return v;
}

function identity(u: unknown): unknown {
  if (!u || typeof u !== 'object') return null;
  const l = lowerKeys(u) as Obj;
  const sc = l.sessioncontext as Obj | undefined;
  const attrs = sc?.attributes as Obj | undefined;
  const web = sc?.webidfederationdata as Obj | undefined;
  return {
    type: str(l.type),
    principalid: str(l.principalid),
    arn: str(l.arn),
    accountid: str(l.accountid),
    accesskeyid: str(l.accesskeyid),
    username: str(l.username),
    sessioncontext: sc
      ? {
          attributes: attrs ? { creationdate: lakeTime(attrs.creationdate), mfaauthenticated: str(attrs.mfaauthenticated) } : null,
          sessionissuer: sc.sessionissuer && typeof sc.sessionissuer === 'object'
            ? (({ type, principalid, arn, accountid, username }: Obj) => ({ type: str(type), principalid: str(principalid), arn: str(arn), accountid: str(accountid), username: str(username) }))(sc.sessionissuer as Obj)
            : null,
          webidfederationdata: web ? { federatedprovider: str(web.federatedprovider), attributes: asMap(web.attributes) } : null,
          sourceidentity: str(sc.sourceidentity),
          ec2roledelivery: str(sc.ec2roledelivery),
          ec2issuedinvpc: str(sc.ec2issuedinvpc),
        }
      : null,
    invokedby: str(l.invokedby),
    identityprovider: str(l.identityprovider),
  };
}

/** An ISO time as a TIMESTAMP DuckDB reads from JSON (UTC, `2026-11-29 10:00:00.123`), or null when it is not a time. */
export function lakeTime(t: unknown): string | null {
  if (typeof t !== 'string') return null;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return null;
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** One record as one Lake row (an object read_json turns into the columns above). */
export function lakeRow(r: CloudTrailRecord & Obj, json: string): Obj {
  const res = Array.isArray(r.resources)
    ? r.resources.map((x) => {
        const o = lowerKeys(x) as Obj;
        return { accountid: str(o.accountid), type: str(o.type), arn: str(o.arn), arnprefix: str(o.arnprefix) };
      })
    : null;
  const tls = r.tlsDetails ? (lowerKeys(r.tlsDetails) as Obj) : undefined;
  return {
    eventversion: str(r.eventVersion),
    useridentity: identity(r.userIdentity),
    eventtime: lakeTime(r.eventTime),
    eventsource: str(r.eventSource),
    eventname: str(r.eventName),
    awsregion: str(r.awsRegion),
    sourceipaddress: str(r.sourceIPAddress),
    useragent: str(r.userAgent),
    errorcode: str(r.errorCode),
    errormessage: str(r.errorMessage),
    requestparameters: asMap(r.requestParameters),
    responseelements: asMap(r.responseElements),
    additionaleventdata: asMap(r.additionalEventData),
    requestid: str(r.requestID),
    eventid: str(r.eventID),
    readonly: typeof r.readOnly === 'boolean' ? r.readOnly : r.readOnly === 'true' ? true : r.readOnly === 'false' ? false : null,
    resources: res,
    eventtype: str(r.eventType),
    apiversion: str(r.apiVersion),
    managementevent: typeof r.managementEvent === 'boolean' ? r.managementEvent : null,
    recipientaccountid: str(r.recipientAccountId),
    sharedeventid: str(r.sharedEventID),
    annotation: str(r.annotation),
    vpcendpointid: str(r.vpcEndpointId),
    vpcendpointaccountid: str(r.vpcEndpointAccountId),
    serviceeventdetails: asMap(r.serviceEventDetails),
    addendum: asMap(r.addendum),
    edgedevicedetails: asMap(r.edgeDeviceDetails),
    insightdetails: asMap(r.insightDetails),
    eventcategory: str(r.eventCategory ?? 'Management'),
    tlsdetails: tls ? { tlsversion: str(tls.tlsversion), ciphersuite: str(tls.ciphersuite), clientprovidedhostheader: str(tls.clientprovidedhostheader) } : null,
    sessioncredentialfromconsole: str(r.sessionCredentialFromConsole),
    eventjson: json,
    eventjsonchecksum: null,
  };
}

/** The columns CloudTrail's envelope gives the tables whose event is `eventdata` (integration and Config item stores). */
const ENVELOPE_COLUMNS: [string, string][] = [
  ['eventversion', S],
  ['eventcategory', S],
  ['eventtype', S],
  ['eventid', S],
  ['eventtime', 'TIMESTAMP'],
  ['awsregion', S],
  ['recipientaccountid', S],
  ['addendum', 'STRUCT(reason VARCHAR, updatedfields VARCHAR, originaluid VARCHAR, originaleventid VARCHAR)'],
];

/** The envelope of a record whose event is `eventData`, as the first columns of its row. */
function envelopeRow(r: CloudTrailRecord & Obj): Obj {
  const add = r.addendum as Obj | undefined;
  return {
    eventversion: str(r.eventVersion),
    eventcategory: str(r.eventCategory),
    eventtype: str(r.eventType),
    eventid: str(r.eventID),
    eventtime: lakeTime(r.eventTime),
    awsregion: str(r.awsRegion),
    recipientaccountid: str(r.recipientAccountId),
    addendum: add ? { reason: str(add.reason), updatedfields: str(add.updatedFields), originaluid: str(add.originalUID), originaleventid: str(add.originalEventID) } : null,
  };
}

/** The table of integration stores (eventCategory ActivityAuditLog: events sent through channels with PutAuditEvents). */
export const INTEGRATION_COLUMNS: [string, string][] = [
  ...ENVELOPE_COLUMNS,
  ['metadata', 'STRUCT(ingestiontime TIMESTAMP, channelarn VARCHAR)'],
  [
    'eventdata',
    `STRUCT(version VARCHAR, useridentity STRUCT(type VARCHAR, principalid VARCHAR, details ${MAP}), useragent VARCHAR, eventsource VARCHAR,
      eventname VARCHAR, eventtime VARCHAR, uid VARCHAR, requestparameters ${MAP}, responseelements ${MAP}, errorcode VARCHAR, errormessage VARCHAR,
      sourceipaddress VARCHAR, recipientaccountid VARCHAR, additionaleventdata ${MAP})`,
  ],
  ['eventjson', S],
];

/**
 * The table of AWS Config item stores (eventCategory ConfigurationItem, eventType
 * AwsConfigurationItem): the configuration item is `eventdata`, with the field names of
 * Config's ConfigurationItem (accountId, arn, …); JSON objects in it (configuration,
 * supplementaryConfiguration, tags) are map<string,string> with nested JSON as text, as in
 * CloudTrail's map columns, and `eventjson` is the whole record.
 */
export const CONFIG_COLUMNS: [string, string][] = [
  ...ENVELOPE_COLUMNS,
  [
    'eventdata',
    `STRUCT(configurationitemversion VARCHAR, configurationitemcapturetime VARCHAR, configurationitemstatus VARCHAR, configurationstateid VARCHAR,
      accountid VARCHAR, resourcetype VARCHAR, resourceid VARCHAR, resourcename VARCHAR, arn VARCHAR, awsregion VARCHAR, availabilityzone VARCHAR,
      resourcecreationtime VARCHAR, configuration ${MAP}, supplementaryconfiguration ${MAP}, relatedevents VARCHAR[],
      relationships STRUCT(name VARCHAR, resourcetype VARCHAR, resourceid VARCHAR, resourcename VARCHAR)[], tags ${MAP})`,
  ],
  ['eventjson', S],
];

export type StoreKind = 'cloudtrail' | 'integration' | 'config';

/** Every store table's column names (lower case). */
export const LAKE_COLUMN_NAMES: ReadonlySet<string> = new Set([...LAKE_COLUMNS, ...INTEGRATION_COLUMNS, ...CONFIG_COLUMNS].map(([c]) => c));

const emptyOf = (cols: [string, string][]): string => `SELECT * FROM (SELECT ${cols.map(([c, t]) => `CAST(NULL AS ${t}) AS ${c}`).join(', ')}) WHERE false`;
const readColumnsOf = (cols: [string, string][]): string => `{${cols.map(([c, t]) => `'${c}': '${t.replace(/\s+/g, ' ')}'`).join(', ')}}`;

export const TABLES: Record<StoreKind, { empty: string; readColumns: string; row: (r: CloudTrailRecord & Obj, json: string) => Obj }> = {
  cloudtrail: { empty: emptyOf(LAKE_COLUMNS), readColumns: readColumnsOf(LAKE_COLUMNS), row: (r, json) => lakeRow(r, json) },
  integration: { empty: emptyOf(INTEGRATION_COLUMNS), readColumns: readColumnsOf(INTEGRATION_COLUMNS), row: (r, json) => integrationRow(r, json) },
  config: { empty: emptyOf(CONFIG_COLUMNS), readColumns: readColumnsOf(CONFIG_COLUMNS), row: (r, json) => configRow(r, json) },
};

/** One ConfigurationItem record (domain/config-items.ts) as one row of a Config item store. */
export function configRow(r: CloudTrailRecord & Obj, json: string): Obj {
  const d = (r.eventData ?? {}) as Obj;
  const rel = Array.isArray(d.relationships) ? (d.relationships as Obj[]) : null;
  return {
    ...envelopeRow(r),
    eventdata: {
      configurationitemversion: str(d.configurationItemVersion),
      configurationitemcapturetime: str(d.configurationItemCaptureTime),
      configurationitemstatus: str(d.configurationItemStatus),
      configurationstateid: str(d.configurationStateId),
      accountid: str(d.accountId),
      resourcetype: str(d.resourceType),
      resourceid: str(d.resourceId),
      resourcename: str(d.resourceName),
      arn: str(d.arn),
      awsregion: str(d.awsRegion),
      availabilityzone: str(d.availabilityZone),
      resourcecreationtime: str(d.resourceCreationTime),
      configuration: asMap(d.configuration),
      supplementaryconfiguration: asMap(d.supplementaryConfiguration),
      relatedevents: Array.isArray(d.relatedEvents) ? d.relatedEvents.map(str) : null,
      relationships: rel ? rel.map((x) => ({ name: str(x?.name), resourcetype: str(x?.resourceType), resourceid: str(x?.resourceId), resourcename: str(x?.resourceName) })) : null,
      tags: asMap(d.tags),
    },
    eventjson: json,
  };
}

/** One ActivityAuditLog record as one row of an integration store. */
export function integrationRow(r: CloudTrailRecord & Obj, json: string): Obj {
  const d = (r.eventData ?? {}) as Obj;
  const u = (d.userIdentity ?? {}) as Obj;
  const meta = (r.metadata ?? {}) as Obj;
  return {
    ...envelopeRow(r),
    metadata: { ingestiontime: lakeTime(meta.ingestionTime), channelarn: str(meta.channelARN) },
    eventdata: {
      version: str(d.version),
      useridentity: { type: str(u.type), principalid: str(u.principalId), details: asMap(u.details) },
      useragent: str(d.userAgent),
      eventsource: str(d.eventSource),
      eventname: str(d.eventName),
      eventtime: str(d.eventTime),
      uid: str(d.UID),
      requestparameters: asMap(d.requestParameters),
      responseelements: asMap(d.responseElements),
      errorcode: str(d.errorCode),
      errormessage: str(d.errorMessage),
      sourceipaddress: str(d.sourceIPAddress),
      recipientaccountid: str(d.recipientAccountId),
      additionaleventdata: asMap(d.additionalEventData),
    },
    eventjson: json,
  };
}
