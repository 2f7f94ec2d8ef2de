#!/usr/bin/env node
// Runs the built JavaScript in dist/ (`npm run build`; `prepare` runs it on npm install and npm ci).
// Where dist/ is missing or older than src/ (a developer edited src/), running it would run old code:
// the TypeScript in src/ runs through tsx (a dev dependency) instead, with a one-line note on stderr.
// COALMINE_FROM_SOURCE=1 asks for src/ through tsx without the note (the tests do, so they always test
// what src/ says).
import { distState } from './dist-state.js';

const fromSource = process.env.COALMINE_FROM_SOURCE === '1';
const state = fromSource ? { current: false, reason: '' } : distState();
let main;
if (state.current) {
  ({ main } = await import('../dist/cli/index.js'));
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `coalmine: ${state.reason || 'running src/ was asked for'}, and tsx is not installed: run npm run build\n`,
    );
    process.exit(3);
  }
  if (!fromSource)
    process.stderr.write(`coalmine: ${state.reason}: running src/ through tsx (npm run build to use the build)\n`);
  register();
  ({ main } = await import('../src/cli/index.ts'));
}
process.exitCode = await main(process.argv);
