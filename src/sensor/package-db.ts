/**
 * The package manager's own records of a root (live `/` or a collected filesystem): dpkg's `status`
 * (installed packages and their conffiles' md5s) and `info/*.list` / `info/*.md5sums` (the files each
 * package installed and their md5s). Read-only and bounded (file sizes, packages, paths); a record
 * that cannot be read is an issue, and reading goes on. RPM keeps a database only `rpm` reads:
 * `rpmVerify` runs `rpm -Va` through execFile with fixed arguments (no shell) when rpm exists.
 *
 * Merged /usr: where the root's `bin` is a link (Debian 12, Fedora), dpkg may list `/bin/ls` for what
 * is reached as `/usr/bin/ls`; paths are compared in their `/usr` form there.
 *
 * Diversions (`info/../diversions`, `dpkg-divert`): a package's file diverted by another package (or
 * locally, by the administrator) was installed at the diverted-to path, so its record is checked
 * there (postgresql-common diverts libpq-dev's `/usr/bin/pg_config` to `pg_config.libpq-dev`, and
 * installs its own at `/usr/bin/pg_config`), as `dpkg --verify` does.
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { resolveInRoot } from '../util/root-path.js';

export interface PackageFile {
  path: string;
  md5: string;
  package: string;
  /** A dpkg conffile: an administrator may change it on purpose. */
  conffile?: boolean;
}

export interface PackageDb {
  kind: 'dpkg' | 'rpm';
  /** Installed packages read. */
  packages: number;
  /** The package owning an absolute path (as the root's host names it), if any. */
  owner(path: string): string | undefined;
  /** Every file with a recorded md5 (md5sums and conffiles). */
  files: PackageFile[];
  /** The records were cut short at a bound (said in an issue). */
  truncated: boolean;
}

const MAX_STATUS_BYTES = 64 * 1024 * 1024;
const MAX_INFO_FILE_BYTES = 16 * 1024 * 1024;
const MAX_PACKAGES = 50_000;
const MAX_PATHS = 4_000_000;
const MAX_DIVERSIONS = 100_000;
const USR_MERGED = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The `/usr` form of a path on a merged-/usr root (`/bin/ls` → `/usr/bin/ls`); else the path itself. */
export function usrForm(path: string, merged: boolean): string {
  if (!merged) return path;
  const second = path.indexOf('/', 1);
  const top = second < 0 ? path.slice(1) : path.slice(1, second);
  return USR_MERGED.includes(top) ? `/usr${path}` : path;
}

/** Is the root's `bin` a link (merged /usr)? */
export async function isUsrMerged(root: string): Promise<boolean> {
  return (await lstat(join(root, 'bin')).catch(() => undefined))?.isSymbolicLink() ?? false;
}

interface StatusRecord {
  installed: Set<string>;
  conffiles: PackageFile[];
}

/** dpkg's `status`: installed packages ("install ok installed") and their conffiles' md5s. */
export function parseDpkgStatus(text: string): StatusRecord {
  const installed = new Set<string>();
  const conffiles: PackageFile[] = [];
  for (const stanza of text.split(/\n\n+/)) {
    let name: string | undefined;
    let isInstalled = false;
    const conf: { path: string; md5: string }[] = [];
    let inConffiles = false;
    for (const line of stanza.split('\n')) {
      if (line.startsWith(' ') && inConffiles) {
        const [path, md5] = line.trim().split(/\s+/, 3);
        if (path?.startsWith('/') && md5 && /^[0-9a-f]{32}$/.test(md5)) conf.push({ path, md5 });
        continue;
      }
      inConffiles = line.startsWith('Conffiles:');
      if (line.startsWith('Package: ')) name = line.slice(9).trim();
      else if (line.startsWith('Status: ')) isInstalled = line.trim().endsWith(' installed');
    }
    if (!name || !isInstalled || installed.size >= MAX_PACKAGES) continue;
    installed.add(name);
    for (const c of conf) conffiles.push({ ...c, package: name, conffile: true });
  }
  return { installed, conffiles };
}

export interface Diversion {
  to: string;
  /** The diverting package, or ':' for a local (administrator's) diversion. */
  by: string;
}

