#!/usr/bin/python3
"""
Oracle for coalmine's binary EVTX reader: python-evtx (Debian python3-evtx 0.6.1) parses the file
(chunks, records, templates, substitutions, value types); this script walks the library's node tree
and prints one JSON line per record, mapped the way WinEvent is (src/sources/win-event.ts):
EventData Data Name -> value, unnamed Data -> param1.., Binary -> hex, UserData leaves by tag name.

Parsing is the library's; only value *formatting* is normalised here, where python-evtx's text is not
what Windows renders (and what our reader renders):
  - FILETIME: the library goes through a float and prints `2019-05-23 17:26:08.716858` (microseconds,
    off by up to ~2 us). We format the raw 64-bit tick count exactly: `2019-05-23T17:26:08.7168581Z`.
  - SYSTEMTIME: the library passes milliseconds as microseconds; we print `...T17:26:08.7160000Z`.
  - Boolean: `True`/`False` -> `true`/`false` (Windows' rendering).
  - Binary: base64 -> uppercase hex (Windows' rendering of binary data).
  - HexInt32/64: `0x%08x`/`0x%016x` -> `0x%x` (Windows renders `0x1a2c`; winEventToCoal parses that).
  - String arrays (0x81): the library prints `<string>a</string>\n...` inside one element; Windows
    repeats the element once per item, so unnamed Data items become param1, param2, ...
  - A null System/Security@UserID (rendered `""`) counts as absent.
Usage: evtx_oracle.py FILE.evtx [...]
"""
import datetime
import json
import sys

import Evtx.Evtx as evtx
import Evtx.Nodes as N

MAX_VALUE = 64 * 1024
MAX_DATA = 256
ENTITIES = {'amp': '&', 'lt': '<', 'gt': '>', 'quot': '"', 'apos': "'"}
EPOCH = datetime.datetime(1601, 1, 1)


def iso7(dt, ticks7):
    return dt.strftime('%Y-%m-%dT%H:%M:%S') + '.%07dZ' % ticks7


def filetime(ticks):
    secs, frac = divmod(ticks, 10_000_000)
    try:
        return iso7(EPOCH + datetime.timedelta(seconds=secs), frac)
    except OverflowError:
        return ''


def fmt(sub):
    if isinstance(sub, N.NullTypeNode):
        return ''
    if isinstance(sub, N.FiletimeTypeNode):
        return filetime(sub.unpack_qword(0))
    if isinstance(sub, N.SystemtimeTypeNode):
        p = [sub.unpack_word(2 * i) for i in range(8)]
        return iso7(datetime.datetime(p[0], p[1], p[3], p[4], p[5], p[6]), p[7] * 10_000)
    if isinstance(sub, N.BooleanTypeNode):
        return 'true' if sub.int32() != 0 else 'false'
    if isinstance(sub, N.BinaryTypeNode):
        return sub.binary().hex().upper()
    if isinstance(sub, (N.Hex32TypeNode, N.Hex64TypeNode)):
        return '0x%x' % int(sub.string(), 16)
    return sub.string()


def array_items(sub):
    text = sub.binary().decode('utf-16le')
    if text.endswith('\x00'):
        text = text[:-1]
    return text.split('\x00')


def elem(name):
    return {'name': name, 'attrs': {}, 'children': [], 'text': ''}


def render(root, parent, depth=0):
    subs = root.substitutions()
    for c in root.template().children():
        rec(c, parent, subs, depth)


