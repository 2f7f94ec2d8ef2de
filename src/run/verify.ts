/**
 * `verify` composed: a root's system files against its package records (dpkg, or rpm where rpm is
 * installed), its persistence places against a baseline, and on a live root the tampering checks of
 * the running system (hidden processes, preloaded libraries, kernel modules). Everything is read-only.
 * The report is a list of items, each evidence (a changed binary, an unowned one, a hidden pid) or
 * context (a changed conffile, a tainted module), and the checks that could not run say why.
 */
import type { Issue } from '../model/issue.js';
import { type Baseline, compareBaseline, readBaseline, snapshot } from '../sensor/baseline.js';
import { findHiddenProcesses, listPids } from '../sensor/hidden-processes.js';
import { verifyPackages } from '../sensor/integrity.js';
import { scanKernelModules } from '../sensor/kernel-modules.js';
import { type PackageDb, readDpkg, readRpm } from '../sensor/package-db.js';
import { scanPreload } from '../sensor/preload.js';
import { clip } from '../util/hostile.js';
import { persistencePlaces } from './watch.js';

export const VERIFY_CHECKS = ['package', 'unowned', 'preload', 'hidden-process', 'kernel-module', 'baseline'] as const;
export type VerifyCheck = (typeof VERIFY_CHECKS)[number];

export interface VerifyItem {
  check: VerifyCheck;
  /** changed, missing, unowned, hidden, added, removed, not-in-proc-modules, not-in-sysfs, tainted. */
  status: string;
  /** Evidence of tampering (true) or context an analyst weighs (false). */
  evidence: boolean;
  path?: string;
  pid?: number;
  name?: string;
  package?: string;
  /** One line a human can check. */
  detail: string;
}

export interface VerifyReport {
  root: string;
  live: boolean;
  items: VerifyItem[];
  /** What each check looked at, or why it did not run. */
  checks: { check: VerifyCheck; ran: boolean; note: string }[];
  /** The baseline written (`--baseline-out`), to be saved by the caller. */
  baselineOut?: Baseline;
}

export interface VerifyOptions {
  root: string;
  /** Run the live checks (hidden processes, LD_PRELOAD environments, kernel modules): only for `/`. */
  live: boolean;
  procRoot?: string;
  sysRoot?: string;
  baselineIn?: string;
  /** Take a baseline of the persistence places now (returned in the report). */
  baselineOut?: boolean;
  hiddenBudgetMs?: number;
  hashBudgetMs?: number;
  /** Only these checks (default: all). `package` and `unowned` run together. */
  only?: ReadonlySet<VerifyCheck>;
  now?: () => number;
  onIssue?: (i: Issue) => void;
}

/** The persistence places `watch` reads, plus every account's authorized_keys. */
export function baselinePlaces(root: string): string[] {
  const places = persistencePlaces(root);
  const homes = new Set(['root']);
  for (const p of places) {
    const m = /^(home\/[^/]+)\//.exec(p);
    if (m) homes.add(m[1]);
  }
  for (const h of homes) places.push(`${h}/.ssh/authorized_keys`, `${h}/.ssh/authorized_keys2`);
  return places;
}

const LIVE_ONLY = 'live checks only on the running system (verify without --root, or --root /)';
const short = (hex: string | undefined) => (hex ? hex.slice(0, 12) : '?');