/** dpkg's `diversions`: records of three lines (the path, where it is diverted to, by which package). */
export function parseDpkgDiversions(text: string): Map<string, Diversion> {
  const out = new Map<string, Diversion>();
  const lines = text.split('\n');
  for (let i = 0; i + 2 < lines.length && out.size < MAX_DIVERSIONS; i += 3) {
    const [from, to, by] = [lines[i], lines[i + 1], lines[i + 2].trim()];
    if (from.startsWith('/') && to.startsWith('/') && by !== '') out.set(from, { to, by });
  }
  return out;
}

/** `pkg.list`, `pkg:amd64.md5sums` → `pkg`, the kind. */
function infoName(file: string): { pkg: string; kind: 'list' | 'md5sums' } | undefined {
  const m = /^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\.(list|md5sums)$/.exec(file);
  return m ? { pkg: m[1], kind: m[2] as 'list' | 'md5sums' } : undefined;
}

/**
 * dpkg's records under `root` (`var/lib/dpkg`), or undefined when the root has none. `report` gets
 * what could not be read.
 */
export async function readDpkg(root: string, report: (i: Issue) => void): Promise<PackageDb | undefined> {
  const where = await resolveInRoot(root, ['var', 'lib', 'dpkg']);
  if (where.kind !== 'found') return undefined;
  const dpkg = join(root, ...where.segments);
  const statusPath = join(dpkg, 'status');
  // lstat: a record that is a link is not followed (it could point out of the root)
  const st = await lstat(statusPath).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const merged = await isUsrMerged(root);
  let truncated = false;
  const bound = (what: string) => {
    if (!truncated) report({ file: statusPath, code: 'VERIFY_TRUNCATED', reason: what, stage: 'reading' });
    truncated = true;
  };
  let status: StatusRecord = { installed: new Set(), conffiles: [] };
  if (st.size > MAX_STATUS_BYTES) bound(`dpkg status is ${st.size} bytes, over ${MAX_STATUS_BYTES}: not read`);
  else status = parseDpkgStatus(await readFile(statusPath, 'utf8'));
  const diversionsPath = join(dpkg, 'diversions');
  const dst = await lstat(diversionsPath).catch(() => undefined);
  // keyed in /usr form: a package may list `/bin/sh` where the diversion says `/usr/bin/sh`
  const diversions = new Map<string, Diversion>();
  if (dst?.isFile() && dst.size <= MAX_INFO_FILE_BYTES)
    for (const [from, d] of parseDpkgDiversions(await readFile(diversionsPath, 'utf8')))
      diversions.set(usrForm(from, merged), { to: usrForm(d.to, merged), by: d.by });
  if (dst?.isFile() && dst.size > MAX_INFO_FILE_BYTES)
    report({ file: diversionsPath, code: 'VERIFY_TRUNCATED', reason: `${dst.size} bytes: not read`, stage: 'reading' });
  /** Where a package's file is on disk: the diverted-to path when another package (or the administrator) diverted it. */
  const placed = (path: string, pkg: string) => {
    const d = diversions.get(usrForm(path, merged));
    return d && d.by !== pkg ? d.to : path;
  };
  const owners = new Map<string, string>();
  const files: PackageFile[] = [];
  const own = (path: string, pkg: string) => {
    if (owners.size >= MAX_PATHS) return bound(`more than ${MAX_PATHS} package paths: the rest are not known`);
    owners.set(usrForm(path, merged), pkg);
  };
  for (const c of status.conffiles) {
    own(c.path, c.package);
    files.push({ ...c, path: usrForm(c.path, merged) });
  }
  const info = join(dpkg, 'info');
  const names = await readdir(info).catch(() => [] as string[]);
  for (const file of names.sort()) {
    const n = infoName(file);
    if (!n || (status.installed.size > 0 && !status.installed.has(n.pkg))) continue;
    const path = join(info, file);
    const fst = await lstat(path).catch(() => undefined);
    if (!fst?.isFile()) continue;
    const size = fst.size;
    if (size > MAX_INFO_FILE_BYTES) {
      report({ file: path, code: 'VERIFY_TRUNCATED', reason: `${size} bytes: not read`, stage: 'reading' });
      continue;
    }
    const text = await readFile(path, 'utf8').catch((err: Error) => {
      report({ file: path, code: 'INPUT_UNREADABLE', reason: clip(err.message, 200), stage: 'reading' });
      return '';
    });
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (line === '') continue;
      if (n.kind === 'list') {
        if (line.startsWith('/')) own(placed(line, n.pkg), n.pkg);
        continue;
      }
      // md5sums: "<32 hex>  <path relative to />"
      const m = /^([0-9a-f]{32}) [ *]?(.+)$/.exec(line);
      if (!m) {
        report({ file: path, line: lineNo, code: 'VERIFY_BAD_RECORD', reason: 'not "md5  path"', stage: 'parsing' });
        continue;
      }
      if (files.length >= MAX_PATHS) {
        bound(`more than ${MAX_PATHS} recorded md5s: the rest are not checked`);
        break;
      }
      const abs = usrForm(placed(`/${m[2].replace(/^\/+/, '')}`, n.pkg), merged);
      files.push({ path: abs, md5: m[1], package: n.pkg });
      own(abs, n.pkg);
    }
  }
  return {
    kind: 'dpkg',
    packages: status.installed.size,
    owner: (path) => owners.get(usrForm(path, merged)),
    files,
    truncated,
  };
}

