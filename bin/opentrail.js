#!/usr/bin/env -S node --single-threaded-gc
// Node flags of the server: see src/cli/node-flags.ts (npm start gives the same ones).
// opentrail targets Node 20 on purpose; the AWS SDK's notice about its future Node 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/src/cli/main.js');

main(process.argv).catch((err) => {
  process.stderr.write(`opentrail: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
