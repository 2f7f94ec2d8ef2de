/**
 * Native test programs: C sources written by the tests themselves, compiled with the system gcc into
 * the test's own temporary directory. `gccSkip` is the reason a test skips where gcc is missing
 * (`.ci/run` installs it, so CI runs them all).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const hasGcc = spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;

/** Why a test that compiles C is skipped here, or false when gcc is present. */
export const gccSkip: string | false = hasGcc ? false : 'gcc is not installed (.ci/run installs it)';

/** Compile `source` into `dir/name` (an executable, or a shared object with `shared`); returns its path. */
export function compileC(
  dir: string,
  name: string,
  source: string,
  options: { shared?: boolean; args?: string[] } = {},
): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, source);
  const args = options.shared ? ['-shared', '-fPIC', '-O1', '-o', out, src, '-ldl'] : ['-O1', '-o', out, src];
  execFileSync('gcc', [...args, ...(options.args ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/**
 * A libprocesshider-like library, written here: readdir/readdir64 hooked so a `/proc` listing skips
 * every pid whose comm is `name`. What an `ld.so.preload` hider does to `ps`, for tests only.
 */
export function processHiderSource(name: string): string {
  return `#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *HIDE = ${JSON.stringify(name)};

static int hidden(DIR *dir, const char *entry) {
  char path[256], target[256], comm[64];
  if (entry[0] < '0' || entry[0] > '9') return 0;
  snprintf(path, sizeof path, "/proc/self/fd/%d", dirfd(dir));
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n < 0) return 0;
  target[n] = 0;
  if (strcmp(target, "/proc") != 0) return 0;
  snprintf(path, sizeof path, "/proc/%s/comm", entry);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(comm, sizeof comm, f) != NULL;
  fclose(f);
  if (!ok) return 0;
  comm[strcspn(comm, "\\n")] = 0;
  return strcmp(comm, HIDE) == 0;
}

struct dirent *readdir(DIR *dir) {
  static struct dirent *(*real)(DIR *) = NULL;
  if (!real) real = dlsym(RTLD_NEXT, "readdir");
  struct dirent *e;
  while ((e = real(dir)) != NULL && hidden(dir, e->d_name)) {}
  return e;
}

struct dirent64 *readdir64(DIR *dir) {
  static struct dirent64 *(*real)(DIR *) = NULL;
  if (!real) real = dlsym(RTLD_NEXT, "readdir64");
  struct dirent64 *e;
  while ((e = real(dir)) != NULL && hidden(dir, e->d_name)) {}
  return e;
}
`;
}
