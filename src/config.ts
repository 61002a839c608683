// One schema-validated, typed configuration read from the environment.
// Every variable is listed with a comment in .env.example; keep the two in step.
import { hkdfSync } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { validate as isCronExpression } from 'node-cron';
import { parseRetryPolicy, parseRetrySchedule } from './shared/retry-schedule.ts';
import { parseUpstreamUrl } from './shared/upstream-url.ts';
import { parseSecretKey } from './domain/secret-box.ts';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const list = z.string().transform((v) =>
  v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean),
);
const bytes = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|k|mb|m|gb|g)?$/i, 'a size such as 25mb or 1048576')
  .transform(parseBytes);

export function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  if (!m) throw new Error(`not a size: ${v}`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit.startsWith('g') ? 1024 ** 3 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('k') ? 1024 : 1;
  return Math.floor(Number(m[1]) * mult);
}

/** "name:secret,name2:secret2" -> [{name, secret}] */
const namedSecrets = z.string().transform((v, ctx) => {
  const out: { name: string; secret: string }[] = [];
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf(':');
    if (i <= 0 || i === part.length - 1) {
      ctx.addIssue({ code: 'custom', message: 'expected name:secret pairs separated by commas' });
      return z.NEVER;
    }
    out.push({ name: part.slice(0, i), secret: part.slice(i + 1) });
  }
  return out;
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Read by log.ts before config exists; validated here so a typo is reported. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  SMTPDESK_ROLES: z.string().default('all'),

  DATABASE_TIMEOUT_MS: positiveInt.default(30_000),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  SMTPDESK_DATA_DIR: z.string().default('./data'),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  DEFAULT_PLAN: z.string().default('10k'),
  /** Seals DKIM private keys at rest (AES-256-GCM): 32 bytes as base64 or 64 hex digits. */
  SMTPDESK_SECRET_KEY: z.string().optional(),

  // Unset: every address, IPv6 and IPv4 (Node listens on :: dual-stack, or 0.0.0.0 without IPv6), so that
  // "localhost" works whether it resolves to ::1 or 127.0.0.1.
  RELAY_HOST: z.string().min(1).optional(),
  RELAY_PORT: port.optional(),
  RELAY_IMPLICIT_TLS_PORT: port.optional(),
  RELAY_HOSTNAME: z.string().default('localhost'),
  RELAY_TLS_CERT_FILE: z.string().optional(),
  RELAY_TLS_KEY_FILE: z.string().optional(),
  RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: bool.default(false),
  RELAY_MAX_MESSAGE_SIZE: bytes.default(25 * 1024 * 1024),
  RELAY_MAX_RECIPIENTS: positiveInt.default(100),
  RELAY_MAX_CLIENTS: positiveInt.default(500),
  RELAY_SOCKET_TIMEOUT_SECONDS: positiveInt.default(60),
  RELAY_AUTH_CACHE: bool.default(true),
  RELAY_AUTH_CACHE_TTL_SECONDS: positiveInt.default(600),
  RELAY_BRUTE_FORCE_SLOW_AFTER: positiveInt.default(5),
  RELAY_BRUTE_FORCE_BLOCK_AFTER: positiveInt.default(10),
  RELAY_BRUTE_FORCE_WINDOW_SECONDS: positiveInt.default(900),
  RELAY_BRUTE_FORCE_BLOCK_SECONDS: positiveInt.default(900),
  RELAY_STORE_TIMEOUT_MS: positiveInt.default(10_000),
  /** A counter batch still open after this long was left by a crash or an outage: any relay or worker finishes it. */
  COUNTER_BATCH_STALE_SECONDS: positiveInt.default(120),
  /** How long the MAIL FROM check may reuse what it read of an account (0: read every time). */
  RELAY_SESSION_CHECK_CACHE_MS: z.coerce.number().int().min(0).default(1_000),
  /** A message up to this size is stored inside its queue document (one write); larger ones stream into chunks. */
  RELAY_INLINE_BODY_BYTES: positiveInt.default(256 * 1024),
  RELAY_ADD_MISSING_HEADERS: bool.default(true),
  RELAY_SHUTDOWN_GRACE_SECONDS: positiveInt.default(30),
  RELAY_SUPPRESSION_CACHE_SECONDS: positiveInt.default(5),

  RELAY_UPSTREAM_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be smtp://user:pass@host:port or smtps://…')
    .optional(),
  RELAY_UPSTREAM_TLS_VERIFY: bool.default(true),
  DELIVERY_HELO_NAME: z.string().optional(),
  DELIVERY_RETRY_SCHEDULE: z.string().default('5m, 10m, 30m, 1h*2, 2h*2, 4h*20'),
  DELIVERY_MAX_AGE: z.string().default('4d'),
  DELIVERY_CONCURRENCY: positiveInt.default(10),
  DELIVERY_LEASE_SECONDS: positiveInt.default(120),
  DELIVERY_SEND_BOUNCES: bool.default(true),
  DELIVERY_RETENTION_DAYS: positiveInt.default(7),
  DELIVERY_DKIM_CACHE_SECONDS: positiveInt.default(30),
  DELIVERY_ALLOW_PRIVATE_MX: bool.default(false),
  DKIM_VERIFY_DNS_SERVERS: list.default([]),

  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  SLACK_API_URL: z.string().url().optional(),
  SLACK_HOST: z.string().min(1).optional(),
  SLACK_PORT: port.default(3000),
  SLACK_COMMAND: z
    .string()
    .regex(/^\/[a-z0-9_-]+$/, 'a slash command such as /smtp')
    .default('/smtp'),
  SLACK_ADMIN_USERS: list.default([]),
  SLACK_RESPONDER_USERS: list.default([]),
  SLACK_ADMIN_GROUP: z.string().optional(),
  SLACK_RESPONDER_GROUP: z.string().optional(),
  // OAuth distribution (HTTP mode): one deployment installed in many Slack teams (src/slack/installations.ts).
  SLACK_CLIENT_ID: z.string().min(1).optional(),
  SLACK_CLIENT_SECRET: z.string().min(1).optional(),
  SLACK_STATE_SECRET: z.string().min(1).optional(),

  JOBS_TIMEZONE: z.string().default('UTC'),
  JOB_IDLE_ACCOUNTS_SCHEDULE: z.string().default('0 9 * * *'),
  JOB_PLAN_LIMITS_SCHEDULE: z.string().default('0 * * * *'),
  JOB_RETENTION_SCHEDULE: z.string().default('30 3 * * *'),
  JOB_SURGE_SCHEDULE: z.string().default('*/5 * * * *'),
  JOB_CREDENTIAL_HYGIENE_SCHEDULE: z.string().default('15 9 * * *'),
  SURGE_FACTOR: z.coerce.number().min(1).default(5),
  SURGE_MIN_RECIPIENTS: positiveInt.default(50),
  SURGE_MIN_REFUSED: positiveInt.default(20),
  SURGE_HISTORY_DAYS: positiveInt.default(14),
  SURGE_SNOOZE_HOURS: positiveInt.default(24),
  IDLE_AFTER_DAYS: positiveInt.default(60),
  IDLE_SNOOZE_DAYS: positiveInt.default(30),
  SLOTS_NEAR_LIMIT_PERCENT: z.coerce.number().min(1).max(100).default(80),
  QUOTA_NEAR_LIMIT_PERCENTS: list.default(['80', '100']),
  JOBS_LEASE_SECONDS: positiveInt.default(900),

  HTTP_HOST: z.string().min(1).optional(),
  HTTP_PORT: port.default(8080),
  HTTP_BODY_LIMIT: bytes.default(64 * 1024),
  HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt.default(15),
  METRICS_BEARER_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  ADMIN_WEBHOOK_SECRETS: namedSecrets.default([]),
  WEBHOOK_TOLERANCE_SECONDS: positiveInt.default(300),
  OUTBOUND_WEBHOOK_URLS: list.default([]),
  OUTBOUND_WEBHOOK_SECRET: z.string().optional(),
  OUTBOUND_WEBHOOK_RETRY_SCHEDULE: z.string().default('10s, 1m, 5m, 30m, 2h, 6h*4'),
  OUTBOUND_WEBHOOK_TIMEOUT_SECONDS: positiveInt.default(10),
  // Leak reports (issue 18, docs/secret-scanning.md): the signers' public keys, from a file or a URL.
  SECRET_SCANNING_KEYS_FILE: z.string().min(1).optional(),
  SECRET_SCANNING_KEYS_URL: z.string().url().default('https://api.github.com/meta/public_keys/secret_scanning'),
  SECRET_SCANNING_KEYS_REFRESH_SECONDS: z.coerce.number().int().min(0).default(60),

  /** Later bounces and complaints (docs/delivery.md): the domain of the per-recipient return path; unset: off. */
  RETURN_PATH_DOMAIN: z
    .string()
    .regex(/^(?=.{1,200}$)[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'a domain such as bounces.example.com')
    .optional(),
  /** Signs return paths; unset: derived from SMTPDESK_SECRET_KEY. */
  RETURN_PATH_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  BOUNCES_HOST: z.string().min(1).optional(),
  BOUNCES_PORT: port.default(25),
  BOUNCES_MAX_MESSAGE_SIZE: bytes.default(1024 * 1024),
  BOUNCES_MAX_CLIENTS: positiveInt.default(200),
  BOUNCES_MAX_CONNECTIONS_PER_CLIENT: positiveInt.default(5),
  BOUNCES_MAX_MESSAGES_PER_CLIENT_PER_MINUTE: positiveInt.default(60),
  JOB_REPUTATION_SCHEDULE: z.string().default('*/15 * * * *'),
});

