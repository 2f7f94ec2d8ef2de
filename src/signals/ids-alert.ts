/**
 * Another tool's detections as evidence: Suricata alerts (eve `alert`), Zeek notices and intel hits, and
 * Falco alerts arrive as events of type `indicator` with `rule: {name, id, category}`. Only words are matched, never
 * signature ids: a rule name (or, failing that, its category) naming coin mining is `pool-contact`,
 * one naming a proxyware vendor (the vendors our intel lists) `proxyware-endpoint`, both medium (a
 * signature is a good sign, not a protocol we saw ourselves) — except a mining signature that names
 * the protocol (Stratum, getwork, `mining.notify`), which is strong: the IDS saw the pool protocol
 * on the wire, as our own Stratum reader does; one naming cryptocurrency node traffic is
 * `crypto-p2p`, weak and informational (a node is not a miner). Mining words win over node words, so
 * "ET COINMINER … Bitcoin …" is mining and "ET POLICY Bitcoin …" is not.
 *
 * A Zeek intel hit already names its indicator and feed. When our own intel knows the indicator the
 * network classifier has already judged the event (its dns question, destination) or the process
 * classifier will: nothing is added. Otherwise a feed whose name says mining or proxyware is medium
 * evidence, an indicator that says so itself only weak.
 *
 * Falco watches processes: a mining or proxyware rule on an exec or other process alert is
 * `miner-process` / `proxyware-process` (process class, medium), on a connect the network kinds
 * above; a container drift rule ("Drop and execute new binary in container", "Container Drift
 * Detected", fileless or /dev/shm execution) is medium `masquerade`.
 *
 * Amazon GuardDuty findings are judged by their type alone, never by title words (GuardDuty names
 * them `ThreatPurpose:ResourceType/ThreatFamilyName.DetectionMechanism!Artifact`): the cryptocurrency
 * purpose (`CryptoCurrency:EC2/BitcoinTool.B!DNS`, `CryptoCurrency:Runtime/BitcoinTool.B`, …) and the
 * `BitcoinDomainRequest` family (`Impact:EC2/BitcoinDomainRequest.Reputation`) are medium `pool-contact`
 * on the domain or address the finding names; the `CryptoMinerExecuted` family
 * (`Execution:Runtime/CryptoMinerExecuted`) is medium `miner-process`. Every other type (brute force,
 * port probes, C&C, credential findings) is not coin-mining evidence here.
 *
 * `coalmine inspect` scans a running process's memory with YARA rules: a match is an event of format
 * `inspect` whose rule category is the rule's `kind` meta. Our own rules (rules/yara) say it and their
 * strength: a miner's configuration or Stratum session in its heap is `miner-process` (strong: a
 * renamed, packed xmrig still holds them), a proxyware client's state `proxyware-process`; the RandomX
 * memory shape (huge pages, a 2 GiB dataset, MSR access) is medium `miner-tuning`. A user's rule without
 * a kind is judged by its name as Falco's are (medium). A process the `/proc` listing hides (`watch
 * --inspect` looks for them when a host's CPU is hidden: dataset `inspect.hidden`) is a strong masquerade.
 *
 * Names are hostile: at most 512 characters are read, split into at most 64 words by character class
 * (no backtracking patterns), and quoted clipped and escaped.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal, SignalKind, Strength } from '../model/signal.js';
import { clip, inert } from '../util/hostile.js';
import { isInternalAddress } from '../util/ip.js';
import { hostOfUrl } from './intel/list.js';
import type { Intel, IntelMatch } from './intel/types.js';
import { signalFor } from './make.js';
import { endpoint, who } from './network.js';
import type { Classifier, ClassifyContext } from './types.js';

/** Characters of a name, category or indicator looked at; the source clips at 512 but an event may not. */
const MAX_TEXT_CHARS = 512;
const MAX_WORDS = 64;
/** How much of a rule name, message or feed an explanation quotes. */
const MAX_QUOTED = 120;
const MAX_FEEDS = 8;

