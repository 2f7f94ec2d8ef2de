import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeOf, HOSTILE_TEXT, INVISIBLE_CODE_POINTS, rawInvisible } from '../../test/support/invisible.js';
import { clip, escapeHtml, escapeMarkdown, inert } from './hostile.js';

test('inert shows every control, format, bidi, zero-width and separator character as a visible escape', () => {
  for (const cp of INVISIBLE_CODE_POINTS) {
    const raw = String.fromCodePoint(cp);
    assert.equal(inert(`a${raw}b`), `a${escapeOf(cp)}b`, `U+${cp.toString(16)}`);
  }
  const shown = inert(HOSTILE_TEXT);
  assert.deepEqual(rawInvisible(shown), []);
  assert.equal(shown, 'evil\\u202egpj.exe\\u200d\\u001b[31mred\\u2028\\ufeff\\u{e0041}\\u2066x\\u000aforged');
});

test('inert leaves printable text alone, including non-Latin scripts and emoji', () => {
  for (const s of ['/tmp/xmrig -o pool:3333', 'Grüße — 日本語 עברית العربية', 'miner 🪙⛏', '\\u202e typed literally'])
    assert.equal(inert(s), s);
});

test('a lone surrogate is shown, and clip never splits a surrogate pair into one', () => {
  assert.equal(inert('a\ud800b'), 'a\\ud800b');
  const cut = clip(`${'a'.repeat(9)}😀tail`, 10);
  assert.ok(cut.startsWith('a'.repeat(9)) && !/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut), cut);
  assert.equal(inert(cut), cut, 'nothing left to escape after a clip');
});

test('escapeHtml makes format characters visible as well as markup inert', () => {
  const html = escapeHtml(`<b>${HOSTILE_TEXT}</b>`);
  assert.deepEqual(rawInvisible(html), []);
  assert.ok(html.startsWith('&#60;b&#62;evil\\u202egpj.exe'), html);
});

test('escapeMarkdown leaves no link, table cell, heading, HTML or line break to a hostile string', () => {
  const md = escapeMarkdown(`# web|01 [click](http://x.test) <img src=x> **b** \\ ${HOSTILE_TEXT}`);
  assert.deepEqual(rawInvisible(md), []);
  assert.ok(md.startsWith('\\# web\\|01 \\[click\\]\\(http://x\\.test\\) &#60;img src=x&#62; \\*\\*b\\*\\* \\\\'), md);
  assert.ok(!md.includes('\n'));
  assert.equal(escapeMarkdown('web-01 ok'), 'web\\-01 ok');
});

test('inert is linear on long hostile input', () => {
  const big = '\u202e\u200b'.repeat(100_000);
  const t = process.hrtime.bigint();
  const out = inert(big);
  assert.ok(Number(process.hrtime.bigint() - t) / 1e6 < 2000);
  assert.equal(out.length, 200_000 * 6);
});
