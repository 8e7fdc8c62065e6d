import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { jsonObject, serveSignedPost } from '../transport/gateway-post.js';
import { applyDeliveryReport, parseReport } from './sms-reports.service.js';

/** A report is a few hundred bytes. Past this the request is refused unread. */
export const MAX_REPORT_BYTES = 16 * 1024;

const PATH = /^\/sms\/status\/?(?:\?.*)?$/;

/**
 * `POST /sms/status`, public: the gateway's delivery report for an SMS we sent, JSON
 * `{ reference, status, errorCode?, parts?, timestamp?, to? }`, signed as /sms/inbound is
 * (transport/gateway-post.ts: 405, 413, 401 before anything is parsed). Signed but not a report:
 * 400 saying what is wrong. A reference that names no SMS we handed to the gateway (unknown, an
 * Emailing's, never sent, or another number than `to`): 404, one answer for all, so a caller
 * learns nothing of other accounts' sends. Otherwise 200 `{ "recorded": true }`, or
 * `{ "recorded": false }` for a report already recorded (sms-reports.service.ts).
 */
export function smsStatus(app: AppServices, req: IncomingMessage, res: ServerResponse): boolean {
  return serveSignedPost(
    app,
    req,
    res,
    { path: PATH, maxBytes: MAX_REPORT_BYTES, token: app.config.smsGatewayToken, name: 'sms status' },
    async (raw) => {
      const report = parseReport(jsonObject(raw));
      if (typeof report === 'string') return { status: 400, body: { error: report } };
      const outcome = await applyDeliveryReport(app, report);
      if (outcome === 'UNKNOWN') return { status: 404, body: { error: 'unknown message' } };
      return { status: 200, body: { recorded: outcome === 'RECORDED' } };
    },
  );
}
