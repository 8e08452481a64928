/** The event log's page encoder when it is given none: the rows themselves, as JSON. */
import type { HistoryPageEncoder, HistoryRow } from '../interfaces.js';

export function encodeEvent(row: HistoryRow): string {
  return JSON.stringify(row);
}

export const ROWS_AS_JSON: HistoryPageEncoder = { encodeEvent, module: import.meta.url };
