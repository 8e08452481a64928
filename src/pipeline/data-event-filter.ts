/**
 * Data events (S3 object reads and writes, …) are recorded only when some
 * logging trail selects them, as AWS does: they never appear in event
 * history, and without a trail (or, later, an event data store) that wants
 * them nobody would ever read them. Management events are always recorded.
 */
import type { CloudTrailRecord } from '../domain/record.js';
import type { Trails } from '../domain/trails.js';
import type { TrailDoc } from '../domain/trail-model.js';
import { selectsEvent } from '../domain/selectors.js';

export class DataEventFilter {
  private cache: { version: number; byAccount: Map<string, TrailDoc[]> } | undefined;

  constructor(private readonly trails: Trails) {}

  private async logging(accountId: string): Promise<TrailDoc[]> {
    const version = this.trails.version;
    if (!this.cache || this.cache.version !== version) this.cache = { version, byAccount: new Map() };
    let list = this.cache.byAccount.get(accountId);
    if (!list) {
      list = [];
      for (const t of await this.trails.listAll(accountId)) if ((await this.trails.logging(t)).IsLogging) list.push(t);
      // Only keep the answer if no trail changed meanwhile.
      if (this.cache.version === version) this.cache.byAccount.set(accountId, list);
    }
    return list;
  }

  /** Should this record be committed to the log? */
  async wanted(r: CloudTrailRecord): Promise<boolean> {
    if (r.managementEvent !== false) return true;
    const account = r.recipientAccountId ?? r.userIdentity?.accountId ?? '';
    for (const t of await this.logging(account)) {
      if (!t.IsMultiRegionTrail && t.HomeRegion !== r.awsRegion) continue;
      if (selectsEvent(r, this.trails.eventSelectorsOf(t))) return true;
    }
    return false;
  }
}