/** Words that name coin mining by themselves. */
const MINING_WORDS = new Set([
  'coinminer',
  'coinminers',
  'coinmining',
  'cryptominer',
  'cryptominers',
  'cryptomining',
  'cryptojacking',
  'cryptojacker',
  'coinhive',
  'xmrig',
  'xmrstak',
  'cryptonight',
  'randomx',
  'miner',
  'miners',
  'minerd',
  'cpuminer',
  'cgminer',
  'bfgminer',
  'ethminer',
  'minergate',
  'nicehash',
]);
/** Words naming the mining protocol on the wire: a signature built on them saw the protocol, as our own Stratum reader does. */
const PROTOCOL_WORDS = new Set(['stratum', 'getwork', 'getblocktemplate', 'submitlogin', 'submitwork']);
const STRATUM_METHODS = new Set(['notify', 'subscribe', 'authorize', 'submit', 'extranonce']);

/** A mining signature that names the protocol (Stratum, getwork, `mining.notify`), not NTP's stratum. */
function namesProtocol(words: string[]): boolean {
  if (words.includes('ntp')) return false;
  return words.some((w, i) => PROTOCOL_WORDS.has(w) || (w === 'mining' && STRATUM_METHODS.has(words[i + 1] ?? '')));
}

/** "mining" names coin mining unless it is one of these kinds of mining. */
const OTHER_MINING = new Set(['data', 'text', 'process', 'log', 'opinion']);
/** Cryptocurrencies, for node traffic. */
const COIN_WORDS = new Set([
  'bitcoin',
  'btc',
  'monero',
  'xmr',
  'ethereum',
  'litecoin',
  'dogecoin',
  'zcash',
  'cryptocurrency',
  'blockchain',
]);
/** What node traffic rules say besides the coin. */
const NODE_WORDS = new Set([
  'p2p',
  'node',
  'nodes',
  'peer',
  'peers',
  'version',
  'handshake',
  'getblocks',
  'getheaders',
  'getaddr',
  'block',
  'blocks',
  'rpc',
]);
/** Node traffic without a coin word (Ethereum's peer protocol). */
const NODE_ONLY_WORDS = new Set(['devp2p', 'rlpx']);
/** Words that say proxyware without naming a vendor. "proxy" alone does not: open proxies, web proxies. */
const PROXYWARE_WORDS = new Set(['proxyware', 'proxyjacking', 'proxyjack']);
/** Registrable endings a vendor's word is tried with against our proxyware domains (Honeygain → honeygain.com). */
const VENDOR_TLDS = ['com', 'io', 'app', 'co', 'network'];

type Producer = 'suricata' | 'zeek' | 'falco' | 'guardduty' | 'inspect';

/** Lower-cased words of a text (letters and digits), bounded; `split` on a character class is linear. */
function wordsOf(text: string): string[] {
  return text
    .slice(0, MAX_TEXT_CHARS)
    .toLowerCase()
    .split(/[^a-z0-9]+/, MAX_WORDS + 1)
    .filter((w) => w !== '')
    .slice(0, MAX_WORDS);
}

/** Does a text name coin mining? ("Stratum" only when it is not NTP's.) */
function saysMining(words: string[]): boolean {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (MINING_WORDS.has(w)) return true;
    if (w === 'mining' && !OTHER_MINING.has(words[i - 1] ?? '')) return true;
    if (w === 'stratum' && !words.includes('ntp')) return true;
  }
  return false;
}

/** Does a rule name cryptocurrency node traffic? A coin with a node word, or an ET POLICY/INFO rule about a coin. */
function saysNode(words: string[]): boolean {
  if (words.some((w) => NODE_ONLY_WORDS.has(w))) return true;
  const crypto = words.some((w) => COIN_WORDS.has(w)) || hasPair(words, 'crypto', 'currency');
  if (!crypto) return false;
  const policy = (words[0] === 'et' || words[0] === 'etpro') && (words[1] === 'policy' || words[1] === 'info');
  return policy || words.some((w) => NODE_WORDS.has(w));
}

