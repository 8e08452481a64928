// A small billing API whose every request is recorded in opentrail.
//
//   npm start                                   # opentrail on 127.0.0.1:4577 (prints root credentials once)
//   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… node examples/express-billing/server.mjs
//   curl -X POST -H 'x-user: ana' -H 'content-type: application/json' -d '{"reason":"duplicate"}' localhost:3000/invoices/inv-1/void
//   aws --endpoint-url http://127.0.0.1:4577 cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue=billing.example.com
import express from 'express';
import { AuditClient } from 'opentrail/client';
import { auditExpress } from 'opentrail/express';

const audit = new AuditClient({
  endpoint: process.env.OPENTRAIL_URL ?? 'http://127.0.0.1:4577',
  region: process.env.AWS_REGION ?? 'us-east-1',
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '' },
  onRecordFailed: (f) => console.error('audit record refused:', f),
});

const invoices = new Map([['inv-1', { id: 'inv-1', amount: 120, status: 'open' }]]);
const app = express();
app.use(express.json());
app.use(
  auditExpress({
    client: audit,
    eventSource: 'billing.example.com',
    // Your authentication decides who the caller is; here, a header stands in for it.
    userIdentity: (req) => (req.headers['x-user'] ? { type: 'IAMUser', userName: String(req.headers['x-user']), principalId: `user-${req.headers['x-user']}` } : undefined),
    resources: (req) => (req.params.id ? [{ type: 'Billing::Invoice', ARN: `arn:example:billing:::invoice/${req.params.id}` }] : undefined),
    skip: (req) => req.path === '/health',
  }),
);
app.get('/health', (_req, res) => res.send('ok'));
app.get('/invoices', (_req, res) => res.json([...invoices.values()]));
app.get('/invoices/:id', (req, res) => {
  const inv = invoices.get(req.params.id);
  if (!inv) {
    res.locals.auditError = { code: 'InvoiceNotFound', message: `No invoice ${req.params.id}` };
    return res.status(404).json({ error: 'not found' });
  }
  res.json(inv);
});
app.post('/invoices/:id/void', (req, res) => {
  const inv = invoices.get(req.params.id);
  if (!inv) return res.status(404).json({ error: 'not found' });
  inv.status = 'void';
  res.json(inv);
});

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, () => console.log(`billing API on http://127.0.0.1:${port}, auditing to opentrail`));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => audit.close({ timeoutMs: 5000 }).then(() => process.exit(0))));
}
