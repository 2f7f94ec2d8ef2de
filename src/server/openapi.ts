/**
 * The OpenAPI 3.1 document of /api/v1, written by hand as data: every route, who may call it
 * (`x-roles`, the same list the router enforces; a test holds them equal), its parameters, body and
 * responses. The server checks request bodies against these schemas and refuses query parameters an
 * operation does not list, so the document is what the server does; the tests check every real
 * response against it. Modules (ingest) add their own paths and schemas.
 */
import type { Role } from '../store/tokens.js';
import { ADMIN, READ, SENSOR, WORK } from './roles.js';
import type { Schema } from './schema.js';

export type { Schema } from './schema.js';

export interface Parameter {
  name: string;
  in: 'query' | 'path';
  required?: boolean;
  description?: string;
  schema: Schema;
}

export interface Operation {
  summary: string;
  operationId: string;
  tags: string[];
  'x-roles': readonly Role[] | 'public';
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}

export type OpenApiPaths = Record<string, Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', Operation>>>;

export interface OpenApiDocument {
  /** The document as served. */
  json: Record<string, unknown> & { paths: OpenApiPaths; components: { schemas: Record<string, Schema> } };
  schemas: Record<string, Schema>;
  operation(method: string, path: string): Operation | undefined;
  /** The JSON body schema of an operation, when it takes one. */
  requestSchema(method: string, path: string): Schema | undefined;
}

const AUTHENTICATED: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const str = (maxLength?: number): Schema =>
  maxLength === undefined ? { type: 'string' } : { type: 'string', maxLength };
const int: Schema = { type: 'integer' };
const epochMs: Schema = { type: 'integer', description: 'epoch milliseconds' };
const nullable = (t: 'string' | 'integer'): Schema => ({ type: [t, 'null'] });
const page = (item: string): Schema => ({
  type: 'object',
  required: ['items'],
  additionalProperties: false,
  properties: {
    items: { type: 'array', items: ref(item) },
    next: { type: 'string', description: 'the cursor of the next page; absent on the last' },
  },
});
const list = (item: string): Schema => ({
  type: 'object',
  required: ['items'],
  additionalProperties: false,
  properties: { items: { type: 'array', items: ref(item) } },
});

const SEVERITY: Schema = { type: 'string', enum: ['informational', 'low', 'medium', 'high', 'critical'] };
const CASE_STATE: Schema = {
  type: 'string',
  enum: ['new', 'triaged', 'escalated', 'contained', 'closed'],
  description:
    'new; triaged (L1 checks done); escalated (handed to Tier 2); contained (containment carried out); closed (with a resolution)',
};
const RESOLUTION: Schema = { type: 'string', enum: ['true-positive', 'benign', 'false-positive'] };
/** A resolution as a change gives it: `benign-authorized` (the name before `benign`) is taken as `benign`. */
const RESOLUTION_GIVEN: Schema = {
  type: 'string',
  enum: ['true-positive', 'benign', 'false-positive', 'benign-authorized'],
  description: 'benign-authorized (the earlier name) is stored as benign',
};
const EXPORT_FORMAT: Schema = { type: 'string', enum: ['ndjson', 'ocsf'] };
const ROLE: Schema = { type: 'string', enum: ['viewer', 'analyst', 'admin', 'sensor'] };
const VERSION: Schema = {
  type: 'integer',
  minimum: 1,
  description: "the case's version as last read: the change applies only if nobody changed it since (else 409)",
};

/** What a sensor's heartbeat says; the bounds refuse the absurd, the store clips the merely long. */
const HEARTBEAT_FIELDS: Record<string, Schema> = {
  version: str(4096),
  hostname: str(4096),
  platform: str(4096),
  kernel: str(4096),
  root: { type: 'boolean', description: 'runs as root (uid 0)' },
  interval_s: { type: 'integer', minimum: 5, maximum: 86400, description: 'seconds between its heartbeats' },
  gaps: {
    type: 'array',
    maxItems: 64,
    description: "what its sampler could not read in the last sample, by kind ('fd_unreadable', 'exe_unreadable', …)",
    items: {
      type: 'object',
      required: ['kind', 'count'],
      additionalProperties: false,
      properties: { kind: str(4096), count: { type: 'integer', minimum: 0, maximum: 2147483647 } },
    },
  },
  cannot_see: { type: 'array', maxItems: 64, items: str(32768) },
};

