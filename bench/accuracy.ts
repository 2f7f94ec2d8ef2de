/**
 * `npm run bench:accuracy`: precision and recall of `hunt` on labelled corpora (PRODUCT.md §7), per case
 * and in total. A case is one input set with a label: positive (compute hijacking is there, with the
 * severity its author expects) or negative (nothing at or above low may be reported; a finding the
 * policy suppresses is not reported). The labels are data written beside the inputs, not here: the
 * scenario READMEs' headings (`## NAME: … (positive, high)` / `(negative)`), plus the cases listed
 * below with the reason for each label, and ../shared/data's labelled public samples (its README:
 * 30 EVTX files of non-mining attacks, 3 mining captures and a Bitcoin node's) when present.
 * A detection is any unsuppressed finding at low or above; an informational one (a crypto P2P node) is
 * not. Case level: TP a positive detected, FN a positive missed, FP a negative with a detection, TN a
 * negative left quiet; severity agreement is counted for the positives that name one.
 * `node --import tsx bench/accuracy.ts [--results DIR]` → results/accuracy.md and accuracy.json.
 * These corpora were written or chosen by the team: the numbers say the labelled behaviour holds, not
 * how coalmine does on data nobody here has seen.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEVERITY_RANK, type Severity } from '../src/model/finding.js';
import { defaultPolicy, type Policy } from '../src/model/policy.js';
import { hunt } from '../src/run/hunt.js';
import { loadPolicy } from '../src/run/policy.js';
import { DEFAULT_RULE_DIRS } from '../src/signals/rules.js';
import { describeMachine, machine } from './machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS = join(ROOT, 'test', 'fixtures', 'scenarios');
const SHARED = join(ROOT, '..', 'shared', 'data');

interface Case {
  corpus: string;
  name: string;
  paths: string[];
  policy?: string;
  positive: boolean;
  /** The severity the case's author expects, when it names one. */
  severity?: Severity;
  why: string;
}

interface Outcome extends Case {
  detected: boolean;
  /** Unsuppressed findings at low or above: analytic and severity. */
  findings: string[];
  worst?: Severity;
  suppressed: number;
}