def rec(node, parent, subs, depth):
    if isinstance(node, N.OpenStartElementNode):
        e = elem(node.tag_name())
        content = []
        for c in node.children():
            if isinstance(c, N.AttributeNode):
                v = c.attribute_value()
                e['attrs'][c.attribute_name().string()] = text_of(v, subs)
            else:
                content.append(c)
        subs_in = [c for c in content if isinstance(c, (N.NormalSubstitutionNode, N.ConditionalSubstitutionNode))]
        if len(subs_in) == 1 and isinstance(subs[subs_in[0].index()], N.WstringArrayTypeNode):
            for item in array_items(subs[subs_in[0].index()]):
                copy = elem(e['name'])
                copy['attrs'] = dict(e['attrs'])
                copy['text'] = item
                parent['children'].append(copy)
            return
        for c in content:
            rec(c, e, subs, depth)
        parent['children'].append(e)
    elif isinstance(node, (N.NormalSubstitutionNode, N.ConditionalSubstitutionNode)):
        sub = subs[node.index()]
        if isinstance(sub, N.BXmlTypeNode):
            render(sub.root(), parent, depth + 1)
        else:
            parent['text'] += fmt(sub)
    elif isinstance(node, (N.ValueNode, N.CDataSectionNode, N.CharacterReferenceNode, N.EntityReferenceNode)):
        parent['text'] += text_of(node, subs)


def text_of(node, subs):
    if isinstance(node, N.ValueNode):
        return node.children()[0].string()
    if isinstance(node, (N.NormalSubstitutionNode, N.ConditionalSubstitutionNode)):
        return fmt(subs[node.index()])
    if isinstance(node, N.CDataSectionNode):
        return node.cdata()
    if isinstance(node, N.CharacterReferenceNode):
        return chr(node.entity())
    if isinstance(node, N.EntityReferenceNode):
        name = node.entity_reference()[1:-1]
        return ENTITIES.get(name, '&%s;' % name)
    return ''


def child(e, name):
    if e is None:
        return None
    for c in e['children']:
        if c['name'] == name:
            return c
    return None


def leaves(e, data, depth):
    for c in e['children']:
        if len(data) >= MAX_DATA:
            return
        if not c['children']:
            if c['name'] not in data:
                data[c['name']] = c['text'].strip()[:MAX_VALUE]
        elif depth < 8:
            leaves(c, data, depth + 1)


def record_json(path, record):
    top = elem('')
    render(record.root(), top)
    ev = child(top, 'Event')
    sys_ = child(ev, 'System')
    data = {}
    event_data = child(ev, 'EventData')
    if event_data is not None:
        unnamed = 0
        for c in event_data['children']:
            if len(data) >= MAX_DATA:
                break
            if c['name'] == 'Data':
                name = c['attrs'].get('Name')
                if not name:
                    unnamed += 1
                    name = 'param%d' % unnamed
                data[name[:128]] = c['text'][:MAX_VALUE]
            elif c['name'] == 'Binary':
                data['Binary'] = c['text'][:MAX_VALUE].strip()
    user_data = child(ev, 'UserData')
    if user_data is not None:
        leaves(user_data, data, 0)
    text = lambda name: (child(sys_, name) or {'text': ''})['text'].strip()
    attr = lambda name, a: (child(sys_, name) or {'attrs': {}})['attrs'].get(a, '')
    out = {
        'recordId': record.record_num(),
        'written': filetime(record.unpack_qword(0x10)),
        'provider': attr('Provider', 'Name') or attr('Provider', 'EventSourceName'),
        'channel': text('Channel'),
        'eventId': int(text('EventID')),
        'recordIdSystem': int(text('EventRecordID')),
        'timeCreated': attr('TimeCreated', 'SystemTime'),
        'computer': text('Computer'),
        'executionPid': int(attr('Execution', 'ProcessID')),
        'executionTid': int(attr('Execution', 'ThreadID')),
        'data': data,
    }
    sid = attr('Security', 'UserID')
    if sid:
        out['userSid'] = sid
    return out


def main(paths):
    for path in paths:
        with evtx.Evtx(path) as log:
            for record in log.records():
                try:
                    line = record_json(path, record)
                except Exception as e:  # a record the library cannot parse: reported, not fatal
                    line = {'recordId': record.record_num(), 'error': repr(e)[:300]}
                line['file'] = path
                print(json.dumps(line, ensure_ascii=False, sort_keys=True))


if __name__ == '__main__':
    main(sys.argv[1:])
