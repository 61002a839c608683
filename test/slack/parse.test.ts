// The slash command's grammar, as a table: what a user types -> what smtpdesk understands.
import { describe, expect, it } from 'vitest';
import { parseSubcommand, type Subcommand } from '../../src/slack/commands/parse.ts';

const cases: [string, Subcommand | { kind: 'help'; problem: RegExp }][] = [
  ['', { kind: 'help' }],
  ['help', { kind: 'help' }],
  ['list', { kind: 'list' }],
  ['LIST --idle 60', { kind: 'list', idleDays: 60 }],
  ['list --idle=30 --sort created', { kind: 'list', idleDays: 30, sort: 'created' }],
  ['list --idle abc', { kind: 'help', problem: /--idle.*number of days/ }],
  ['list --idle', { kind: 'help', problem: /--idle/ }],
  ['list --sort size', { kind: 'help', problem: /--sort/ }],
  ['list everything', { kind: 'help', problem: /does not know "everything"/ }],
  ['show Staging Checkout', { kind: 'show', name: 'Staging Checkout' }],
  ['show "staging checkout"', { kind: 'show', name: 'staging checkout' }],
  ['show', { kind: 'help', problem: /needs an account name/ }],
  ['create', { kind: 'create' }],
  ['create production-transactional', { kind: 'create', name: 'production-transactional' }],
  ['rotate crm', { kind: 'rotate', name: 'crm' }],
  ['rotate', { kind: 'help', problem: /rotate NAME/ }],
  ['enable crm', { kind: 'enable', name: 'crm' }],
  ['delete crm', { kind: 'delete', name: 'crm' }],
  ['rm crm', { kind: 'delete', name: 'crm' }],
  ['disable crm', { kind: 'disable', name: 'crm' }],
  ['disable crm maintenance', { kind: 'disable', name: 'crm', reason: 'maintenance' }],
  ['disable crm compromised', { kind: 'disable', name: 'crm', reason: 'suspected_compromise' }],
  ['disable crm suspected compromise', { kind: 'disable', name: 'crm', reason: 'suspected_compromise' }],
  ['disable staging checkout decommissioning app retired', { kind: 'disable', name: 'staging checkout', reason: 'decommissioning', note: 'app retired' }],
  ['disable "billing team" leaked key in a public repo', { kind: 'disable', name: 'billing team', reason: 'other', note: 'leaked key in a public repo' }],
  ['disable “billing team” other vendor asked', { kind: 'disable', name: 'billing team', reason: 'other', note: 'vendor asked' }],
  ['disable', { kind: 'help', problem: /disable NAME/ }],
  ['usage', { kind: 'usage' }],
  ['usage now', { kind: 'help', problem: /usage.*no arguments/ }],
  ['plan', { kind: 'plan' }],
  ['plan set 20k', { kind: 'plan', set: '20k' }],
  ['plan upgrade', { kind: 'help', problem: /plan set PLAN/ }],
  ['audit', { kind: 'audit' }],
  ['audit crm', { kind: 'audit', name: 'crm' }],
  ['frobnicate', { kind: 'help', problem: /Unknown subcommand "frobnicate"/ }],
];

describe('slash command grammar', () => {
  it.each(cases)('%j', (text, expected) => {
    const got = parseSubcommand(text);
    if ('problem' in expected && expected.problem instanceof RegExp) {
      expect(got.kind).toBe('help');
      expect((got as { problem?: string }).problem).toMatch(expected.problem);
    } else {
      expect(got).toEqual(expected);
    }
  });
});
