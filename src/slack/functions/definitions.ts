// The manifest's `functions` section: smtpdesk's Workflow Builder steps, their inputs and outputs
// (src/slack/manifest.ts puts them in the manifest; src/slack/functions/index.ts handles them).
import { FUNCTION } from '../ids.ts';

type Param = { type: string; title: string; description: string; hint?: string };

interface FunctionDefinition {
  title: string;
  description: string;
  input_parameters: { properties: Record<string, Param>; required: string[] };
  output_parameters: { properties: Record<string, Param>; required: string[] };
}

const account: Param = { type: 'string', title: 'SMTP account', description: 'The account’s name, as /smtp list shows it', hint: 'e.g. production-transactional' };
const runBy: Param = { type: 'slack#/types/user_context', title: 'Run by', description: 'The person running the workflow: their smtpdesk role is checked' };

export const FUNCTION_DEFINITIONS: Record<string, FunctionDefinition> = {
  [FUNCTION.disable]: {
    title: 'Disable an SMTP account',
    description: 'Stops an SMTP account sending at once (admins and security responders)',
    input_parameters: {
      properties: {
        account,
        reason: { type: 'string', title: 'Reason', description: 'maintenance, compromise, decommissioning, or words of your own' },
        user_context: runBy,
      },
      required: ['account', 'user_context'],
    },
    output_parameters: {
      properties: { account: { ...account, description: 'The account disabled' }, status: { type: 'string', title: 'Status', description: 'The account’s status afterwards' } },
      required: ['account', 'status'],
    },
  },
  [FUNCTION.rotate]: {
    title: 'Rotate an SMTP account’s password',
    description: 'Makes a new password (admins); it goes only to the person running the workflow, in a DM',
    input_parameters: {
      properties: { account, reason: { type: 'string', title: 'Reason', description: 'For the audit log' }, user_context: runBy },
      required: ['account', 'user_context'],
    },
    output_parameters: {
      properties: {
        account: { ...account, description: 'The account rotated' },
        note: { type: 'string', title: 'Note', description: 'Where the new password went (never the password itself)' },
      },
      required: ['account', 'note'],
    },
  },
};
