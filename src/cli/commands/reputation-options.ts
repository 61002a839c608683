// The reputation guard's options of `smtpdesk workspace set` (src/domain/reputation.ts): percentages as people
// write them ("5", "0.1%"), on|off for the pause.
import { reputationSettings, setReputationSettings, percent, type ReputationSettings, type Workspace } from '../../domain/index.ts';
import { UsageError, type CliContext, type OptionValues } from '../command.ts';

export const REPUTATION_OPTIONS = {
  'reputation-pause': { type: 'string' },
  'reputation-warn-bounces': { type: 'string' },
  'reputation-warn-complaints': { type: 'string' },
  'reputation-pause-bounces': { type: 'string' },
  'reputation-pause-complaints': { type: 'string' },
  'reputation-min-volume': { type: 'string' },
} as const;

export const REPUTATION_OPTION_HELP = [
  '--reputation-pause on|off         at the pause level the guard disables the account (default on); off: warn only',
  '--reputation-warn-bounces PCT     warn at this bounce rate over 30 days (default 5)',
  '--reputation-warn-complaints PCT  warn at this complaint rate (default 0.1)',
  '--reputation-pause-bounces PCT    pause at this bounce rate (default 10)',
  '--reputation-pause-complaints PCT pause at this complaint rate (default 0.5)',
  '--reputation-min-volume N         outcomes in 30 days before any rate counts (default 100)',
];

const RATES: [keyof typeof REPUTATION_OPTIONS, keyof ReputationSettings][] = [
  ['reputation-warn-bounces', 'warnBounceRate'],
  ['reputation-warn-complaints', 'warnComplaintRate'],
  ['reputation-pause-bounces', 'pauseBounceRate'],
  ['reputation-pause-complaints', 'pauseComplaintRate'],
];

export const hasReputationOption = (opts: OptionValues) => Object.keys(REPUTATION_OPTIONS).some((k) => opts[k] !== undefined);

export function reputationPatch(opts: OptionValues): Partial<ReputationSettings> {
  const patch: Partial<ReputationSettings> = {};
  const pause = opts['reputation-pause'];
  if (pause !== undefined) {
    if (pause !== 'on' && pause !== 'off') throw new UsageError('--reputation-pause takes on or off');
    patch.pause = pause === 'on';
  }
  for (const [opt, key] of RATES) {
    const v = opts[opt];
    if (v === undefined) continue;
    const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(v) : null;
    if (!m) throw new UsageError(`--${opt} takes a percentage such as 5 or 0.1`);
    (patch as Record<string, number>)[key] = Number(m[1]) / 100;
  }
  const min = opts['reputation-min-volume'];
  if (min !== undefined) {
    if (typeof min !== 'string' || !/^\d+$/.test(min.trim())) throw new UsageError('--reputation-min-volume takes a whole number');
    patch.minVolume = Number(min);
  }
  return patch;
}

export async function applyReputationOptions(cli: CliContext, ws: Workspace, opts: OptionValues): Promise<{ workspace: Workspace; line: string }> {
  const workspace = await setReputationSettings(await cli.domain(), cli.actor, ws.id, reputationPatch(opts));
  const s = reputationSettings(workspace);
  const line =
    `Reputation guard: warn at ${percent(s.warnBounceRate)} bounces or ${percent(s.warnComplaintRate)} complaints, ` +
    `${s.pause ? `pause at ${percent(s.pauseBounceRate)} or ${percent(s.pauseComplaintRate)}` : `no pause (warn only)`}, from ${s.minVolume} outcomes in 30 days.`;
  return { workspace, line };
}