export type Env = z.infer<typeof envSchema>;
export type RoleName = 'relay' | 'worker' | 'slack' | 'jobs' | 'http' | 'bounces';
// bounces starts only where RETURN_PATH_DOMAIN is set (its listener faces the internet on port 25).
export const ALL_ROLES: readonly RoleName[] = ['relay', 'worker', 'http', 'jobs', 'slack', 'bounces'];

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  roles: RoleName[];
  database: { uri?: string; dataDir: string; /** DATABASE_TIMEOUT_MS: the driver's bound on every database call. */ timeoutMs: number };
  accounts: { bcryptCost: number; defaultPlan: string };
  /** SMTPDESK_SECRET_KEY, decoded (32 bytes); undefined when not set. */
  secretKey?: Buffer;
  /** POST /webhooks/secret-scanning: where the signers' public keys are read; an unknown key id re-reads them at most every refreshMs. */
  secretScanning: { keysFile?: string; keysUrl: string; refreshMs: number };
  relay: {
    /** Undefined: every address. */
    host?: string;
    port: number;
    implicitTlsPort?: number;
    hostname: string;
    tlsCertFile?: string;
    tlsKeyFile?: string;
    allowInsecureAuthOnLoopback: boolean;
    maxMessageSize: number;
    maxRecipients: number;
    maxClients: number;
    socketTimeoutMs: number;
    authCache: boolean;
    authCacheTtlMs: number;
    bruteForce: { slowAfter: number; blockAfter: number; windowMs: number; blockMs: number };
    storeTimeoutMs: number;
    inlineBodyBytes: number;
    /** Counter batches open longer than this are finished by recovery (COUNTER_BATCH_STALE_SECONDS). */
    batchStaleMs: number;
    sessionCheckCacheMs: number;
    shutdownGraceMs: number;
    /** Add Message-ID and Date when a submitted message has none (RFC 6409 section 8). */
    addMissingHeaders: boolean;
    /** How long a relay answers RCPT TO from its cached suppression list before it checks the list's version. */
    suppressionCacheMs: number;
  };
  delivery: {
    upstreamUrl?: string;
    upstreamTlsVerify: boolean;
    heloName: string;
    retrySchedule: string;
    maxAge: string;
    concurrency: number;
    leaseMs: number;
    sendBounces: boolean;
    retentionDays: number;
    /** How long the worker keeps a domain's DKIM key (or its absence) in memory. */
    dkimCacheMs: number;
    /** DNS servers `domains verify` asks ('ip' or 'ip:port'); empty: the system's resolver. */
    dkimVerifyDnsServers: string[];
    /** Direct MX delivery may connect to loopback, private and other internal addresses (tests, closed networks). */
    allowPrivateMx: boolean;
  };
  slack: {
    enabled: boolean;
    botToken?: string;
    signingSecret?: string;
    appToken?: string;
    apiUrl?: string;
    /** HTTP mode: the address the receiver listens on; undefined: every address. */
    host?: string;
    port: number;
    command: string;
    adminUsers: string[];
    responderUsers: string[];
    adminGroup?: string;
    responderGroup?: string;
    /** OAuth distribution: set when SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET are. */
    oauth?: { clientId: string; clientSecret: string; stateSecret: string };
  };
  jobs: {
    timezone: string;
    idleAccountsSchedule: string;
    planLimitsSchedule: string;
    retentionSchedule: string;
    surgeSchedule: string;
    /** The daily credential-hygiene digest (src/jobs/credential-hygiene.ts). */
    credentialHygieneSchedule: string;
    /** The reputation guard (src/jobs/reputation.ts). */
    reputationSchedule: string;
    /** Surge thresholds (src/domain/surge.ts) and how long *Expected* snoozes a signal. */
    surge: { factor: number; minRecipients: number; minRefused: number; historyDays: number; snoozeHours: number };
    idleAfterDays: number;
    idleSnoozeDays: number;
    slotsNearLimitPercent: number;
    quotaNearLimitPercents: number[];
    /** How long a job run holds its lease before another instance may take the job. */
    leaseMs: number;
  };
  http: {
    /** Undefined: every address. */
    host?: string;
    port: number;
    bodyLimit: number;
    requestTimeoutMs: number;
    adminWebhookSecrets: { name: string; secret: string }[];
    webhookToleranceMs: number;
    outboundWebhookUrls: string[];
    outboundWebhookSecret?: string;
    /** Delay before each retry of an outbound webhook; attempts = delays + 1. */
    outboundWebhookRetryDelaysMs: number[];
    outboundWebhookTimeoutMs: number;
    /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
    metricsBearerToken?: string;
  };
  /** Later bounces and complaints: the return path and the `bounces` role's listener. */
  bounces: {
    /** RETURN_PATH_DOMAIN; undefined: the worker sends with the application's own envelope sender. */
    returnPathDomain?: string;
    /** HMAC key of the return paths (set whenever returnPathDomain is). */
    returnPathKey?: Buffer;
    host?: string;
    port: number;
    maxMessageSize: number;
    maxClients: number;
    maxConnectionsPerClient: number;
    maxMessagesPerClientPerMinute: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; throws ConfigError listing every problem at once. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = source[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  const roles = parseRoles(e.SMTPDESK_ROLES, problems);
  const quotaPercents = e.QUOTA_NEAR_LIMIT_PERCENTS.map(Number);
  if (quotaPercents.some((n) => !Number.isFinite(n) || n <= 0 || n > 1000)) {
    problems.push('QUOTA_NEAR_LIMIT_PERCENTS: expected numbers such as 80,100');
  }
  for (const key of ['JOB_IDLE_ACCOUNTS_SCHEDULE', 'JOB_PLAN_LIMITS_SCHEDULE', 'JOB_RETENTION_SCHEDULE', 'JOB_SURGE_SCHEDULE', 'JOB_CREDENTIAL_HYGIENE_SCHEDULE'] as const) {
    if (!isCronExpression(e[key])) problems.push(`${key}: not a cron expression ("minute hour day month weekday", e.g. "0 9 * * *")`);
  }
  if (!isTimeZone(e.JOBS_TIMEZONE)) problems.push(`JOBS_TIMEZONE: unknown time zone "${e.JOBS_TIMEZONE}" (an IANA name such as Europe/Paris)`);
  if ((e.RELAY_TLS_CERT_FILE === undefined) !== (e.RELAY_TLS_KEY_FILE === undefined)) {
    problems.push('RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE must be set together');
  }
  if (e.NODE_ENV === 'production' && e.BCRYPT_COST < 10) {
    problems.push('BCRYPT_COST: must be at least 10 in production');
  }
  const slackOAuth =
    e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET && e.SLACK_STATE_SECRET
      ? { clientId: e.SLACK_CLIENT_ID, clientSecret: e.SLACK_CLIENT_SECRET, stateSecret: e.SLACK_STATE_SECRET }
      : undefined;
  if ((e.SLACK_CLIENT_ID || e.SLACK_CLIENT_SECRET || e.SLACK_STATE_SECRET) && !slackOAuth) {
    problems.push('SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET: set all three for OAuth distribution (or none)');
  }
  if (slackOAuth && e.SLACK_APP_TOKEN) problems.push('SLACK_CLIENT_ID: OAuth distribution runs in HTTP mode; unset SLACK_APP_TOKEN');
  if (slackOAuth && !e.SMTPDESK_SECRET_KEY) problems.push("SMTPDESK_SECRET_KEY: required with SLACK_CLIENT_ID, to seal the installations' tokens at rest");
  const slackEnabled = Boolean(e.SLACK_BOT_TOKEN || slackOAuth);
  if (slackEnabled && !e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
    problems.push('SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (e.OUTBOUND_WEBHOOK_URLS.length && !e.OUTBOUND_WEBHOOK_SECRET) {
    problems.push('OUTBOUND_WEBHOOK_SECRET: required when OUTBOUND_WEBHOOK_URLS is set');
  }
  const badUrls = e.OUTBOUND_WEBHOOK_URLS.filter((u) => !/^https?:\/\/[^\s/]+/i.test(u));
  if (badUrls.length) problems.push(`OUTBOUND_WEBHOOK_URLS: not http(s) URLs: ${badUrls.join(', ')}`);
  let outboundRetryDelays: number[] = [];
  try {
    outboundRetryDelays = parseRetrySchedule(e.OUTBOUND_WEBHOOK_RETRY_SCHEDULE);
  } catch (err) {
    problems.push(`OUTBOUND_WEBHOOK_RETRY_SCHEDULE: ${(err as Error).message}`);
  }
  problems.push(...deliveryProblems(e));
  const badDns = e.DKIM_VERIFY_DNS_SERVERS.filter((s) => !isDnsServer(s));
  if (badDns.length) problems.push(`DKIM_VERIFY_DNS_SERVERS: not an IP address (with an optional :port): ${badDns.join(', ')}`);
  const secretKey = e.SMTPDESK_SECRET_KEY === undefined ? undefined : parseSecretKey(e.SMTPDESK_SECRET_KEY);
  if (secretKey === null) problems.push('SMTPDESK_SECRET_KEY: must be 32 bytes, as base64 or 64 hex digits (make one with `openssl rand -base64 32`)');
  const returnPathKey = e.RETURN_PATH_SECRET
    ? Buffer.from(e.RETURN_PATH_SECRET, 'utf8')
    : secretKey
      ? Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'smtpdesk return path', 32))
      : undefined;
  if (e.RETURN_PATH_DOMAIN && !returnPathKey) problems.push('RETURN_PATH_SECRET: required when RETURN_PATH_DOMAIN is set (or set SMTPDESK_SECRET_KEY)');
  if (!isCronExpression(e.JOB_REPUTATION_SCHEDULE)) problems.push('JOB_REPUTATION_SCHEDULE: not a cron expression ("minute hour day month weekday", e.g. "*/15 * * * *")');
  if (problems.length) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    roles,
    database: { uri: e.MONGODB_URI, dataDir: e.SMTPDESK_DATA_DIR, timeoutMs: e.DATABASE_TIMEOUT_MS },
    accounts: { bcryptCost: e.BCRYPT_COST, defaultPlan: e.DEFAULT_PLAN },
    ...(secretKey ? { secretKey } : {}),
    secretScanning: { keysFile: e.SECRET_SCANNING_KEYS_FILE, keysUrl: e.SECRET_SCANNING_KEYS_URL, refreshMs: e.SECRET_SCANNING_KEYS_REFRESH_SECONDS * 1000 },
    relay: {
      host: e.RELAY_HOST,
      port: e.RELAY_PORT ?? (e.NODE_ENV === 'production' ? 587 : 2525),
      implicitTlsPort: e.RELAY_IMPLICIT_TLS_PORT,
      hostname: e.RELAY_HOSTNAME,
      tlsCertFile: e.RELAY_TLS_CERT_FILE,
      tlsKeyFile: e.RELAY_TLS_KEY_FILE,
      allowInsecureAuthOnLoopback: e.RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK,
      maxMessageSize: e.RELAY_MAX_MESSAGE_SIZE,
      maxRecipients: e.RELAY_MAX_RECIPIENTS,
      maxClients: e.RELAY_MAX_CLIENTS,
      socketTimeoutMs: e.RELAY_SOCKET_TIMEOUT_SECONDS * 1000,
      authCache: e.RELAY_AUTH_CACHE,
      authCacheTtlMs: e.RELAY_AUTH_CACHE_TTL_SECONDS * 1000,
      bruteForce: {
        slowAfter: e.RELAY_BRUTE_FORCE_SLOW_AFTER,
        blockAfter: e.RELAY_BRUTE_FORCE_BLOCK_AFTER,
        windowMs: e.RELAY_BRUTE_FORCE_WINDOW_SECONDS * 1000,
        blockMs: e.RELAY_BRUTE_FORCE_BLOCK_SECONDS * 1000,
      },
      storeTimeoutMs: e.RELAY_STORE_TIMEOUT_MS,
      inlineBodyBytes: e.RELAY_INLINE_BODY_BYTES,
      batchStaleMs: e.COUNTER_BATCH_STALE_SECONDS * 1000,
      sessionCheckCacheMs: e.RELAY_SESSION_CHECK_CACHE_MS,
      shutdownGraceMs: e.RELAY_SHUTDOWN_GRACE_SECONDS * 1000,
      addMissingHeaders: e.RELAY_ADD_MISSING_HEADERS,
      suppressionCacheMs: e.RELAY_SUPPRESSION_CACHE_SECONDS * 1000,
    },
    delivery: {
      upstreamUrl: e.RELAY_UPSTREAM_URL,
      upstreamTlsVerify: e.RELAY_UPSTREAM_TLS_VERIFY,
      heloName: e.DELIVERY_HELO_NAME ?? e.RELAY_HOSTNAME,
      retrySchedule: e.DELIVERY_RETRY_SCHEDULE,
      maxAge: e.DELIVERY_MAX_AGE,
      concurrency: e.DELIVERY_CONCURRENCY,
      leaseMs: e.DELIVERY_LEASE_SECONDS * 1000,
      sendBounces: e.DELIVERY_SEND_BOUNCES,
      retentionDays: e.DELIVERY_RETENTION_DAYS,
      dkimCacheMs: e.DELIVERY_DKIM_CACHE_SECONDS * 1000,
      allowPrivateMx: e.DELIVERY_ALLOW_PRIVATE_MX,
      dkimVerifyDnsServers: e.DKIM_VERIFY_DNS_SERVERS,
    },
    slack: {
      enabled: slackEnabled,
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
      host: e.SLACK_HOST,
      port: e.SLACK_PORT,
      command: e.SLACK_COMMAND,
      adminUsers: e.SLACK_ADMIN_USERS,
      responderUsers: e.SLACK_RESPONDER_USERS,
      adminGroup: e.SLACK_ADMIN_GROUP,
      responderGroup: e.SLACK_RESPONDER_GROUP,
      ...(slackOAuth ? { oauth: slackOAuth } : {}),
    },
    jobs: {
      timezone: e.JOBS_TIMEZONE,
      idleAccountsSchedule: e.JOB_IDLE_ACCOUNTS_SCHEDULE,
      planLimitsSchedule: e.JOB_PLAN_LIMITS_SCHEDULE,
      retentionSchedule: e.JOB_RETENTION_SCHEDULE,
      surgeSchedule: e.JOB_SURGE_SCHEDULE,
      credentialHygieneSchedule: e.JOB_CREDENTIAL_HYGIENE_SCHEDULE,
      reputationSchedule: e.JOB_REPUTATION_SCHEDULE,
      surge: {
        factor: e.SURGE_FACTOR,
        minRecipients: e.SURGE_MIN_RECIPIENTS,
        minRefused: e.SURGE_MIN_REFUSED,
        historyDays: e.SURGE_HISTORY_DAYS,
        snoozeHours: e.SURGE_SNOOZE_HOURS,
      },
      idleAfterDays: e.IDLE_AFTER_DAYS,
      idleSnoozeDays: e.IDLE_SNOOZE_DAYS,
      slotsNearLimitPercent: e.SLOTS_NEAR_LIMIT_PERCENT,
      quotaNearLimitPercents: quotaPercents.sort((a, b) => a - b),
      leaseMs: e.JOBS_LEASE_SECONDS * 1000,
    },
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      bodyLimit: e.HTTP_BODY_LIMIT,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      metricsBearerToken: e.METRICS_BEARER_TOKEN,
      adminWebhookSecrets: e.ADMIN_WEBHOOK_SECRETS,
      webhookToleranceMs: e.WEBHOOK_TOLERANCE_SECONDS * 1000,
      outboundWebhookUrls: e.OUTBOUND_WEBHOOK_URLS,
      outboundWebhookSecret: e.OUTBOUND_WEBHOOK_SECRET,
      outboundWebhookRetryDelaysMs: outboundRetryDelays,
      outboundWebhookTimeoutMs: e.OUTBOUND_WEBHOOK_TIMEOUT_SECONDS * 1000,
    },
    bounces: {
      ...(e.RETURN_PATH_DOMAIN ? { returnPathDomain: e.RETURN_PATH_DOMAIN.toLowerCase() } : {}),
      ...(returnPathKey ? { returnPathKey } : {}),
      host: e.BOUNCES_HOST,
      port: e.BOUNCES_PORT,
      maxMessageSize: e.BOUNCES_MAX_MESSAGE_SIZE,
      maxClients: e.BOUNCES_MAX_CLIENTS,
      maxConnectionsPerClient: e.BOUNCES_MAX_CONNECTIONS_PER_CLIENT,
      maxMessagesPerClientPerMinute: e.BOUNCES_MAX_MESSAGES_PER_CLIENT_PER_MINUTE,
    },
  };
}