function hasPair(words: string[], a: string, b: string): boolean {
  for (let i = 0; i + 1 < words.length; i++) if (words[i] === a && words[i + 1] === b) return true;
  return false;
}

/**
 * The proxyware vendor a text names, as our intel knows it: a word that is a proxyware program name,
 * a proxyware domain (also written defanged, `honeygain .com`), or a vendor word whose `.com`/`.io`/…
 * is one. Undefined when none is named; the bare word "proxyware" is reported as `word`.
 */
function proxywareIn(text: string, intel: Intel): { match?: IntelMatch; word: string } | undefined {
  const tokens = text
    .slice(0, MAX_TEXT_CHARS)
    .toLowerCase()
    .replaceAll(' .', '.')
    .split(/[^a-z0-9.-]+/, MAX_WORDS + 1)
    .slice(0, MAX_WORDS);
  for (const raw of tokens) {
    if (raw.length > 64) continue;
    const token = raw.replace(/^[.-]+|[.-]+$/g, '');
    if (token.length < 3) continue;
    const byName = intel.processName(token);
    if (byName?.kind === 'proxyware-name') return { match: byName, word: token };
    if (token.includes('.')) {
      const byDomain = intel.domain(token);
      if (byDomain?.kind === 'proxyware-domain') return { match: byDomain, word: token };
      continue;
    }
    if (token.includes('-')) continue;
    for (const tld of VENDOR_TLDS) {
      const byDomain = intel.domain(`${token}.${tld}`);
      if (byDomain?.kind === 'proxyware-domain') return { match: byDomain, word: token };
    }
  }
  const word = wordsOf(text).find((w) => PROXYWARE_WORDS.has(w));
  return word ? { word } : undefined;
}

function hostName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The remote side of what the detection is about: the name asked or connected to, else the external
 * end of the flow. An alert's source is the packet's sender, so a pool's reply has the pool as source.
 */
function remoteOf(event: CoalEvent): string | undefined {
  const question = event.dns?.question?.name;
  if (event.event.action === 'dns-query' && question) return hostName(question);
  const domain = event.destination?.domain;
  if (domain) return hostName(domain);
  const src = event.source;
  const dst = event.destination;
  const direction = event.network?.direction;
  const srcFirst =
    direction === 'inbound' ||
    (direction !== 'outbound' &&
      src?.ip !== undefined &&
      dst?.ip !== undefined &&
      isInternalAddress(dst.ip) &&
      !isInternalAddress(src.ip));
  const remote = srcFirst ? src : dst;
  const ip = remote?.ip ?? dst?.ip ?? src?.ip;
  if (ip === undefined) return undefined;
  return endpoint(ip, remote?.ip !== undefined ? remote.port : ip === dst?.ip ? dst?.port : src?.port);
}

