/**
 * TLS ClientHello (RFC 8446 §4.1.2) from the start of a client's byte stream: the server_name
 * extension. The handshake may span records; every length is checked against what we hold, so a
 * sample cut at 4 KiB yields what it has (or nothing), never a throw.
 */

/** True when the bytes open like a TLS handshake record (type 22, version 3.x). */
export function looksLikeTls(b: Buffer): boolean {
  return b.length >= 3 && b[0] === 0x16 && b[1] === 0x03 && b[2] <= 0x04;
}

/** The handshake bytes carried by the leading run of handshake records. */
function handshakeBytes(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off + 5 <= b.length && b[off] === 0x16; ) {
    const len = b.readUInt16BE(off + 3);
    parts.push(b.subarray(off + 5, Math.min(b.length, off + 5 + len)));
    off += 5 + len;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

export function clientHelloSni(stream: Buffer): string | undefined {
  if (!looksLikeTls(stream)) return undefined;
  const h = handshakeBytes(stream);
  if (h.length < 4 || h[0] !== 1) return undefined;
  let p = 4 + 2 + 32; // handshake header, legacy_version, random
  if (p + 1 > h.length) return undefined;
  p += 1 + h[p]; // session id
  if (p + 2 > h.length) return undefined;
  p += 2 + h.readUInt16BE(p); // cipher suites
  if (p + 1 > h.length) return undefined;
  p += 1 + h[p]; // compression methods
  if (p + 2 > h.length) return undefined;
  const end = Math.min(h.length, p + 2 + h.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = h.readUInt16BE(p);
    const len = h.readUInt16BE(p + 2);
    p += 4;
    if (type === 0) {
      // server_name_list: list length, then (type 0 = host_name, length, name)
      let q = p + 2;
      const listEnd = Math.min(end, p + len);
      while (q + 3 <= listEnd) {
        const nlen = h.readUInt16BE(q + 1);
        if (h[q] === 0 && q + 3 + nlen <= listEnd) return h.toString('latin1', q + 3, q + 3 + nlen);
        q += 3 + nlen;
      }
      return undefined;
    }
    p += len;
  }
  return undefined;
}