/** The delivery settings that a typo would otherwise only reveal at the first delivery. */
function deliveryProblems(e: Env): string[] {
  const problems: string[] = [];
  try {
    parseRetryPolicy(e.DELIVERY_RETRY_SCHEDULE, e.DELIVERY_MAX_AGE);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (e.RELAY_UPSTREAM_URL) {
    try {
      parseUpstreamUrl(e.RELAY_UPSTREAM_URL);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  // It goes into EHLO and into bounce notices' headers: a host name or an address literal, nothing else.
  const helo = e.DELIVERY_HELO_NAME ?? e.RELAY_HOSTNAME;
  if (!/^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$|^\[[0-9A-Fa-f:.]+\]$/.test(helo)) {
    problems.push(`${e.DELIVERY_HELO_NAME ? 'DELIVERY_HELO_NAME' : 'RELAY_HOSTNAME'}: "${helo}" is not a host name (e.g. mail.example.com)`);
  }
  return problems;
}

/** "9.9.9.9", "127.0.0.1:5353", "2001:db8::1", "[2001:db8::1]:53": what node:dns setServers takes. */
function isDnsServer(s: string): boolean {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  return m ? isIP(m[1]!) !== 0 && Number(m[2]) <= 65535 : isIP(s) !== 0;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function parseRoles(value: string, problems: string[]): RoleName[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0 || names.includes('all')) return [...ALL_ROLES];
  const unknown = names.filter((n) => !(ALL_ROLES as readonly string[]).includes(n));
  if (unknown.length) problems.push(`SMTPDESK_ROLES: unknown role ${unknown.join(', ')} (known: all, ${ALL_ROLES.join(', ')})`);
  return names.filter((n): n is RoleName => (ALL_ROLES as readonly string[]).includes(n));
}
