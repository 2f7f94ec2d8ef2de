/**
 * Kernel modules two ways: `/proc/modules` (the kernel's module list) against `/sys/module` (sysfs).
 * A loadable module that is loaded has `/sys/module/NAME/initstate`; built-in ones have a directory
 * but no initstate and are never in `/proc/modules`. A rootkit that unlinks itself from one list and
 * not the other (Diamorphine hides from `/proc/modules`; others remove their kobject) shows as a
 * module in only one. Out-of-tree or unsigned modules (taint `O`/`E` in `/proc/modules`) are listed too:
 * context, not evidence alone. Read-only; an unreadable side (no /proc/modules in a sandbox) is said.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clip } from '../util/hostile.js';

export interface ModuleScan {
  /** In /proc/modules, no /sys/module entry. */
  missingFromSys: string[];
  /** Loaded per sysfs (initstate), not in /proc/modules. */
  missingFromProc: string[];
  /** Taint flags containing O (out of tree) or E (unsigned), by module. */
  tainted: { name: string; taint: string }[];
  /** Sides that could not be read (why). */
  unreadable: string[];
  listed: number;
}

const MAX_MODULES = 10_000;
const MAX_MODULES_BYTES = 4 * 1024 * 1024;

/** `/proc/modules` lines: `name size refs deps state address [(taint)]`. */
export function parseProcModules(text: string): { name: string; taint?: string }[] {
  const out: { name: string; taint?: string }[] = [];
  for (const line of text.split('\n').slice(0, MAX_MODULES)) {
    const m = /^([A-Za-z0-9_-]{1,64}) \d+ /.exec(line);
    if (!m) continue;
    const taint = /\(([A-Z]{1,16})\)\s*$/.exec(line);
    out.push(taint ? { name: m[1], taint: taint[1] } : { name: m[1] });
  }
  return out;
}

export function scanKernelModules(procRoot = '/proc', sysRoot = '/sys'): ModuleScan {
  const scan: ModuleScan = { missingFromSys: [], missingFromProc: [], tainted: [], unreadable: [], listed: 0 };
  let proc: { name: string; taint?: string }[] | undefined;
  try {
    proc = parseProcModules(readFileSync(join(procRoot, 'modules')).subarray(0, MAX_MODULES_BYTES).toString('latin1'));
  } catch (err) {
    scan.unreadable.push(`${join(procRoot, 'modules')}: ${clip((err as Error).message, 120)}`);
  }
  let sys: string[] | undefined;
  try {
    sys = readdirSync(join(sysRoot, 'module')).slice(0, MAX_MODULES);
  } catch (err) {
    scan.unreadable.push(`${join(sysRoot, 'module')}: ${clip((err as Error).message, 120)}`);
  }
  if (proc) {
    scan.listed = proc.length;
    for (const m of proc) if (m.taint && /[OE]/.test(m.taint)) scan.tainted.push({ name: m.name, taint: m.taint });
  }
  if (!proc || !sys) return scan;
  // sysfs spells a module's dashes as underscores
  const inProc = new Set(proc.map((m) => m.name.replaceAll('-', '_')));
  const inSys = new Set(sys);
  for (const m of proc) if (!inSys.has(m.name.replaceAll('-', '_'))) scan.missingFromSys.push(m.name);
  for (const name of sys)
    if (!inProc.has(name) && existsSync(join(sysRoot, 'module', name, 'initstate'))) scan.missingFromProc.push(name);
  return scan;
}
