/**
 * The web console's files (the Vite build in `dist/console/`): GET `/` and every GET path outside `/api/`
 * answer from it. A path naming a built file gets that file; any other path gets `index.html`, since the
 * console routes on the client (`/queue`, `/cases/<id>`). The directory's file list is read once at
 * start and a request's path is only ever looked up in that list, so no request path reaches the
 * filesystem: no `..`, no symlinks (they are not listed), no file added later. A path that names a file
 * the build does not have is 404, never the page. The page itself holds no data, so it needs no login;
 * its API calls do.
 */
import { constants, type Dirent, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { packagePath } from '../../util/package-root.js';
import { HttpError } from '../errors.js';
import type { Reply, Route } from '../http.js';

/** The CSP of the console's page: its own scripts, styles and API, nothing inline, no framing. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/** Every other file (a script, a stylesheet, an SVG opened directly) may load nothing itself. */
const FILE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const IMMUTABLE = 'public, max-age=31536000, immutable';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
  webmanifest: 'application/manifest+json',
  map: 'application/json; charset=utf-8',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
};

/** A build is a few dozen files; these bound a directory that is not one. */
const MAX_FILES = 2000;
const MAX_DEPTH = 6;
const MAX_FILE_BYTES = 32 * 1024 * 1024;
const MAX_PATH_CHARS = 1024;

interface ConsoleFile {
  /** Where it is on disk: from the listing, never from a request. */
  file: string;
  contentType: string;
  size: number;
  etag: string;
}

export interface ConsoleFiles {
  dir: string;
  /** URL path (`/assets/index-abc.js`) → file; empty when there is no build. */
  files: ReadonlyMap<string, ConsoleFile>;
  /** Why the build cannot be served (no directory, no index.html), else undefined. */
  missing?: string;
}

export const defaultConsoleDir = (): string => packagePath('dist', 'console');

const extensionOf = (name: string): string => {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
};

/** A name a URL can say as is: no dot-segments, separators, controls, or anything percent-encoding would change. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,199}$/;

/** Lists the build once: regular files of a known type, under plain names, bounded in number, depth and size. */
export function listConsoleFiles(dir: string): ConsoleFiles {
  const files = new Map<string, ConsoleFile>();
  const walk = (at: string, urlPath: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (files.size >= MAX_FILES) return;
      if (!PLAIN_NAME.test(entry.name)) continue;
      const path = join(at, entry.name);
      // a symlink is neither a file nor a directory to a Dirent: never followed out of the build
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH) walk(path, `${urlPath}${entry.name}/`, depth + 1);
        continue;
      }
      if (!entry.isFile()) continue;
      const contentType = CONTENT_TYPES[extensionOf(entry.name)];
      if (!contentType) continue;
      const stat = statSync(path, { throwIfNoEntry: false });
      if (!stat || stat.size > MAX_FILE_BYTES) continue;
      files.set(`${urlPath}${entry.name}`, {
        file: path,
        contentType,
        size: stat.size,
        etag: `"${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}"`,
      });
    }
  };
  walk(dir, '/', 0);
  const index = files.get('/index.html');
  if (!index) {
    return {
      dir,
      files: new Map(),
      missing: `the console is not built (no index.html in ${dir}): run npm run build`,
    };
  }
  return { dir, files };
}

/**
 * The URL path's segments, decoded, or undefined when any is a dot-segment, holds a separator
 * (`/`, `\`) or a control once decoded, or is not valid percent-encoding: such a request is refused
 * whatever it would name. Reads the raw request target, before any URL normalisation folds `..` away.
 */
function segmentsOf(rawTarget: string): string[] | undefined {
  const q = rawTarget.indexOf('?');
  const path = q < 0 ? rawTarget : rawTarget.slice(0, q);
  if (!path.startsWith('/') || path.length > MAX_PATH_CHARS) return undefined;
  const segments: string[] = [];
  for (const raw of path.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '.' || segment === '..' || /[\\/\p{Cc}]/u.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

async function readListed(entry: ConsoleFile): Promise<Buffer> {
  // O_NOFOLLOW: a listed file swapped for a symlink since the listing is not followed either
  const handle = await open(entry.file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) throw new Error('no longer a bounded regular file');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

const notFound = () => new HttpError(404, 'not_found', 'no such file in the console');

/** The console's route: what the router answers for a GET outside `/api/` (see `Router.fallback`). */
export function consoleRoute(options: { dir?: string } = {}): Route {
  const build = listConsoleFiles(options.dir ?? defaultConsoleDir());
  return {
    method: 'GET',
    path: '/{console}',
    roles: 'public',
    body: 'none',
    async handler({ req, deps }): Promise<Reply> {
      if (build.missing !== undefined)
        return { status: 503, text: `${build.missing}\n`, headers: { 'retry-after': '60' } };
      const segments = segmentsOf(req.url ?? '/');
      if (!segments) throw notFound();
      const path = `/${segments.join('/')}`;
      let entry = build.files.get(path);
      if (!entry) {
        // a path that names a file (an asset, `/favicon.ico`, `/package.json`) the build lacks is 404;
        // anything else is one of the console's own pages, which index.html routes
        const last = segments[segments.length - 1];
        if (segments[0] === 'assets' || CONTENT_TYPES[extensionOf(last)] !== undefined) throw notFound();
        entry = build.files.get('/index.html')!;
      }
      let body: Buffer;
      try {
        body = await readListed(entry);
      } catch (err) {
        deps.log(`coalmine serve: the console file ${entry.file} cannot be read: ${(err as Error).message}`);
        throw notFound();
      }
      const html = entry.contentType.startsWith('text/html');
      return {
        status: 200,
        body,
        contentType: entry.contentType,
        headers: {
          etag: entry.etag,
          'cache-control': path.startsWith('/assets/') && build.files.has(path) ? IMMUTABLE : 'no-cache',
          'content-security-policy': html ? CONSOLE_CSP : FILE_CSP,
        },
      };
    },
  };
}
