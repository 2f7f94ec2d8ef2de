/**
 * `--webhook URL [--webhook-token T] [--spool DIR]` as `watch` and `hunt` take it: where finding reports
 * go besides stdout, checked for where a token may go, and the spooled delivery of a run's findings.
 */
import type { Finding } from '../model/finding.js';
import { contentDigest, RevisionLedger } from '../sinks/revisions.js';
import { findingPayload, WebhookDelivery } from '../sinks/webhook.js';
import { inert } from '../util/hostile.js';

/** Where finding reports are delivered besides stdout. */
export interface Delivery {
  url: string;
  /** Never logged (the token). */
  headers: Record<string, string>;
}

/** A bearer token as a header value may carry it: visible ASCII, bounded. */
export const TOKEN_SHAPE = /^[\x21-\x7e]{1,1024}$/;
/** A coalmine serve's findings route: where COALMINE_TOKEN may go without --webhook-token. */
const SERVE_FINDINGS_PATH = /\/api\/v1\/findings\/?$/;

/** An http(s) URL checked for where a token goes; a usage error's reason otherwise (never echoing it). */
export function receiverUrl(flag: string, text: string): URL | string {
  // the URL is not echoed: it may hold a password
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `--${flag} must be a URL (http://127.0.0.1:8477/)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--${flag} must be an http:// or https:// URL`;
  return url;
}

/**
 * --webhook URL with --webhook-token, or COALMINE_TOKEN when the URL is a coalmine serve's
 * /api/v1/findings (the environment's token never goes to any other receiver named on the line); a
 * usage error's reason otherwise, never echoing a token.
 */
export function findingsReceiver(
  webhook: string | undefined,
  webhookToken: string | undefined,
  userAgent: string,
  envToken: string | undefined,
): Delivery | undefined | string {
  if (webhook === undefined) return webhookToken === undefined ? undefined : '--webhook-token is for --webhook';
  const url = receiverUrl('webhook', webhook);
  if (typeof url === 'string') return url;
  const token = webhookToken ?? (SERVE_FINDINGS_PATH.test(url.pathname) ? envToken : undefined);
  if (token !== undefined && !TOKEN_SHAPE.test(token))
    return '--webhook-token must be printable ASCII without spaces (as serve token create prints it)';
  return {
    url: url.toString(),
    headers: { 'user-agent': userAgent, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  };
}

/**
 * A finished run's findings to the webhook, each spooled on disk before it is sent (a receiver that is
 * down gets it on a later run, once per id#revision; the same finding again unchanged, as a scheduled
 * hunt over the same logs finds it, is not sent again). Waits up to `waitMs` for delivery; what is left
 * stays in the spool. Says what happened on `say`; throws when the spool cannot be opened.
 */
export async function deliverFindings(
  delivery: Delivery,
  findings: readonly Finding[],
  options: { spoolDir: string; waitMs: number; say: (text: string) => void },
): Promise<{ delivered: number; left: number; spooled: number; unchanged: number }> {
  const onIssue = (text: string) => options.say(inert(text));
  const webhook = new WebhookDelivery({
    url: delivery.url,
    headers: delivery.headers,
    spoolDir: options.spoolDir,
    backoff: { baseMs: 250, capMs: 5000, roundMs: 5000 },
    onIssue,
  });
  let ledger: RevisionLedger | undefined;
  let spooled = 0;
  let unchanged = 0;
  try {
    ledger = await RevisionLedger.open(options.spoolDir, { onIssue });
    for (const f of findings) {
      try {
        // a finding reported before with this content (yesterday's run over the same logs) is not news
        const { revision, fresh } = ledger.assign(f.id, contentDigest(f));
        if (!fresh) {
          unchanged++;
          continue;
        }
        if ((await webhook.enqueue(findingPayload(f, revision))) === 'spooled') spooled++;
      } catch (e) {
        options.say(`${f.id} not spooled: ${inert((e as Error).message)}`);
      }
    }
    await webhook.flush(options.waitMs);
  } finally {
    ledger?.close();
  }
  const left = await webhook.close();
  return { delivered: webhook.stats.delivered, left, spooled, unchanged };
}
