import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { evtxXml, parseXmlElement } from './evtx-xml.js';
import { sniffSource } from './index.js';

const good = fileInput('test/fixtures/evtx-xml/good.xml');
const bad = fileInput('test/fixtures/evtx-xml/bad.xml');
runSourceContract({
  source: evtxXml,
  good,
  bad,
  // the export copied while an event was written: it ends inside an element's text
  cut: cutLineCase(good, 35, '<Data Name="DestinationIp">', '203.0.113.7'),
});

test('Event Viewer export: mapped events with the line each event starts on, unused ones skipped', async () => {
  const { events, issues } = await readAll(evtxXml, good);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.event.action, e.coalmine.ref.line]),
    [
      ['evtx-xml.sysmon.1', 'exec', 3],
      ['evtx-xml.sysmon.3', 'connect', 36],
      ['evtx-xml.sysmon.22', 'dns-query', 37],
      ['evtx-xml.security.4688', 'exec', 38],
      ['evtx-xml.security.4698', 'persistence-entry', 62],
    ],
  );
  const [exec, connect, dns, sec, task] = events;
  assert.equal(exec['@timestamp'], '2024-05-23T17:26:08.686Z');
  assert.equal(exec.process?.command_line, '"C:\\Windows\\System32\\notepad.exe" C:\\Users\\alice\\notes & todo.txt');
  assert.equal(exec.process?.entity_id, '5c1b1d2e-1a2b-6650-0b00-000000001f00');
  assert.equal(exec.process?.hash?.sha256, '0c3f2a61b5e4d8c7a9b0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f40');
  assert.equal(exec.original.ProcessID, 2044);
  assert.equal(exec.original.UserID, 'S-1-5-18');
  assert.deepEqual(connect.destination, { ip: '192.0.2.10', port: 443, domain: 'updates.example.com' });
  assert.deepEqual(dns.dns?.resolved_ip, ['192.0.2.10']);
  assert.equal(sec.process?.pid, 0x1a2c);
  assert.equal(sec.process?.command_line, undefined);
  assert.equal(sec['@timestamp'], '2024-05-23T17:30:00.123Z');
  assert.deepEqual(task.coalmine.persistence, {
    mechanism: 'scheduled-task',
    target: 'C:\\Windows\\System32\\notepad.exe',
  });
  assert.equal(task.file?.line, 'C:\\Windows\\System32\\notepad.exe C:\\Users\\alice\\notes.txt');
});

test('bad events are reported with their line and reason; the good ones around them are read', async () => {
  const { events, issues } = await readAll(evtxXml, bad);
  assert.deepEqual(
    events.map((e) => [e.event.action, e.coalmine.ref.line]),
    [
      ['exec', 1],
      ['exit', 6],
    ],
  );
  assert.deepEqual(
    issues.map((i) => [i.code, i.line]),
    [
      ['EVTX_XML_MALFORMED', 2],
      ['EVTX_XML_BAD_EVENT', 3],
      ['EVTX_XML_BAD_EVENT', 4],
      ['EVTX_XML_JUNK', 5],
      ['EVTX_XML_TRUNCATED', 7],
    ],
  );
});

test('wevtutil output: concatenated events on one line, no root, split across chunks', async () => {
  const one = good.head.toString('utf8').split('\n')[35];
  const text = `${one}${one}${one}`;
  const { events, issues } = await readAll(evtxXml, memoryInput('q.xml', text));
  assert.deepEqual(issues, []);
  assert.equal(events.length, 3);
  assert.ok(evtxXml.sniff(text, { name: 'q.xml' }) > 0);
  assert.equal(sniffSource({ head: Buffer.from(text), name: 'q.xml' })?.name, 'evtx-xml');
});

test('an oversized event is reported and reading goes on', async () => {
  const one = good.head.toString('utf8').split('\n')[35];
  const huge = one.replace(
    '<Data Name="Protocol">',
    `<Data Name="Pad">${'x'.repeat(1100 * 1024)}</Data><Data Name="Protocol">`,
  );
  const { events, issues } = await readAll(evtxXml, memoryInput('h.xml', `${huge}\n${one}\n`));
  assert.deepEqual(
    issues.map((i) => [i.code, i.line]),
    [['EVTX_XML_TOO_LARGE', 1]],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [2],
  );
});

test('the XML parser refuses DTDs, mismatches and depth bombs, and decodes CDATA and entities', () => {
  assert.equal(typeof parseXmlElement('<!DOCTYPE x [<!ENTITY a "b">]><Event/>'), 'string');
  assert.equal(typeof parseXmlElement('<a><b></a></b>'), 'string');
  assert.equal(typeof parseXmlElement(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`), 'string');
  const node = parseXmlElement('<a x="1 &amp; 2"><b><![CDATA[<not a tag>]]> &lt;ok&gt;</b><c/></a>');
  assert.ok(typeof node !== 'string');
  assert.equal(node.attrs.x, '1 & 2');
  assert.equal(node.children[0].text, '<not a tag> <ok>');
  assert.equal(node.children[1].name, 'c');
});

test('UserData leaves and unnamed Data become data values', async () => {
  const xml =
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4688</EventID><TimeCreated SystemTime="2024-01-01T00:00:00Z"/><Computer>h</Computer></System><UserData><X xmlns="u"><NewProcessName>C:\\a.exe</NewProcessName></X></UserData></Event>';
  const { events } = await readAll(evtxXml, memoryInput('u.xml', xml));
  assert.equal(events[0].process?.executable, 'C:\\a.exe');
});

test('sniff: the event namespace is needed, binary EVTX is not this format', () => {
  assert.equal(
    evtxXml.sniff('ElfFile\0\0\0<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">', {
      name: 'a.evtx',
    }),
    0,
  );
  assert.equal(evtxXml.sniff('<Events><Event><System/></Event></Events>', { name: 'a.xml' }), 0);
  assert.equal(sniffSource({ head: good.head, name: good.name })?.name, 'evtx-xml');
});

test('an event cut off by the next one is reported, and the next one is read', async () => {
  const one = good.head.toString('utf8').split('\n')[35];
  const cut = one.slice(0, one.indexOf('<EventData>'));
  const { events, issues } = await readAll(evtxXml, memoryInput('c.xml', `${cut}\n${one}\n${one}`));
  assert.deepEqual(
    issues.map((i) => [i.code, i.line]),
    [['EVTX_XML_TRUNCATED', 1]],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [2, 3],
  );
});

test('an event split across many small chunks is found once, whatever the chunking', async () => {
  const text = good.head.toString('utf8');
  const input = {
    name: 'tiny.xml',
    head: Buffer.from(text),
    async *open() {
      const buf = Buffer.from(text);
      for (let i = 0; i < buf.length; i += 13) yield buf.subarray(i, Math.min(buf.length, i + 13));
    },
  };
  const a = await readAll(evtxXml, input);
  const b = await readAll(evtxXml, good);
  assert.equal(JSON.stringify(a.events), JSON.stringify(b.events).replaceAll(good.name, 'tiny.xml'));
  assert.deepEqual(a.issues, []);
});

test('a UTF-16LE export (PowerShell redirection) is sniffed and read', async () => {
  const text = good.head.toString('utf8');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  assert.equal(sniffSource({ head: utf16, name: 'u16.xml' })?.name, 'evtx-xml');
  const a = await readAll(evtxXml, memoryInput('u16.xml', utf16));
  const b = await readAll(evtxXml, memoryInput('u16.xml', text));
  assert.deepEqual(a.issues, []);
  assert.equal(JSON.stringify(a.events), JSON.stringify(b.events));
});
