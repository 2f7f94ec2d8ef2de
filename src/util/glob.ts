/**
 * Glob matching with `*` only, by sequential indexOf: linear time on hostile input, unlike a regex
 * built from user text. Case-sensitive unless asked.
 */
export type GlobMatcher = (text: string) => boolean;

export function compileGlob(pattern: string, caseInsensitive = false): GlobMatcher {
  const norm = caseInsensitive ? pattern.toLowerCase() : pattern;
  const parts = norm.split('*');
  if (parts.length === 1) return (text) => (caseInsensitive ? text.toLowerCase() : text) === norm;
  const first = parts[0];
  const last = parts[parts.length - 1];
  const middle = parts.slice(1, -1);
  return (raw) => {
    const text = caseInsensitive ? raw.toLowerCase() : raw;
    if (text.length < first.length + last.length) return false;
    if (!text.startsWith(first) || !text.endsWith(last)) return false;
    let pos = first.length;
    const end = text.length - last.length;
    for (const part of middle) {
      if (part === '') continue;
      const at = text.indexOf(part, pos);
      if (at === -1 || at + part.length > end) return false;
      pos = at + part.length;
    }
    return true;
  };
}
