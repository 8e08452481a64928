/**
 * opentrail/express: one line to record every request to an Express app.
 *
 *   app.use(auditExpress({ client: audit, eventSource: 'billing.example.com', userIdentity: (req) => … }));
 *
 * The record is built when the response has been sent (so it has the status and the matched
 * route) and handed to the client's buffer; the response is never delayed or changed. A handler
 * can name its error for the record with `res.locals.auditError = { code, message }`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { compileAuditOptions, recordRequest, type AuditMiddlewareOptions } from './audit-request.js';

export type ExpressAuditOptions = AuditMiddlewareOptions<Request, Response>;

export function auditExpress(opts: ExpressAuditOptions): RequestHandler {
  const compiled = compileAuditOptions(opts);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (opts.skip?.(req)) return next();
    res.once('finish', () => {
      const route = req.route as { path?: unknown } | undefined;
      const pattern = typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : undefined;
      const error = (res.locals as { auditError?: { code?: string; message?: string } }).auditError;
      void recordRequest(
        {
          method: req.method,
          route: pattern,
          path: req.path,
          params: { ...(req.params as Record<string, unknown>) },
          query: { ...(req.query as Record<string, unknown>) },
          body: req.body as unknown,
          headers: req.headers,
          socketAddress: req.socket.remoteAddress ?? '',
          statusCode: res.statusCode,
          error,
        },
        req,
        res,
        compiled,
      );
    });
    next();
  };
}

export { DEFAULT_REDACT, REDACTED, eventNameFor } from './audit-request.js';