/** The scenario READMEs' labelled headings: `## NAME: what happens (positive, high)` or `(negative)`. */
function readmeCases(group: string): Case[] {
  const dir = join(SCENARIOS, group);
  const text = readFileSync(join(dir, 'README.md'), 'utf8');
  const out: Case[] = [];
  for (const m of text.matchAll(/^## ([\w-]+): (.+) \((positive|negative)(?:, (low|medium|high|critical))?\)$/gm)) {
    const [, name, what, label, severity] = m;
    if (!existsSync(join(dir, name))) continue;
    const policy = join(dir, `${name}-policy.yaml`);
    out.push({
      corpus: `scenarios/${group}`,
      name,
      paths: [join(dir, name)],
      ...(existsSync(policy) ? { policy } : {}),
      positive: label === 'positive',
      ...(severity ? { severity: severity as Severity } : {}),
      why: what,
    });
  }
  return out;
}

/** The other scenarios and the bundled example, labelled by what each was written to show. */
function listedCases(): Case[] {
  const s = (name: string) => join(SCENARIOS, name);
  const c = (name: string, paths: string[], positive: boolean, why: string, extra: Partial<Case> = {}): Case => ({
    corpus: 'scenarios',
    name,
    paths,
    positive,
    why,
    ...extra,
  });
  return [
    c(
      'kinsing-like',
      [join(ROOT, 'examples', 'kinsing-like')],
      true,
      'the bundled example: a Kinsing-style dropper, miner, cron and pool',
      {
        corpus: 'examples',
        severity: 'high',
      },
    ),
    c(
      'an0741-miner',
      [s('an0741-miner')],
      true,
      'Windows: a renamed XMRig from a dropper, pool contact, typeperf CPU',
      {
        severity: 'high',
      },
    ),
    c('an0741-benign', [s('an0741-benign')], false, 'Windows: builds, an encoder and a backup at full CPU'),
    c('benign-heavy', [s('benign-heavy')], false, 'Linux: compilers, ffmpeg and an approved research xmrig', {
      policy: s('benign-heavy-policy.yaml'),
    }),
    c(
      'lnx-persisted-miner/cron-host',
      [s('lnx-persisted-miner/cron-host')],
      true,
      'a cron line that runs a miner, nothing else',
      {
        severity: 'low',
      },
    ),
    c(
      'lnx-persisted-miner/unit-host',
      [s('lnx-persisted-miner/unit-host')],
      true,
      'a systemd unit that runs a miner, nothing else',
      {
        severity: 'low',
      },
    ),
    c('lnx-persisted-benign', [s('lnx-persisted-benign')], false, 'ordinary cron, systemd and rc persistence'),
    c('lnx-persisted-generic', [s('lnx-persisted-generic')], false, 'curl|bash-style persistence that runs no miner'),
    c(
      'lnx-decoded-dropper',
      [s('lnx-decoded-dropper')],
      true,
      'a base64-encoded dropper line run from cron and a shell',
    ),
    c(
      'lnx-persisted-decoded/dropper-host',
      [s('lnx-persisted-decoded/dropper-host')],
      false,
      'a base64 cron line that decodes to curl|sh and nothing else: persistence, not hijacking',
    ),
    c(
      'lnx-persisted-decoded/miner-host',
      [s('lnx-persisted-decoded/miner-host')],
      true,
      'a base64 cron line that decodes to a miner',
      {
        severity: 'low',
      },
    ),
    c(
      'lnx-persisted-decoded/exec-host',
      [s('lnx-persisted-decoded/exec-host')],
      true,
      'a base64 dropper cron line, then what it drops running',
      { severity: 'medium' },
    ),
    c(
      'win-autostart',
      [s('win-autostart')],
      true,
      'Windows hosts whose Run key, Winlogon value, service or task starts a miner',
      {
        severity: 'low',
      },
    ),
  ];
}

/** ../shared/data's public samples, labelled by its README, when the directory is there. */
function sharedCases(): Case[] {
  if (!existsSync(SHARED)) return [];
  const out: Case[] = [];
  const evtx = join(SHARED, 'evtx');
  for (const f of existsSync(evtx) ? readdirSync(evtx).sort() : [])
    if (f.endsWith('.evtx'))
      out.push({
        corpus: 'shared/evtx',
        name: f,
        paths: [join(evtx, f)],
        positive: false,
        why: 'a non-mining attack technique',
      });
  const pcaps: Array<[string, boolean, string]> = [
    ['xmr-eu1.nanopool.org.pcapng', true, 'a Monero Stratum session'],
    ['zec-eu.suprnova.cc.pcapng', true, 'a ZCash Stratum session'],
    ['pool.eth.pp.ua.pcapng', true, 'Ethereum getwork mining over HTTP on port 80'],
    ['bitcoin.pcap', false, 'a Bitcoin node: crypto P2P, not mining'],
  ];
  for (const [f, positive, why] of pcaps)
    if (existsSync(join(SHARED, 'pcap', f)))
      out.push({ corpus: 'shared/pcap', name: f, paths: [join(SHARED, 'pcap', f)], positive, why });
  out.push(...regressionCases());
  return out;
}

/**
 * SigmaHQ's regression data: for each rule that has it, the real EVTX events the rule was written to
 * match. Positive when the rule is a compute-hijacking one (tagged attack.t1496), else a labelled
 * negative: the events of an attack technique that is not mining.
 */
function regressionCases(): Case[] {
  const sigma = join(SHARED, 'sigmahq');
  const base = join(sigma, 'regression_data');
  const out: Case[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || !existsSync(dir)) return;
    const names = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    if (names.some((n) => n.name === 'info.yml')) {
      const evtx = names.filter((n) => n.isFile() && n.name.endsWith('.evtx')).map((n) => join(dir, n.name));
      const rule = `${join(sigma, relative(base, dir))}.yml`;
      if (evtx.length === 0 || !existsSync(rule)) return;
      const positive = /attack\.t1496/i.test(readFileSync(rule, 'utf8'));
      out.push({
        corpus: 'shared/sigmahq-regression',
        name: relative(base, dir).split('/').at(-1) ?? dir,
        paths: evtx,
        positive,
        why: positive ? 'a SigmaHQ mining rule’s own events' : 'the events a non-mining SigmaHQ rule was written for',
      });
      return;
    }
    for (const n of names) if (n.isDirectory()) walk(join(dir, n.name), depth + 1);
  };
  walk(base, 0);
  return out;
}

async function policyOf(path: string | undefined): Promise<Policy> {
  if (!path) return defaultPolicy();
  const loaded = await loadPolicy(path);
  if (loaded.errors.length > 0) throw new Error(`${path}: ${loaded.errors.map((e) => e.reason).join('; ')}`);
  return loaded.policy;
}

