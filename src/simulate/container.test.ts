import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DOCKER_SOCKET, dockerUnavailable } from './container.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-container-'));
after(() => rmSync(work, { recursive: true, force: true }));
const noDaemon = !process.env.DOCKER_HOST ? false : 'DOCKER_HOST is set: the CLI follows it, not the socket path';

test('no Docker socket: the container behaviour is skipped and says which socket is missing', {
  skip: noDaemon,
}, async () => {
  const missing = join(work, 'no', 'docker.sock');
  assert.equal(await dockerUnavailable(missing), `no Docker daemon: ${missing} does not exist`);
});

test('a socket path that exists but no daemon answering docker version: skipped with what docker said', {
  skip: noDaemon || (await dockerUnavailable(DOCKER_SOCKET)) === undefined ? 'a Docker daemon answers here' : false,
}, async () => {
  // a plain file where the socket would be: present, but `docker version` reaches no server
  const stale = join(work, 'docker.sock');
  writeFileSync(stale, '');
  const why = await dockerUnavailable(stale);
  assert.ok(why !== undefined);
  assert.match(why, /^(docker version failed: .+|.+ exists but the docker CLI is not installed)$/);
});
