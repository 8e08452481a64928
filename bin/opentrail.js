#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`opentrail: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
