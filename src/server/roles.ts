/** Who may do what: the role lists routes name (the OpenAPI document's `x-roles` repeat them, held equal by a test). */
import type { Role } from '../store/tokens.js';

/** Reading: every human role. Sensors only ingest and read nothing. */
export const READ: readonly Role[] = ['viewer', 'analyst', 'admin'];
/** Case work and allowlist proposals. */
export const WORK: readonly Role[] = ['analyst', 'admin'];
/** Tokens, retiring allowlist entries. */
export const ADMIN: readonly Role[] = ['admin'];
/** Ingest. */
export const SENSOR: readonly Role[] = ['sensor', 'admin'];
