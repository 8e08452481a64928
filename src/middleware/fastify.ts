/**
 * opentrail/fastify: a plugin that records every request to a Fastify app.
 *
 *   await app.register(auditFastify, { client: audit, eventSource: 'billing.example.com', userIdentity: (req) => … });
 *
 * Registered at the top level it sees every route (it does not stay in its own encapsulation
 * context). The record is built once the response is sent; errors thrown by handlers give the
 * record its errorCode (the error's `code`, or its name) and errorMessage.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compileAuditOptions, recordRequest, type AuditMiddlewareOptions } from './audit-request.js';

export type FastifyAuditOptions = AuditMiddlewareOptions<FastifyRequest, FastifyReply>;

const ERROR = Symbol('opentrail.auditError');
type WithError = FastifyRequest & { [ERROR]?: { code?: string; message?: string; name?: string } };

async function plugin(app: FastifyInstance, opts: FastifyAuditOptions): Promise<void> {
  const compiled = compileAuditOptions(opts);
  app.addHook('onError', async (request, _reply, error) => {
    (request as WithError)[ERROR] = { code: typeof error.code === 'string' ? error.code : undefined, message: error.message, name: error.name };
  });
  app.addHook('onResponse', async (request, reply) => {
    if (opts.skip?.(request)) return;
    await recordRequest(
      {
        method: request.method,
        route: request.routeOptions.url,
        path: request.url.split('?')[0] ?? request.url,
        params: { ...(request.params as Record<string, unknown>) },
        query: { ...(request.query as Record<string, unknown>) },
        body: request.body,
        headers: request.headers,
        socketAddress: request.socket.remoteAddress ?? '',
        statusCode: reply.statusCode,
        error: (request as WithError)[ERROR],
      },
      request,
      reply,
      compiled,
    );
  });
}

// Applies to the whole app, as fastify-plugin would mark it.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const auditFastify = plugin;
export { DEFAULT_REDACT, REDACTED, eventNameFor } from './audit-request.js';
