// node:test reporter for run-tests.mjs: one JSON line with how many tests passed, failed, were skipped
// and are todo (suites are not tests). A skipped test also arrives as test:pass, so it is told apart here.
export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.todo !== undefined && event.data.todo !== false) counts.todo++;
    else if (event.data.skip !== undefined && event.data.skip !== false) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else counts.failed++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
