/** Types of dist-state.js for the TypeScript that imports it (bench, tests). */
export const PACKAGE_ROOT: string;
export type DistState = { current: true } | { current: false; reason: string };
export function distState(root?: string): DistState;