export async function runVerify(options: VerifyOptions): Promise<VerifyReport> {
  const report = (i: Issue) => options.onIssue?.(i);
  const now = options.now ?? (() => Date.now());
  const out: VerifyReport = { root: options.root, live: options.live, items: [], checks: [] };
  const add = (item: VerifyItem) => out.items.push(item);
  const wanted = (c: VerifyCheck) => options.only === undefined || options.only.has(c);
  const files = wanted('package') || wanted('unowned');

  // package records
  let db: PackageDb | undefined = files || wanted('preload') ? await readDpkg(options.root, report) : undefined;
  if (!db && files) {
    const rpm = await readRpm(options.root);
    if (rpm) {
      db = rpm.db;
      for (const c of rpm.changes)
        add({
          check: 'package',
          status: c.flags === 'missing' ? 'missing' : 'changed',
          evidence: !c.conffile,
          path: c.path,
          detail: `rpm -V: ${c.flags}${c.conffile ? ' (conffile)' : ''} ${clip(c.path, 4096)}`,
        });
    }
  }
  if (!files)
    out.checks.push(
      { check: 'package', ran: false, note: 'not asked for' },
      { check: 'unowned', ran: false, note: 'not asked for' },
    );
  else if (db) {
    const scan = await verifyPackages({ root: options.root, db, timeBudgetMs: options.hashBudgetMs });
    for (const i of scan.items) {
      if (i.status === 'unowned')
        add({
          check: 'unowned',
          status: 'unowned',
          evidence: true,
          path: i.path,
          detail: `${i.path} (${i.sizeBytes} bytes) belongs to no ${db.kind} package`,
        });
      else
        add({
          check: 'package',
          status: i.status,
          evidence: !i.conffile && i.runnable === true,
          path: i.path,
          package: i.package,
          detail:
            i.status === 'changed'
              ? `${i.path} differs from ${i.package}'s record${i.conffile ? ' (a conffile: may be an administrator edit)' : ''}: md5 ${short(i.actual)}…, recorded ${short(i.expected)}…`
              : `${i.path} of ${i.package} is missing`,
        });
    }
    out.checks.push({
      check: 'package',
      ran: true,
      note: `${db.kind}: ${db.packages} packages, ${scan.hashed} recorded files hashed (${Math.round(scan.bytesHashed / 1024 / 1024)} MiB) in ${scan.durationMs} ms${scan.truncated ? `; stopped early (${scan.truncated} bound)` : ''}${scan.skipped.length > 0 ? `; ${scan.skipped.length} files over the size bound not hashed` : ''}`,
    });
    out.checks.push({
      check: 'unowned',
      ran: true,
      note: `${scan.listed} files in bin/sbin/lib directories looked up`,
    });
  } else {
    const note = 'no package records under the root (no var/lib/dpkg/status; no rpm database, or rpm not installed)';
    out.checks.push({ check: 'package', ran: false, note }, { check: 'unowned', ran: false, note });
  }

  // preloaded libraries: the file always, environments on a live root
  const procRoot = options.procRoot ?? '/proc';
  // hidden pids first: their environments are read too (a hider's own process is the one to see)
  const hidden =
    options.live && wanted('hidden-process')
      ? findHiddenProcesses({ procRoot, timeBudgetMs: options.hiddenBudgetMs })
      : undefined;
  const listed = options.live ? [...listPids(procRoot), ...(hidden?.hidden.map((h) => h.pid) ?? [])] : undefined;
  const preload = !wanted('preload')
    ? { entries: [], environments: 0, environmentsDenied: 0, deniedPids: [] }
    : await scanPreload({
        root: options.root,
        procRoot: options.live ? procRoot : undefined,
        pids: listed,
        owner: db?.owner,
      });
  for (const e of preload.entries) {
    const where =
      e.from === 'ld.so.preload' ? `/etc/ld.so.preload:${e.line}` : `LD_PRELOAD of pid ${(e.pids ?? []).join(', ')}`;
    const owned = e.package !== undefined;
    add({
      check: 'preload',
      status: e.missing ? 'missing' : owned ? 'owned' : 'unowned',
      // every process loads what ld.so.preload names: an unowned library there is the hider's mark
      evidence: !owned && (e.from === 'ld.so.preload' || !e.missing),
      path: e.library,
      pid: e.pids?.[0],
      package: e.package,
      detail: `${where} preloads ${e.library}${owned ? ` (package ${e.package})` : e.missing ? ' (not on disk)' : ', which no package owns'}`,
    });
  }
  out.checks.push({
    check: 'preload',
    ran: wanted('preload'),
    note: !wanted('preload')
      ? 'not asked for'
      : options.live
        ? `/etc/ld.so.preload and ${preload.environments} process environments${preload.environmentsDenied > 0 ? `; ${preload.environmentsDenied} refused (${process.getuid?.() === 0 ? 'to root: non-dumpable or another namespace' : 'not root'}), an LD_PRELOAD there unseen: pid ${preload.deniedPids.join(', ')}${preload.environmentsDenied > preload.deniedPids.length ? ', …' : ''}` : ''}`
        : '/etc/ld.so.preload (environments only on a live root)',
  });

  if (hidden) {
    for (const h of hidden.hidden)
      add({
        check: 'hidden-process',
        status: 'hidden',
        evidence: true,
        pid: h.pid,
        name: h.name,
        path: h.executable,
        detail: `pid ${h.pid} (${h.name}${h.executable ? `, ${h.executable}${h.exeDeleted ? ' (deleted)' : ''}` : ''}) exists${h.answersKill ? ' and answers kill(pid, 0)' : ''} but is missing from the /proc listing; ${h.threads} task(s), ${h.cpuTicks ?? 0} CPU ticks${h.commandLine ? `; command line ${JSON.stringify(clip(h.commandLine, 200))}` : ''}`,
      });
    out.checks.push({
      check: 'hidden-process',
      ran: true,
      note: `${hidden.listed} listed, pids 1..${hidden.probedUpTo} probed${hidden.pidMax ? ` of pid_max ${hidden.pidMax}` : ''} in ${hidden.durationMs} ms${hidden.truncated ? `; stopped early (${hidden.truncated}): pids above ${hidden.probedUpTo} not checked` : ''}`,
    });
  } else out.checks.push({ check: 'hidden-process', ran: false, note: options.live ? 'not asked for' : LIVE_ONLY });
  if (options.live && wanted('kernel-module')) {
    const mods = scanKernelModules(procRoot, options.sysRoot ?? '/sys');
    for (const name of mods.missingFromProc)
      add({
        check: 'kernel-module',
        status: 'not-in-proc-modules',
        evidence: true,
        name,
        detail: `module ${name} is loaded per /sys/module but missing from /proc/modules`,
      });
    for (const name of mods.missingFromSys)
      add({
        check: 'kernel-module',
        status: 'not-in-sysfs',
        evidence: true,
        name,
        detail: `module ${name} is in /proc/modules but has no /sys/module entry`,
      });
    for (const t of mods.tainted)
      add({
        check: 'kernel-module',
        status: 'tainted',
        evidence: false,
        name: t.name,
        detail: `module ${t.name} taints the kernel (${t.taint}: out-of-tree or unsigned)`,
      });
    out.checks.push({
      check: 'kernel-module',
      ran: mods.unreadable.length === 0,
      note:
        mods.unreadable.length > 0
          ? `not compared: ${mods.unreadable.join('; ')}`
          : `${mods.listed} modules in /proc/modules compared with /sys/module`,
    });
  } else out.checks.push({ check: 'kernel-module', ran: false, note: options.live ? 'not asked for' : LIVE_ONLY });

  // persistence places against a baseline
  if ((options.baselineIn !== undefined || options.baselineOut) && wanted('baseline')) {
    const current = await snapshot(options.root, baselinePlaces(options.root), now(), report);
    if (options.baselineOut) out.baselineOut = current;
    if (options.baselineIn !== undefined) {
      const before = await readBaseline(options.baselineIn, report);
      if (before) {
        for (const c of compareBaseline(before, current))
          add({
            check: 'baseline',
            status: c.status,
            evidence: true,
            path: c.path,
            detail: `${c.path} ${c.status} since the baseline of ${before.created || 'unknown date'}${c.after?.link !== undefined ? ` (link to ${c.after.link})` : ''}`,
          });
        out.checks.push({
          check: 'baseline',
          ran: true,
          note: `${current.files.length} files in persistence places against ${before.files.length} in the baseline`,
        });
      } else out.checks.push({ check: 'baseline', ran: false, note: 'the baseline could not be read (see issues)' });
    } else out.checks.push({ check: 'baseline', ran: true, note: `baseline taken: ${current.files.length} files` });
  } else out.checks.push({ check: 'baseline', ran: false, note: 'no --baseline given' });
  return out;
}
