/**
 * Telemetry shown as text: every control, format and separator character as a visible escape (ESC as
 * \x1b), long values clipped with a button to show all. React sets text nodes, never markup; this adds
 * what text nodes alone do not: a terminal escape or a bidi override made visible.
 */
import { useState } from 'react';

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

function escapeOf(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** The string with every invisible or terminal-driving character as a visible escape. */
export function visible(value: unknown): string {
  return String(value ?? '').replace(INVISIBLE, escapeOf);
}

/** A value as inert text, clipped to `max` characters with a "show all" toggle. */
export function Text(props: { value: unknown; max?: number; className?: string }) {
  const [whole, setWhole] = useState(false);
  const text = visible(props.value);
  const max = props.max ?? 240;
  if (text.length <= max || whole)
    return (
      <span className={props.className}>
        {text}
        {whole && (
          <button type="button" className="link" onClick={() => setWhole(false)}>
            less
          </button>
        )}
      </span>
    );
  return (
    <span className={props.className} title={`${text.length} characters`}>
      {text.slice(0, max)}
      <span className="clip">…[+{text.length - max}]</span>
      <button type="button" className="link" onClick={() => setWhole(true)}>
        show all
      </button>
    </span>
  );
}

/** Epoch ms or an ISO string as a short UTC time. */
export function when(t: number | string | null | undefined): string {
  if (t === null || t === undefined) return '';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? visible(t) : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** How long ago, coarse: 5m, 3h, 2d. */
export function age(t: number | string, now = Date.now()): string {
  const ms = now - new Date(t).getTime();
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