const SCHEMAS: Record<string, Schema> = {
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'reason'],
        additionalProperties: false,
        properties: { code: str(), reason: str() },
      },
    },
  },
  Finding: {
    type: 'object',
    description: 'a finding as coalmine reports it (hunt --format ndjson); the fields listed are always present',
    required: ['id', 'analytic', 'severity', 'host', 'title', 'first_seen', 'last_seen'],
    properties: {
      id: str(),
      analytic: str(),
      severity: SEVERITY,
      host: str(),
      title: str(),
      first_seen: str(),
      last_seen: str(),
      detected_at: {
        type: 'string',
        description:
          'when its evidence first made a finding (event time): the time to detect is this less first_seen; absent in findings of earlier versions',
      },
    },
  },
  StoredFinding: {
    type: 'object',
    required: ['finding', 'revision', 'received_at'],
    additionalProperties: false,
    properties: { finding: ref('Finding'), revision: { type: 'integer', minimum: 1 }, received_at: epochMs },
  },
  FindingPage: page('StoredFinding'),
  FindingDetail: {
    type: 'object',
    required: ['finding', 'revision', 'received_at', 'revisions'],
    additionalProperties: false,
    properties: {
      finding: ref('Finding'),
      revision: { type: 'integer', minimum: 1 },
      received_at: epochMs,
      revisions: { type: 'array', description: 'every revision, oldest first', items: ref('StoredFinding') },
    },
  },
  FindingSummary: {
    type: 'object',
    required: ['id', 'analytic', 'severity', 'host', 'title', 'last_seen', 'revision'],
    additionalProperties: false,
    properties: {
      id: str(),
      analytic: str(),
      severity: SEVERITY,
      host: str(),
      title: str(),
      last_seen: str(),
      revision: int,
    },
  },
  CaseStep: {
    type: 'object',
    required: ['id', 'label', 'done_by', 'done_at'],
    additionalProperties: false,
    properties: { id: str(), label: str(), done_by: nullable('string'), done_at: nullable('integer') },
  },
  CaseNote: {
    type: 'object',
    required: ['id', 'author', 'text', 'created_at'],
    additionalProperties: false,
    properties: { id: str(), author: str(), text: str(), created_at: epochMs },
  },
  Case: {
    type: 'object',
    required: [
      'id',
      'title',
      'severity',
      'tier',
      'state',
      'resolution',
      'assignee',
      'reopened',
      'version',
      'created_at',
      'updated_at',
      'resolved_at',
      'merged_into',
      'grouped',
      'findings',
      'checklist',
      'notes',
    ],
    additionalProperties: false,
    properties: {
      id: str(),
      title: str(),
      severity: SEVERITY,
      tier: str(),
      state: CASE_STATE,
      resolution: { oneOf: [RESOLUTION, { type: 'null' }] },
      assignee: nullable('string'),
      reopened: { type: 'integer', minimum: 0 },
      version: { type: 'integer', minimum: 1 },
      created_at: epochMs,
      updated_at: epochMs,
      resolved_at: {
        type: ['integer', 'null'],
        description: 'when it was closed with its resolution; null while open',
      },
      merged_into: {
        type: ['string', 'null'],
        description: 'the case it was merged into (a finding linked them; its findings moved there), else null',
      },
      grouped: { type: 'object', description: 'the case as grouped when it was created (hunt --format ocsf-incident)' },
      findings: { type: 'array', items: str() },
      checklist: { type: 'array', items: ref('CaseStep') },
      notes: { type: 'array', items: ref('CaseNote') },
    },
  },
  CasePage: page('Case'),
  FindingCase: {
    type: 'object',
    required: ['case'],
    additionalProperties: false,
    properties: {
      case: {
        oneOf: [ref('Case'), { type: 'null' }],
        description: "null while no case holds the finding (ingest files a finding's case as it stores the finding)",
      },
    },
  },
  AuditEntry: {
    type: 'object',
    required: ['id', 'at', 'actor', 'subject_type', 'subject_id', 'action', 'detail'],
    additionalProperties: false,
    properties: {
      id: str(),
      at: epochMs,
      actor: str(),
      subject_type: str(),
      subject_id: str(),
      action: str(),
      detail: { type: 'object' },
    },
  },
  AuditPage: page('AuditEntry'),
  CaseDetail: {
    type: 'object',
    required: ['case', 'findings', 'audit'],
    additionalProperties: false,
    properties: {
      case: ref('Case'),
      findings: {
        type: 'array',
        description: 'the stored findings of the case (first 500), newest revision of each',
        items: ref('FindingSummary'),
      },
      audit: { type: 'array', description: 'the audit trail, oldest first (first 1000)', items: ref('AuditEntry') },
      audit_next: { type: 'string', description: 'more of the trail: GET …/audit?cursor=' },
    },
  },
  AllowlistMatch: {
    type: 'object',
    additionalProperties: false,
    description: 'all given fields must match; command is a glob with *',
    properties: {
      executable: str(1024),
      hash: str(1024),
      host: str(1024),
      user: str(1024),
      command: str(1024),
    },
  },
  AllowlistInput: {
    type: 'object',
    required: ['match', 'owner', 'reason', 'expires'],
    additionalProperties: false,
    properties: {
      match: ref('AllowlistMatch'),
      analytics: { type: 'array', maxItems: 32, items: str(32) },
      owner: { type: 'string', minLength: 1, maxLength: 256 },
      reason: { type: 'string', minLength: 1, maxLength: 2048 },
      expires: { type: 'string', minLength: 10, maxLength: 10, description: 'YYYY-MM-DD' },
    },
  },
  AllowlistEntry: {
    type: 'object',
    required: [
      'id',
      'version',
      'match',
      'analytics',
      'owner',
      'reason',
      'expires',
      'retired',
      'created_at',
      'created_by',
    ],
    additionalProperties: false,
    properties: {
      id: str(),
      version: { type: 'integer', minimum: 1 },
      match: ref('AllowlistMatch'),
      analytics: { type: 'array', items: str() },
      owner: str(),
      reason: str(),
      expires: str(),
      retired: { type: 'boolean' },
      created_at: epochMs,
      created_by: str(),
    },
  },
  AllowlistList: list('AllowlistEntry'),
  AllowlistDetail: {
    type: 'object',
    required: ['entry', 'history'],
    additionalProperties: false,
    properties: {
      entry: ref('AllowlistEntry'),
      history: { type: 'array', description: 'every version, oldest first', items: ref('AllowlistEntry') },
    },
  },
  Sensor: {
    type: 'object',
    required: ['id', 'host', 'version', 'cannot_see', 'first_seen', 'last_seen', 'heartbeat', 'stale'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', description: "the sensor's token name" },
      host: str(),
      version: {
        type: 'string',
        description: 'as its last contact said (a heartbeat, or the user agent of an events body)',
      },
      cannot_see: {
        type: 'array',
        description: "what it cannot see, in plain words: its latest heartbeat's, when it sent one",
        items: str(),
      },
      first_seen: epochMs,
      last_seen: { type: 'integer', description: 'epoch milliseconds of the last contact of any kind' },
      heartbeat: {
        oneOf: [ref('StoredSensorHeartbeat'), { type: 'null' }],
        description: 'the latest heartbeat; null when the sensor never sent one',
      },
      stale: {
        type: 'boolean',
        description: 'not heard from for 3 heartbeat intervals (its own interval, else 60 s)',
      },
    },
  },
  SensorHeartbeat: {
    type: 'object',
    description:
      'what a sensor says of itself; texts longer than stored are clipped (version 64, hostname 512, platform 64, kernel 256, gap kind 64, cannot-see entry 512 characters)',
    required: ['version', 'hostname', 'platform', 'kernel', 'root', 'interval_s', 'gaps', 'cannot_see'],
    additionalProperties: false,
    properties: HEARTBEAT_FIELDS,
  },
  StoredSensorHeartbeat: {
    type: 'object',
    required: ['version', 'hostname', 'platform', 'kernel', 'root', 'interval_s', 'gaps', 'cannot_see', 'received_at'],
    additionalProperties: false,
    properties: { ...HEARTBEAT_FIELDS, received_at: epochMs },
  },
  SensorList: list('Sensor'),
  Token: {
    type: 'object',
    required: ['id', 'name', 'role', 'created_at', 'created_by', 'revoked_at', 'last_used_at'],
    additionalProperties: false,
    properties: {
      id: str(),
      name: str(),
      role: ROLE,
      created_at: epochMs,
      created_by: str(),
      revoked_at: nullable('integer'),
      last_used_at: nullable('integer'),
    },
  },
  TokenList: list('Token'),
  TokenCreated: {
    type: 'object',
    required: ['token', 'secret'],
    additionalProperties: false,
    properties: { token: ref('Token'), secret: { type: 'string', description: 'shown once; only its hash is kept' } },
  },
  Session: {
    type: 'object',
    required: ['name', 'role', 'via', 'csrf_token', 'expires_at'],
    additionalProperties: false,
    properties: {
      name: str(),
      role: ROLE,
      via: { type: 'string', enum: ['bearer', 'session'] },
      csrf_token: { ...nullable('string'), description: 'echo it in x-csrf-token on changes made with the cookie' },
      expires_at: nullable('integer'),
    },
  },
};

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { description: ERROR_TEXT[s] ?? 'error', content: json(ref('Error')) }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: 'bad input (the reason says which field); nothing stored',
  401: 'no credentials, or a token that is unknown or revoked',
  403: 'the role may not do this, or a cookie call without its CSRF token',
  404: 'no such thing',
  405: 'the path exists with other methods',
  409: 'the thing changed meanwhile (reload and retry)',
  413: 'the body is too large',
  415: 'the body must be application/json',
  503: 'too busy for this now (retry-after says when to retry)',
};
const READ_ERRORS = errors(400, 401, 403);
const ONE_ERRORS = errors(400, 401, 403, 404);
const CHANGE_ERRORS = errors(400, 401, 403, 404, 409, 413, 415);

