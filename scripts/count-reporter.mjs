// node:test reporter that prints only the number of tests that passed, for run-tests.mjs.
export default async function* countReporter(source) {
  let passed = 0;
  for await (const event of source) {
    if (event.type === 'test:pass' && event.data.details?.type !== 'suite') passed++;
  }
  yield `${passed}\n`;
}