export interface RpmChange {
  path: string;
  /** rpm's flags (`S.5....T.`) or `missing`. */
  flags: string;
  conffile: boolean;
}

/** `rpm -Va` output lines: `S.5....T.  c /etc/x` or `missing     /usr/bin/y`. */
export function parseRpmVerify(text: string): RpmChange[] {
  const out: RpmChange[] = [];
  for (const line of text.split('\n').slice(0, 1_000_000)) {
    const m = /^(missing|[SM5DLUGTP.?]{8,9})\s+(?:([cdglr])\s+)?(\/.*)$/.exec(line);
    if (m) out.push({ flags: m[1], conffile: m[2] === 'c', path: m[3] });
  }
  return out;
}

/** rpm with fixed arguments (`--root` for a collected root), no shell; undefined when rpm is not installed. */
function rpm(root: string, args: string[], timeoutMs: number): Promise<string | undefined> {
  const all = root === '/' ? args : ['--root', root, ...args];
  return new Promise((resolve) => {
    execFile('rpm', all, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => {
      // rpm -V exits 1 when something differs; ENOENT: no rpm here
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve(undefined);
      else resolve(String(stdout));
    });
  });
}

/**
 * The RPM database of a root, through rpm itself (only it reads its database safely): the files every
 * package owns (`rpm -qa --qf '[%{FILENAMES}\n]'`) and what `rpm -Va` finds changed. Undefined
 * without rpm or without a database under the root.
 */
export async function readRpm(
  root: string,
  timeoutMs = 600_000,
): Promise<{ db: PackageDb; changes: RpmChange[] } | undefined> {
  const hasDb = await lstat(join(root, 'var', 'lib', 'rpm')).catch(() => undefined);
  if (!hasDb) return undefined;
  const owned = await rpm(root, ['-qa', '--qf', '[%{FILENAMES}\\t%{NAME}\\n]'], timeoutMs);
  if (owned === undefined) return undefined;
  const merged = await isUsrMerged(root);
  const owners = new Map<string, string>();
  const packages = new Set<string>();
  for (const line of owned.split('\n')) {
    if (owners.size >= MAX_PATHS) break;
    const tab = line.indexOf('\t');
    if (tab <= 0 || !line.startsWith('/')) continue;
    const pkg = line.slice(tab + 1);
    packages.add(pkg);
    owners.set(usrForm(line.slice(0, tab), merged), pkg);
  }
  const changes = parseRpmVerify((await rpm(root, ['-Va', '--nodeps', '--noscripts'], timeoutMs)) ?? '');
  return {
    db: {
      kind: 'rpm',
      packages: packages.size,
      owner: (path) => owners.get(usrForm(path, merged)),
      files: [],
      truncated: owners.size >= MAX_PATHS,
    },
    changes,
  };
}