const q = (name: string, description: string, schema: Schema = str()): Parameter => ({
  name,
  in: 'query',
  description,
  schema,
});
const p = (name: string, description: string): Parameter => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: str(),
});
const CURSOR = q('cursor', 'the `next` of the previous page');
const LIMIT = q('limit', 'page size, 1–500 (default 50)', { type: 'string', description: 'an integer' });

function op(
  operationId: string,
  tag: string,
  summary: string,
  roles: readonly Role[] | 'public',
  ok: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>,
  errorResponses: Operation['responses'],
  extra: Partial<Operation> = {},
): Operation {
  return {
    operationId,
    tags: [tag],
    summary,
    'x-roles': roles,
    ...(roles === 'public' ? { security: [] } : { security: AUTHENTICATED }),
    ...extra,
    responses: { ...ok, ...errorResponses },
  };
}

const body = (schema: Schema) => ({ requestBody: { required: true, content: json(schema) } });
const caseChange = (properties: Record<string, Schema>, required: string[]): Schema => ({
  type: 'object',
  required,
  additionalProperties: false,
  properties: { ...properties, version: VERSION },
});
const CASE_ID = p('id', 'the case id');

const PATHS: OpenApiPaths = {
  '/api/v1/findings': {
    get: op(
      'listFindings',
      'findings',
      'Findings in queue order (severity, then newest), newest revision of each',
      READ,
      { 200: { description: 'a page', content: json(ref('FindingPage')) } },
      READ_ERRORS,
      {
        parameters: [
          q('severity', 'comma-separated severities'),
          q('analytic', 'analytic id (AN0742)'),
          q('host', 'host name'),
          q('state', 'state of a case the finding belongs to', CASE_STATE),
          CURSOR,
          LIMIT,
        ],
      },
    ),
  },
  '/api/v1/findings/export': {
    get: op(
      'exportFindings',
      'findings',
      'Every finding the filters match (newest revision of each, queue order) as `hunt --format ndjson|ocsf` prints it, streamed',
      READ,
      {
        200: {
          description:
            'one finding a line, the bytes `hunt --format <format>` prints for it (ocsf: OCSF 1.3 Detection Finding 2004); a download (content-disposition: attachment). Pages are read from the store as the body streams: a finding that changes meanwhile may be listed at its old and its new place; a body cut short (the connection reset) is a failed export',
          content: { 'application/x-ndjson': { schema: str() } },
        },
      },
      READ_ERRORS,
      {
        parameters: [
          {
            ...q(
              'format',
              'ndjson (findings as coalmine reports them) or ocsf (Detection Finding 2004)',
              EXPORT_FORMAT,
            ),
            required: true,
          },
          q('severity', 'comma-separated severities'),
          q('analytic', 'analytic id (AN0742)'),
          q('host', 'host name'),
          q('state', 'state of a case the finding belongs to', CASE_STATE),
        ],
      },
    ),
  },
  '/api/v1/findings/{id}': {
    get: op(
      'getFinding',
      'findings',
      'One finding (newest revision) with every revision; ETag',
      READ,
      { 200: { description: 'the finding', content: json(ref('FindingDetail')) }, 304: { description: 'unchanged' } },
      ONE_ERRORS,
      { parameters: [p('id', 'the finding id')] },
    ),
  },
  '/api/v1/findings/{id}/case': {
    get: op(
      'getFindingCase',
      'findings',
      'The case that holds a finding (an open one first if it is in more than one, then the newest); ETag',
      READ,
      {
        200: { description: 'the case, or null', content: json(ref('FindingCase')) },
        304: { description: 'unchanged' },
      },
      ONE_ERRORS,
      { parameters: [p('id', 'the finding id')] },
    ),
  },
  '/api/v1/cases': {
    get: op(
      'listCases',
      'cases',
      'Cases, worst first then newest',
      READ,
      { 200: { description: 'a page', content: json(ref('CasePage')) } },
      READ_ERRORS,
      { parameters: [q('state', 'case state', CASE_STATE), q('assignee', 'assigned to'), CURSOR, LIMIT] },
    ),
  },
  '/api/v1/cases/{id}': {
    get: op(
      'getCase',
      'cases',
      'One case with its findings, notes, checklist and audit trail; ETag',
      READ,
      { 200: { description: 'the case', content: json(ref('CaseDetail')) }, 304: { description: 'unchanged' } },
      ONE_ERRORS,
      { parameters: [CASE_ID] },
    ),
  },
  '/api/v1/cases/{id}/audit': {
    get: op(
      'getCaseAudit',
      'cases',
      "A case's audit trail, oldest first",
      READ,
      { 200: { description: 'a page', content: json(ref('AuditPage')) } },
      ONE_ERRORS,
      { parameters: [CASE_ID, CURSOR, q('limit', 'page size, 1–1000 (default 100)')] },
    ),
  },
  '/api/v1/cases/{id}/export': {
    get: op(
      'exportCase',
      'cases',
      "A case as `hunt --format ocsf-incident` renders it, with the analyst's state; or its findings as lines",
      READ,
      {
        200: {
          description:
            "ocsf-incident: one line, the case's OCSF 1.3 Incident Finding (2005) over its findings now, with status_id (New; In Progress while triaged, escalated or contained; Resolved once closed; Closed once merged), activity_id (Create, Update, Close), assignee.name and verdict_id (False Positive, True Positive, Benign) from the case, and unmapped.state, resolution, resolved_at, reopened and merged_into when they say something; a case as hunt opens it is hunt's bytes. ndjson or ocsf: its findings, one a line in hunt's order, as `hunt --format` prints them. A download (content-disposition: attachment)",
          content: { 'application/x-ndjson': { schema: str() } },
        },
      },
      ONE_ERRORS,
      {
        parameters: [
          CASE_ID,
          {
            ...q('format', 'ocsf-incident, ndjson or ocsf', {
              type: 'string',
              enum: ['ocsf-incident', 'ndjson', 'ocsf'],
            }),
            required: true,
          },
        ],
      },
    ),
  },
  '/api/v1/cases/{id}/transitions': {
    post: op(
      'transitionCase',
      'cases',
      'Move a case on: forward only, a state may be skipped (new → triaged → escalated → contained → closed, closed with a resolution); only a rise or recurrence of its findings reopens a closed case; audited',
      WORK,
      { 200: { description: 'the case after', content: json(ref('Case')) } },
      CHANGE_ERRORS,
      {
        parameters: [CASE_ID],
        ...body(caseChange({ to: CASE_STATE, resolution: RESOLUTION_GIVEN }, ['to'])),
      },
    ),
  },
  '/api/v1/cases/{id}/assign': {
    post: op(
      'assignCase',
      'cases',
      'Assign a case (null: nobody); audited',
      WORK,
      { 200: { description: 'the case after', content: json(ref('Case')) } },
      CHANGE_ERRORS,
      {
        parameters: [CASE_ID],
        ...body(caseChange({ assignee: { type: ['string', 'null'], maxLength: 256 } }, ['assignee'])),
      },
    ),
  },
  '/api/v1/cases/{id}/notes': {
    post: op(
      'addCaseNote',
      'cases',
      'Add a note to a case; audited',
      WORK,
      { 200: { description: 'the case after', content: json(ref('Case')) } },
      CHANGE_ERRORS,
      {
        parameters: [CASE_ID],
        ...body(caseChange({ text: { type: 'string', minLength: 1, maxLength: 16384 } }, ['text'])),
      },
    ),
  },
  '/api/v1/cases/{id}/checklist/{step}': {
    post: op(
      'tickCaseStep',
      'cases',
      'Tick (done: true) or untick a checklist step; audited',
      WORK,
      { 200: { description: 'the case after', content: json(ref('Case')) } },
      CHANGE_ERRORS,
      {
        parameters: [CASE_ID, p('step', 'the checklist step id')],
        ...body(caseChange({ done: { type: 'boolean' } }, ['done'])),
      },
    ),
  },
  '/api/v1/allowlist': {
    get: op(
      'listAllowlist',
      'allowlist',
      'The allowlist entries in force (newest version of each, retired ones left out)',
      READ,
      { 200: { description: 'the entries', content: json(ref('AllowlistList')) } },
      READ_ERRORS,
    ),
    post: op(
      'createAllowlistEntry',
      'allowlist',
      'Add an entry (owner, reason and expiry required); versioned and audited',
      WORK,
      { 201: { description: 'the entry', content: json(ref('AllowlistEntry')) } },
      CHANGE_ERRORS,
      body(ref('AllowlistInput')),
    ),
  },
  '/api/v1/allowlist/export': {
    get: op(
      'exportAllowlist',
      'allowlist',
      "The entries in force as coalmine.yaml's allowlist: block",
      READ,
      { 200: { description: 'YAML', content: { 'application/yaml': { schema: str() } } } },
      READ_ERRORS,
    ),
  },
  '/api/v1/allowlist/{id}': {
    get: op(
      'getAllowlistEntry',
      'allowlist',
      'One entry (newest version) with its history; ETag',
      READ,
      { 200: { description: 'the entry', content: json(ref('AllowlistDetail')) }, 304: { description: 'unchanged' } },
      ONE_ERRORS,
      { parameters: [p('id', 'the entry id')] },
    ),
  },
  '/api/v1/allowlist/{id}/retire': {
    post: op(
      'retireAllowlistEntry',
      'allowlist',
      'Stop an entry applying (a retired version; history kept); audited',
      ADMIN,
      { 200: { description: 'the retired version', content: json(ref('AllowlistEntry')) } },
      CHANGE_ERRORS,
      { parameters: [p('id', 'the entry id')] },
    ),
  },
  '/api/v1/sensors': {
    get: op(
      'listSensors',
      'sensors',
      'Sensors: last contact, version, what each cannot see',
      READ,
      { 200: { description: 'the sensors', content: json(ref('SensorList')) } },
      READ_ERRORS,
    ),
  },
  '/api/v1/sensors/self': {
    put: op(
      'sensorHeartbeat',
      'sensors',
      "A sensor's heartbeat (watch --server sends one at start, every interval and when its gaps change): what it is and what it cannot see; the latest replaces the one before",
      SENSOR,
      { 200: { description: 'the sensor as stored', content: json(ref('Sensor')) } },
      errors(400, 401, 403, 413, 415),
      body(ref('SensorHeartbeat')),
    ),
  },
  '/api/v1/tokens': {
    get: op(
      'listTokens',
      'tokens',
      'API tokens (never their secrets)',
      ADMIN,
      { 200: { description: 'the tokens', content: json(ref('TokenList')) } },
      READ_ERRORS,
    ),
    post: op(
      'createToken',
      'tokens',
      'Make a token; the secret is in this answer only',
      ADMIN,
      { 201: { description: 'the token and its secret', content: json(ref('TokenCreated')) } },
      CHANGE_ERRORS,
      body({
        type: 'object',
        required: ['name', 'role'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, role: ROLE },
      }),
    ),
  },
  '/api/v1/tokens/{id}': {
    delete: op(
      'revokeToken',
      'tokens',
      'Revoke a token (its console sessions end); audited',
      ADMIN,
      { 204: { description: 'revoked' } },
      CHANGE_ERRORS,
      { parameters: [p('id', 'the token id')] },
    ),
  },
  '/api/v1/session': {
    post: op(
      'login',
      'session',
      'Log in to the console with a token: sets an HttpOnly, SameSite=Strict session cookie',
      'public',
      { 200: { description: 'the session', content: json(ref('Session')) } },
      errors(400, 401, 403, 413, 415),
      body({
        type: 'object',
        required: ['token'],
        additionalProperties: false,
        properties: { token: { type: 'string', maxLength: 256 } },
      }),
    ),
    get: op(
      'whoAmI',
      'session',
      'Who is calling (and the CSRF token of a cookie session)',
      READ,
      { 200: { description: 'the caller', content: json(ref('Session')) } },
      READ_ERRORS,
    ),
    delete: op(
      'logout',
      'session',
      'Log out: the session ends and the cookie is cleared',
      READ,
      { 204: { description: 'logged out' } },
      READ_ERRORS,
    ),
  },
  '/api/v1/stream': {
    get: op(
      'streamChanges',
      'meta',
      'What changes, as server-sent events (the console listens to refresh its pages)',
      READ,
      {
        200: {
          description:
            'A text/event-stream that stays open: `retry: 3000` first, then one event per change, `id: <seq>`, `event: finding | case | allowlist | sensor`, `data: {"kind","id","revision"?,"state"?,"seq","at"}`, and a `: keep-alive` comment every 15 s. Send the last id seen as the Last-Event-ID header to resume; when the changes since are no longer held (the last 1,000 are, and none from before a restart), an `event: reset` says to reload.',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
      },
      errors(400, 401, 403, 503),
    ),
  },
  '/api/v1/openapi.json': {
    get: op(
      'openapi',
      'meta',
      'This document',
      READ,
      { 200: { description: 'the OpenAPI document', content: json({ type: 'object' }) } },
      READ_ERRORS,
    ),
  },
};

/** The document: the built-in paths and every module's, one schema namespace (a name twice is a bug). */
export function apiDocument(extra: { paths: OpenApiPaths; schemas?: Record<string, Schema> }[] = []): OpenApiDocument {
  const paths: OpenApiPaths = structuredClone(PATHS);
  const schemas: Record<string, Schema> = structuredClone(SCHEMAS);
  for (const e of extra) {
    for (const [path, item] of Object.entries(e.paths)) {
      paths[path] ??= {};
      const into = paths[path];
      for (const [method, operation] of Object.entries(item)) {
        const m = method as keyof typeof into;
        if (into[m]) throw new Error(`OpenAPI operation defined twice: ${method.toUpperCase()} ${path}`);
        into[m] = operation;
      }
    }
    for (const [name, schema] of Object.entries(e.schemas ?? {})) {
      if (Object.hasOwn(schemas, name)) throw new Error(`OpenAPI schema defined twice: ${name}`);
      schemas[name] = schema;
    }
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'coalmine serve',
      version: '1',
      description:
        'Findings, cases, the allowlist, sensors and tokens of a coalmine server. Every route needs a token (Authorization: Bearer cm_…) or a console session cookie; changes made with the cookie need the x-csrf-token header.',
    },
    servers: [{ url: '/' }],
    security: AUTHENTICATED,
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from `coalmine serve token create` (cm_…)' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'coalmine_session',
          description: 'POST /api/v1/session; over TLS the cookie is __Host-coalmine_session',
        },
      },
    },
  };
  const operation = (method: string, path: string): Operation | undefined =>
    Object.hasOwn(paths, path) ? paths[path][method.toLowerCase() as 'get'] : undefined;
  return {
    json: document,
    schemas,
    operation,
    requestSchema: (method, path) => operation(method, path)?.requestBody?.content['application/json']?.schema,
  };
}