async function judge(c: Case): Promise<Outcome> {
  const result = await hunt({
    paths: c.paths,
    policy: await policyOf(c.policy),
    intelFiles: [],
    ruleDirs: [...DEFAULT_RULE_DIRS],
  });
  const reported = result.findings.filter((f) => !f.suppressed_by && SEVERITY_RANK[f.severity] >= SEVERITY_RANK.low);
  let worst: Severity | undefined;
  for (const f of reported) if (!worst || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst]) worst = f.severity;
  return {
    ...c,
    detected: reported.length > 0,
    findings: reported.map((f) => `${f.analytic} ${f.severity}`),
    ...(worst ? { worst } : {}),
    suppressed: result.findings.filter((f) => f.suppressed_by).length,
  };
}

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : Math.round((a / b) * 1000) / 1000;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--results');
  const resultsDir = at >= 0 ? args[at + 1] : join(ROOT, 'bench', 'results');
  const cases = [...readmeCases('containers'), ...readmeCases('cloud'), ...listedCases(), ...sharedCases()];
  const outcomes: Outcome[] = [];
  for (const c of cases) outcomes.push(await judge(c));
  const tp = outcomes.filter((o) => o.positive && o.detected).length;
  const fn = outcomes.filter((o) => o.positive && !o.detected).length;
  const fp = outcomes.filter((o) => !o.positive && o.detected).length;
  const tn = outcomes.filter((o) => !o.positive && !o.detected).length;
  const rated = outcomes.filter((o) => o.positive && o.severity);
  const severityAgrees = rated.filter((o) => o.worst === o.severity).length;
  const totals = {
    cases: outcomes.length,
    positives: tp + fn,
    negatives: fp + tn,
    tp,
    fn,
    fp,
    tn,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    severity_agreement: ratio(severityAgrees, rated.length),
    severity_rated: rated.length,
  };
  mkdirSync(resultsDir, { recursive: true });
  const m = machine();
  writeFileSync(
    join(resultsDir, 'accuracy.json'),
    `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), machine: m, totals, outcomes: outcomes.map(({ paths, policy, ...o }) => ({ ...o, paths: paths.map((p) => relative(ROOT, p)), ...(policy ? { policy: relative(ROOT, policy) } : {}) })) }, null, 2)}\n`,
  );
  const cell = (o: Outcome) => (o.positive ? (o.detected ? 'TP' : '**FN**') : o.detected ? '**FP**' : 'TN');
  const lines = [
    '# hunt accuracy on labelled corpora',
    '',
    `${outcomes.length} labelled cases (${totals.positives} positive, ${totals.negatives} negative), each hunted whole with the default rules and its own policy when it has one. Produced by \`npm run bench:accuracy\` on ${new Date().toISOString().slice(0, 10)}.${existsSync(SHARED) ? '' : ' ../shared/data was absent: its public samples are not in these numbers.'}`,
    '',
    '| | count |',
    '|---|---:|',
    `| true positives (hijacking reported) | ${tp} |`,
    `| false negatives (hijacking missed) | ${fn} |`,
    `| false positives (a negative with a finding at low or above) | ${fp} |`,
    `| true negatives | ${tn} |`,
    '',
    `**Precision ${totals.precision ?? 'n/a'}, recall ${totals.recall ?? 'n/a'}** (case level); the worst severity reported equals the author's expected one on ${severityAgrees} of ${rated.length} positives that name one.`,
    '',
    'These corpora were written (scenarios) or chosen (public samples) by the team: the numbers say the labelled behaviour holds. How coalmine does on telemetry nobody here has seen is measured by trials, not here.',
    '',
    '| corpus | cases | TP | FN | FP | TN |',
    '|---|---:|---:|---:|---:|---:|',
    ...[...new Set(outcomes.map((o) => o.corpus))].map((corpus) => {
      const of = outcomes.filter((o) => o.corpus === corpus);
      const n = (k: string) => of.filter((o) => cell(o).replace(/\*/g, '') === k).length;
      return `| ${corpus} | ${of.length} | ${n('TP')} | ${n('FN')} | ${n('FP')} | ${n('TN')} |`;
    }),
    '',
    'Every case of our own corpora, and any case of the public ones that was not a true negative:',
    '',
    '| corpus | case | label | expected | reported | outcome |',
    '|---|---|---|---|---|---|',
    ...outcomes
      .filter((o) => !o.corpus.startsWith('shared/') || o.positive || o.detected)
      .map(
        (o) =>
          `| ${o.corpus} | ${o.name} | ${o.positive ? 'positive' : 'negative'} | ${o.severity ?? ''} | ${o.findings.length ? o.findings.join(', ') : 'nothing'}${o.suppressed ? ` (+${o.suppressed} suppressed)` : ''} | ${cell(o)} |`,
      ),
    '',
    describeMachine(m),
    '',
  ];
  writeFileSync(join(resultsDir, 'accuracy.md'), lines.join('\n'));
  process.stdout.write(
    `accuracy: ${outcomes.length} cases, precision ${totals.precision}, recall ${totals.recall}, severity agreement ${severityAgrees}/${rated.length}; ${join(relative(process.cwd(), resultsDir) || '.', 'accuracy.md')}\n`,
  );
  for (const o of outcomes)
    if (o.positive !== o.detected)
      process.stdout.write(
        `  ${cell(o).replace(/\*/g, '')} ${o.corpus}/${o.name}: ${o.findings.join(', ') || 'nothing'}\n`,
      );
}

await main();
