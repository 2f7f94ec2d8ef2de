/**
 * Telemetry shown as text: every control, format and separator character as a visible escape (ESC as
 * \x1b), long values clipped with a button to show all. React sets text nodes, never markup; this adds
 * what text nodes alone do not: a terminal escape or a bidi override made visible.
 */
import { useState } from 'react';
import { visible, visibleLines } from './view-model';

export { age, visible, visibleLines, when } from './view-model';

/** A value as inert text, clipped to `max` characters with a "show all" toggle. */
export function Text(props: { value: unknown; max?: number; className?: string; toggle?: boolean; lines?: boolean }) {
  const [whole, setWhole] = useState(false);
  const text = props.lines ? visibleLines(props.value) : visible(props.value);
  const max = props.max ?? 240;
  // inside a link or a clickable row a button would be nested in a control: clip only, the whole is in the title
  if (props.toggle === false && text.length > max) {
    const end = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
    return (
      <span className={props.className} title={text.slice(0, 4096)}>
        {text.slice(0, end)}
        <span className="clip">…[+{text.length - end}]</span>
      </span>
    );
  }
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
  // never half a surrogate pair at the cut
  const end = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return (
    <span className={props.className} title={`${text.length} characters`}>
      {text.slice(0, end)}
      <span className="clip">…[+{text.length - end}]</span>
      <button type="button" className="link" onClick={() => setWhole(true)}>
        show all
      </button>
    </span>
  );
}
