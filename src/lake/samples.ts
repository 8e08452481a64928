/**
 * How AWS's published Lake sample queries write the event data store they read
 * (`$EDS_ID`, `<EDS ID>`, `{{…}}`, `event_data_store_ID`, example UUIDs, …): the console's sample
 * library and the conformance test put a real store id in their place.
 */
export const SAMPLE_STORE_PLACEHOLDER =
  /\$EDS_ID|<[^<>\n]*(?:EDS|event[ _-]data[ _-]store)[^<>\n]*>|\{\{[^}]*\}\}|\b(?:config_)?event_data_store_ID\b|EXAMPLE[\w-]*EXAMPLE|\beds-ID\b|\bEDS[123]\b|\beds[12]\b|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
