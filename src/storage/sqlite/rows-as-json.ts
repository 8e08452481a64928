/** The event log's page encoder when it is given none: the rows themselves, as JSON. */
import type { HistoryPageEncoder, HistoryRow } from '../interfaces.js';

export function encodePage(rows: readonly HistoryRow[]): string {
  return JSON.stringify(rows);
}

export const ROWS_AS_JSON: HistoryPageEncoder = { encodePage, module: import.meta.url };
