/**
 * The console's files from a real server over a real socket: a build directory made for the test with
 * an index.html, hashed assets and a symlink pointing out of it. Content types, caching, the page's CSP,
 * the client-side routes answered by index.html, traversal in every spelling refused, HEAD, and the
 * API's own 404 kept apart from the console.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultPolicy } from '../../model/policy.js';
import { openStore, type Store } from '../../store/index.js';
import { type CoalmineServer, createServer } from '../app.js';
import { CONSOLE_CSP } from './console.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the path sent exactly as written (fetch and URL would fold `..` away first). */
function get(base: URL, rawPath: string, method = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = 'console.log("coalmine console");\n';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0xff, 0xfe]);

let root: string;
let store: Store;
let app: CoalmineServer;
let base: URL;
let bare: CoalmineServer;
let bareBase: URL;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'coalmine-console-'));
  const build = join(root, 'console');
  mkdirSync(join(build, 'assets'), { recursive: true });
  writeFileSync(join(build, 'index.html'), INDEX);
  writeFileSync(join(build, 'assets', 'index-abc123.js'), SCRIPT);
  writeFileSync(join(build, 'assets', 'index-def456.css'), 'body{margin:0}');
  writeFileSync(join(build, 'assets', 'logo-1a2b.png'), PNG);
  writeFileSync(join(build, 'assets', 'index-abc123.js.map'), '{"version":3}');
  writeFileSync(join(build, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(build, 'notes.exe'), 'not a type the console serves');
  writeFileSync(join(root, 'secret.txt'), 'outside the build');
  symlinkSync(join(root, 'secret.txt'), join(build, 'assets', 'leak.txt'));
  symlinkSync(root, join(build, 'up'));
  store = await openStore(join(root, 'c.db'));
  app = createServer({ store, policy: defaultPolicy(), consoleDir: build });
  base = await app.listen(0);
  bare = createServer({ store, policy: defaultPolicy(), consoleDir: join(root, 'not-built') });
  bareBase = await bare.listen(0);
});

after(async () => {
  await app?.close();
  await bare?.close();
  await store?.close();
  rmSync(root, { recursive: true, force: true });
});

test('/ is index.html with the strict CSP, no-cache and no login', async () => {
  const r = await get(base, '/');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), INDEX);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-cache');
  assert.equal(r.headers['content-security-policy'], CONSOLE_CSP);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(INDEX)));
});

test('the console routes on the client: its pages are index.html, query and all', async () => {
  for (const path of [
    '/queue',
    '/findings/cm-abc123',
    '/cases/case-1',
    '/coverage',
    '/sensors',
    '/login?next=%2Fqueue',
  ]) {
    const r = await get(base, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.body.toString(), INDEX, path);
    assert.equal(r.headers['content-security-policy'], CONSOLE_CSP, path);
  }
});

test('built files come with their type; hashed assets are cached for good', async () => {
  const cases: [string, string, string | Buffer][] = [
    ['/assets/index-abc123.js', 'text/javascript; charset=utf-8', SCRIPT],
    ['/assets/index-def456.css', 'text/css; charset=utf-8', 'body{margin:0}'],
    ['/assets/logo-1a2b.png', 'image/png', PNG],
    ['/assets/index-abc123.js.map', 'application/json; charset=utf-8', '{"version":3}'],
  ];
  for (const [path, type, content] of cases) {
    const r = await get(base, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], type, path);
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', path);
    assert.deepEqual(r.body, Buffer.from(content), path);
    assert.doesNotMatch(String(r.headers['content-security-policy']), /script-src/, path);
  }
  const icon = await get(base, '/favicon.svg');
  assert.equal(icon.headers['content-type'], 'image/svg+xml');
  assert.equal(icon.headers['cache-control'], 'no-cache', 'not under /assets/: not hashed');
  assert.match(String(icon.headers['content-security-policy']), /^default-src 'none'/);
});

test('an ETag answers 304 on a repeat', async () => {
  const first = await get(base, '/assets/index-abc123.js');
  const again = await get(base, '/assets/index-abc123.js', 'GET', { 'if-none-match': String(first.headers.etag) });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
});

test('traversal in every spelling, symlinks, unlisted types and missing files are 404, never a file or the page', async () => {
  for (const path of [
    '/assets/../../package.json',
    '/../package.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/..\\..\\secret.txt',
    '/assets%5c..%5c..%5csecret.txt',
    '/./index.html',
    '/assets/%00.js',
    '/assets/%zz',
    '/assets/leak.txt',
    '/up/secret.txt',
    '/package.json',
    '/assets/index-000000.js',
    '/assets/nothing',
  ]) {
    const r = await get(base, path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body.toString(), /outside the build|coalmine console|doctype/, path);
  }
});

test('a file of a type the console does not serve is never sent (the path is one of its pages)', async () => {
  const r = await get(base, '/notes.exe');
  assert.doesNotMatch(r.body.toString(), /not a type/);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
});

test('an unknown /api/ path stays a JSON 404, and other methods on the console are 405', async () => {
  for (const path of ['/api/v1/nope', '/api/v2/findings', '/api', '/api/']) {
    const r = await get(base, path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8', path);
    assert.equal((JSON.parse(r.body.toString()) as { error: { code: string } }).error.code, 'not_found');
  }
  const post = await get(base, '/queue', 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('HEAD answers the GET status and headers without a body, on the console and the API', async () => {
  for (const path of ['/', '/assets/index-abc123.js', '/api/v1/findings', '/api/v1/nope', '/package.json']) {
    const got = await get(base, path);
    const head = await get(base, path, 'HEAD');
    assert.equal(head.status, got.status, path);
    assert.equal(head.body.length, 0, path);
    for (const name of ['content-type', 'content-length', 'cache-control', 'content-security-policy', 'etag'])
      assert.equal(head.headers[name], got.headers[name], `${path} ${name}`);
  }
});

test('without a build, the console answers 503 saying to run npm run build; the API still works', async () => {
  for (const path of ['/', '/queue']) {
    const r = await get(bareBase, path);
    assert.equal(r.status, 503, path);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(r.body.toString(), /npm run build/);
  }
  assert.equal((await get(bareBase, '/api/v1/findings')).status, 401);
});
