/**
 * Where the data files shipped beside the code are (`rules/`, `intel/`, `package.json`): the one way
 * any module finds them, whether it runs as TypeScript from src/ (tsx, tests) or as the build in dist/.
 * The build maps src/ onto dist/ one to one (tsconfig.build.json: rootDir src, outDir dist), so this
 * module sits two levels under the package root in both layouts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT: string = fileURLToPath(new URL('../../', import.meta.url));

/** A path inside the package, e.g. `packagePath('intel', 'cloud-prices.csv')`. */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