/** A hostile text as quoted: clipped, control characters escaped. */
function quote(text: string, max = MAX_QUOTED): string {
  return `"${inert(clip(text, max))}"`;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

interface Verdict {
  kind: SignalKind;
  strength: Strength;
  why: string;
}

/** What a rule's name (then its category) says, mining first. */
function judgeRule(name: string | undefined, category: string | undefined, intel: Intel): Verdict | undefined {
  const words = name ? wordsOf(name) : [];
  if (saysMining(words))
    return namesProtocol(words)
      ? {
          kind: 'pool-contact',
          strength: 'strong',
          why: 'a mining-protocol signature: the IDS saw the pool protocol itself',
        }
      : { kind: 'pool-contact', strength: 'medium', why: 'a coin-mining signature' };
  const vendor = name ? proxywareIn(name, intel) : undefined;
  if (vendor)
    return {
      kind: 'proxyware-endpoint',
      strength: vendor.match?.strength === 'weak' ? 'weak' : 'medium',
      why: proxywareWhy(vendor),
    };
  if (saysNode(words))
    return {
      kind: 'crypto-p2p',
      strength: 'weak',
      why: 'a cryptocurrency node traffic signature, not pool mining (informational)',
    };
  if (category && saysMining(wordsOf(category)))
    return { kind: 'pool-contact', strength: 'medium', why: 'its category names coin mining' };
  return undefined;
}

function proxywareWhy(vendor: { match?: IntelMatch; word: string }): string {
  const m = vendor.match;
  return m
    ? `a proxyware signature naming ${m.kind === 'proxyware-name' ? 'the client' : 'the vendor'} ${inert(clip(vendor.word, 64))} (intel ${m.set}: ${m.indicator})`
    : 'a proxyware signature';
}

/** Does our own intel already know a Zeek intel indicator (so the network or process classifier judged it)? */
function ours(type: string | undefined, indicator: string, intel: Intel): boolean {
  switch (type) {
    case 'Intel::ADDR':
    case 'Intel::SUBNET':
      return intel.ip(indicator.includes('/') ? indicator.slice(0, indicator.indexOf('/')) : indicator) !== undefined;
    case 'Intel::DOMAIN':
      return intel.domain(indicator) !== undefined || intel.proxyChecker(indicator) !== undefined;
    case 'Intel::URL': {
      const host = hostOfUrl(indicator.includes('://') ? indicator : `http://${indicator}`);
      return intel.domain(host) !== undefined || intel.ip(host) !== undefined;
    }
    case 'Intel::FILE_HASH':
      return intel.hash(indicator) !== undefined;
    case 'Intel::FILE_NAME':
    case 'Intel::SOFTWARE':
      return intel.processName(indicator) !== undefined;
    default:
      return false;
  }
}

/** The feeds an intel hit names: Zeek's `sources` set (the event's rule.id is only the first). */
function feedsOf(event: CoalEvent): string[] {
  const sources = event.original.sources;
  const list = Array.isArray(sources) ? sources : [event.rule?.id];
  const out: string[] = [];
  for (const s of list.slice(0, MAX_FEEDS)) if (typeof s === 'string' && s !== '') out.push(s.slice(0, MAX_TEXT_CHARS));
  return out;
}

function judgeIntelHit(event: CoalEvent, intel: Intel): { verdict: Verdict; what: string } | undefined {
  const indicator = text(event.original['seen.indicator'])?.slice(0, MAX_TEXT_CHARS);
  if (indicator === undefined) return undefined;
  const type = event.rule?.name;
  if (ours(type, indicator, intel)) return undefined;
  const feeds = feedsOf(event);
  const where = text(event.original['seen.where']);
  const what = `Zeek intel hit ${quote(type ?? 'Intel', 32)} ${quote(indicator)} (feed ${feeds.length > 0 ? feeds.map((f) => quote(f, 64)).join(', ') : 'unnamed'}${where ? `, seen ${quote(where, 40)}` : ''}, not in our intel)`;
  const miningFeed = feeds.find((f) => saysMining(wordsOf(f)));
  if (miningFeed !== undefined)
    return { what, verdict: { kind: 'pool-contact', strength: 'medium', why: 'the feed names coin mining' } };
  const proxyFeed = feeds.find((f) => proxywareIn(f, intel) !== undefined);
  if (proxyFeed !== undefined)
    return { what, verdict: { kind: 'proxyware-endpoint', strength: 'medium', why: 'the feed names proxyware' } };
  if (saysMining(wordsOf(indicator)))
    return {
      what,
      verdict: {
        kind: 'pool-contact',
        strength: 'weak',
        why: 'the indicator itself names coin mining (weak: the feed does not)',
      },
    };
  if (wordsOf(indicator).some((w) => PROXYWARE_WORDS.has(w)))
    return {
      what,
      verdict: {
        kind: 'proxyware-endpoint',
        strength: 'weak',
        why: 'the indicator itself names proxyware (weak: the feed does not)',
      },
    };
  return undefined;
}

/** Falco rules about container drift: a binary that is not in the image ran (dropped, chmod'ed, fileless, from /dev/shm). */
function saysDrift(words: string[]): boolean {
  return (
    words.includes('drift') ||
    words.includes('fileless') ||
    (hasPair(words, 'drop', 'and') && words.includes('execute')) ||
    (words.includes('not') && hasPair(words, 'base', 'image')) ||
    hasPair(words, 'dev', 'shm')
  );
}

/**
 * What a Falco rule's name says. Falco watches processes, so a mining or proxyware rule on anything
 * but a connection is about the process (medium: Falco's Stratum rule reads the command line, not the
 * wire); on a connection it is about the remote end, as an IDS alert is. A drift rule is
 * masquerade-like process evidence: something ran that the image did not bring.
 */
function judgeFalco(name: string | undefined, event: CoalEvent, intel: Intel): Verdict | undefined {
  const words = name ? wordsOf(name) : [];
  const onConnection = event.event.action === 'connect';
  const verdict = judgeRule(name, undefined, intel);
  if (verdict && !onConnection && verdict.kind === 'pool-contact')
    return { kind: 'miner-process', strength: 'medium', why: 'a coin-mining rule on the process' };
  if (verdict && !onConnection && verdict.kind === 'proxyware-endpoint')
    return { kind: 'proxyware-process', strength: verdict.strength, why: verdict.why };
  if (verdict) return verdict;
  if (saysDrift(words))
    return {
      kind: 'masquerade',
      strength: 'medium',
      why: 'a container drift rule: a binary the image did not bring ran',
    };
  return undefined;
}

/** GuardDuty's families of coin-mining findings, lower-cased. */
const GUARDDUTY_POOL_FAMILIES = new Set(['bitcoindomainrequest']);
const GUARDDUTY_MINER_FAMILIES = new Set(['cryptominerexecuted']);

/** What a GuardDuty finding type says: its threat purpose and family decide, nothing else in it. */
function judgeGuardDuty(type: string | undefined): Verdict | undefined {
  if (type === undefined) return undefined;
  const text = type.slice(0, MAX_TEXT_CHARS).toLowerCase();
  const colon = text.indexOf(':');
  const slash = text.indexOf('/', colon + 1);
  if (colon <= 0 || slash < 0) return undefined;
  const purpose = text.slice(0, colon);
  const family = text.slice(slash + 1).split(/[.!]/, 1)[0];
  if (GUARDDUTY_MINER_FAMILIES.has(family))
    return { kind: 'miner-process', strength: 'medium', why: 'GuardDuty Runtime Monitoring saw a coin miner run' };
  if (purpose === 'cryptocurrency' || GUARDDUTY_POOL_FAMILIES.has(family))
    return {
      kind: 'pool-contact',
      strength: 'medium',
      why: 'a GuardDuty cryptocurrency finding: the instance reached a domain or address tied to coin mining',
    };
  return undefined;
}

/** What a memory scan's match is evidence of: its rule's kind and strength (meta), else its name. */
function judgeMemory(name: string | undefined, event: CoalEvent, intel: Intel): Verdict | undefined {
  const kind = text(event.rule?.category);
  const said = event.original.strength;
  const strength: Strength | undefined = said === 'weak' || said === 'medium' || said === 'strong' ? said : undefined;
  if (kind === 'miner')
    return { kind: 'miner-process', strength: strength ?? 'medium', why: "a miner's marks in its own memory" };
  if (kind === 'proxyware')
    return {
      kind: 'proxyware-process',
      strength: strength ?? 'medium',
      why: "a proxyware client's marks in its own memory",
    };
  if (kind === 'shape') return { kind: 'miner-tuning', strength: 'medium', why: "a RandomX miner's memory shape" };
  if (kind === 'hidden' && event.event.dataset === 'inspect.hidden')
    return {
      kind: 'masquerade',
      strength: 'strong',
      why: 'a process hidden from what ps and top read: a rootkit or an ld.so.preload hider at work',
    };
  const verdict = judgeFalco(name, event, intel);
  return verdict && PROCESS_KINDS.has(verdict.kind) ? verdict : undefined;
}

const PROCESS_KINDS: ReadonlySet<SignalKind> = new Set([
  'miner-process',
  'proxyware-process',
  'masquerade',
  'miner-tuning',
]);

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const rule = event.rule;
  if (!rule || !event.event.type?.includes('indicator')) return;
  // `inspect --format events` saved and hunted arrives as our NDJSON: its dataset still says what it is
  const format =
    event.coalmine.format === 'ndjson' &&
    (event.event.dataset === 'inspect.yara' || event.event.dataset === 'inspect.hidden')
      ? 'inspect'
      : event.coalmine.format;
  if (
    format !== 'suricata' &&
    format !== 'zeek' &&
    format !== 'falco' &&
    format !== 'guardduty' &&
    format !== 'inspect'
  )
    return;
  const producer: Producer = format;
  const name = text(rule.name);
  const category = text(rule.category);

  let verdict: Verdict | undefined;
  let what: string;
  if (producer === 'guardduty') {
    verdict = judgeGuardDuty(name);
    if (!verdict) return;
    const count = event.original.Count;
    const seen = typeof count === 'number' && Number.isInteger(count) && count > 1 ? `, seen ${count} times` : '';
    what = `GuardDuty finding ${quote(name ?? '(unnamed)')}${category ? ` (${quote(category, 32)}${seen})` : seen ? ` (${seen.slice(2)})` : ''}`;
  } else if (producer === 'inspect' && event.event.dataset === 'inspect.hidden') {
    verdict = judgeMemory(name, event, intel);
    if (!verdict) return;
    const ticks = event.original.cpu_ticks;
    const cpu = typeof ticks === 'number' && Number.isFinite(ticks) ? `, ${Math.round(ticks)} CPU ticks used` : '';
    what = `the /proc listing hides it, yet /proc/${event.process?.pid ?? '?'} answers by name${cpu}`;
  } else if (producer === 'inspect') {
    verdict = judgeMemory(name, event, intel);
    if (!verdict) return;
    const region = text(event.original.region);
    const found = text(event.original.text);
    what = `YARA rule ${quote(name ?? '(unnamed)', 64)} matched its memory${region ? ` (${quote(region, 80)}` : ''}${found ? `${region ? ', ' : ' ('}${quote(found, 80)})` : region ? ')' : ''}`;
  } else if (producer === 'falco') {
    verdict = judgeFalco(name, event, intel);
    if (!verdict) return;
    what = `Falco alert ${quote(name ?? '(unnamed)')}${category ? ` (${quote(category, 32)})` : ''}`;
  } else if (producer === 'zeek' && category === 'intel') {
    const hit = judgeIntelHit(event, intel);
    if (!hit) return;
    ({ verdict, what } = hit);
  } else {
    verdict = judgeRule(name, producer === 'zeek' ? undefined : category, intel);
    if (!verdict) return;
    if (producer === 'suricata') {
      const id = text(rule.id);
      const details = [id ? `sid ${inert(clip(id, 32))}` : undefined, category ? quote(category, 64) : undefined];
      const shown = details.filter((d) => d !== undefined).join(', ');
      what = `Suricata alert ${quote(name ?? '(unnamed)')}${shown ? ` (${shown})` : ''}`;
    } else {
      const msg = text(event.original.msg);
      what = `Zeek notice ${quote(name ?? '(unnamed)')}${msg ? ` (${quote(msg)})` : ''}`;
    }
  }
  const onProcess = PROCESS_KINDS.has(verdict.kind);
  const destination = onProcess ? undefined : remoteOf(event);
  out.push(
    signalFor(event, {
      kind: verdict.kind,
      class: onProcess ? 'process' : 'network',
      strength: verdict.strength,
      by: `ids:${producer}`,
      explanation: `${who(event)}${destination ? ` and ${destination}` : ''}: ${what}, ${verdict.why}`,
      subject: destination ? { destination } : undefined,
    }),
  );
}

export const idsAlert: Classifier = {
  name: 'ids',
  summary:
    'Suricata alerts, Zeek notices/intel hits and Falco alerts naming mining, proxyware, node traffic or drift; GuardDuty crypto finding types; YARA matches in process memory (inspect)',
  classify,
};
