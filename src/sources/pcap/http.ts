/**
 * HTTP/1.x request head from the start of a client's byte stream: method, path, Host and
 * User-Agent. Only the first request is read; a head cut by the 4 KiB sample keeps what it has.
 */

export interface HttpRequest {
  method: string;
  path: string;
  host?: string;
  userAgent?: string;
}

const REQUEST_LINE = /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE) (\S{1,2048}) HTTP\/\d\.\d\r?$/;

export function parseHttpRequest(stream: Buffer): HttpRequest | undefined {
  // cheap refusal before any string is built: a method starts with an upper-case letter
  if (stream.length < 14 || stream[0] < 0x41 || stream[0] > 0x5a) return undefined;
  const headEnd = stream.indexOf('\r\n\r\n');
  const text = stream.toString('latin1', 0, headEnd >= 0 ? headEnd : stream.length);
  const lines = text.split('\n');
  const m = REQUEST_LINE.exec(lines[0]);
  if (!m) return undefined;
  const req: HttpRequest = { method: m[1], path: m[2] };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'host') req.host ??= line.slice(colon + 1).trim();
    else if (name === 'user-agent') req.userAgent ??= line.slice(colon + 1).trim();
  }
  return req;
}
