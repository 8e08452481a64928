/**
 * Take the next group off the front of a queue of callers' batches: whole batches, at least one,
 * and no more than `max` items in all unless the first alone is larger. The request thread groups
 * records for the log this way, and the log's writer groups those groups into transactions.
 */
export function takeGroup<T>(queue: T[], max: number, size: (batch: T) => number): { group: T[]; items: number } {
  let items = 0;
  let take = 0;
  while (take < queue.length && (take === 0 || items + size(queue[take]!) <= max)) items += size(queue[take++]!);
  return { group: queue.splice(0, take), items };
}
