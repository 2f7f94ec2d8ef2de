/**
 * A YAML parser error as one line: the `yaml` package's message is the reason, then a blank line and a
 * code frame of the offending lines, which the file:line already points at (shown inert, its newlines
 * would read as `\u000a`).
 */
export function yamlErrorReason(message: string): string {
  const first = message.split('\n', 1)[0].trim();
  return first.endsWith(':') ? first.slice(0, -1) : first;
}
