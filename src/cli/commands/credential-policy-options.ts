// The credential-policy flags of `smtpdesk workspace set` (issue 18): --on-leak, --max-password-age,
// --unused-after. Kept apart from workspace.ts so that command stays one list of flags plus this hook.
import { effectiveCredentialPolicy, parseDays, parseLeakPolicy, setCredentialPolicy, type CredentialPolicy, type Workspace } from '../../domain/index.ts';
import type { CliContext, OptionSpec, OptionValues } from '../command.ts';

export const CREDENTIAL_POLICY_OPTIONS: OptionSpec = {
  'on-leak': { type: 'string' },
  'max-password-age': { type: 'string' },
  'unused-after': { type: 'string' },
};

export const CREDENTIAL_POLICY_HELP = [
  '--on-leak disable|rotate  what a leak report of a live password does (default disable)',
  '--max-password-age 90d    the daily credential-hygiene digest lists older passwords (default 90d)',
  '--unused-after 45d        …and accounts not used for this long (default 45d)',
];

export function credentialPolicyRow(w: Workspace) {
  return effectiveCredentialPolicy(w);
}

/** Applies the flags given (if any); the updated workspace, or null when none was given. */
export async function applyCredentialPolicyOptions(cli: CliContext, ws: Workspace, opts: OptionValues): Promise<Workspace | null> {
  const patch: CredentialPolicy = {};
  if (typeof opts['on-leak'] === 'string') patch.onLeak = parseLeakPolicy(opts['on-leak']);
  if (typeof opts['max-password-age'] === 'string') patch.maxPasswordAgeDays = parseDays(opts['max-password-age'], '--max-password-age');
  if (typeof opts['unused-after'] === 'string') patch.unusedAfterDays = parseDays(opts['unused-after'], '--unused-after');
  if (!Object.keys(patch).length) return null;
  return setCredentialPolicy(await cli.domain(), cli.actor, ws.id, patch);
}

export function describeCredentialPolicy(w: Workspace): string {
  const p = effectiveCredentialPolicy(w);
  return `On leak: ${p.onLeak}; passwords older than ${p.maxPasswordAgeDays} d and accounts unused for ${p.unusedAfterDays} d are in the hygiene digest.`;
}
