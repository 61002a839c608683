// Every Slack identifier the app uses, in one place: the request path, scopes and events the manifest must
// declare, and the action, block and callback ids shared by the block builders and the listeners.
// (test/slack/manifest.test.ts checks slack/manifest*.json against these lists.)

/** Path of the HTTP-mode receiver: slash commands, interactivity and events all arrive here. */
export const SLACK_EVENTS_PATH = '/slack/events';

/** The slash command when SLACK_COMMAND is not set. */
export const DEFAULT_SLASH_COMMAND = '/smtp';

/** Every Web API method the app calls, with the bot scope it needs (null: none). */
export const WEB_API_METHOD_SCOPES = {
  'auth.test': null,
  'chat.postMessage': 'chat:write', // alert channel posts
  'chat.postEphemeral': 'chat:write', // credentials and confirmations, to the requester only
  'chat.update': 'chat:write', // the idle-accounts alert, after Keep (src/slack/actions/job-alerts.ts)
  'conversations.open': 'im:write', // the DM for answers to actions taken from App Home
  'views.open': null,
  'views.update': null,
  'views.publish': null,
  'usergroups.users.list': 'usergroups:read', // admin / responder user groups
  'users.info': 'users:read', // names for the audit trail when a payload has none
  'oauth.v2.access': null, // OAuth distribution: the install's code exchange and token rotation
  'functions.completeSuccess': null, // Workflow Builder steps (src/slack/functions/)
  'functions.completeError': null,
} as const;

export type WebApiMethod = keyof typeof WEB_API_METHOD_SCOPES;
export const WEB_API_METHODS = Object.keys(WEB_API_METHOD_SCOPES) as WebApiMethod[];

/** Bot scopes: the slash command's, plus those of the methods above. */
export const BOT_SCOPES: readonly string[] = ['commands', ...new Set(Object.values(WEB_API_METHOD_SCOPES).filter((s): s is NonNullable<typeof s> => s !== null))];

/** Event subscriptions (bot events). */
export const BOT_EVENTS = ['app_home_opened', 'app_uninstalled', 'tokens_revoked', 'function_executed'] as const;

/** OAuth distribution (HTTP mode with SLACK_CLIENT_ID…): where Bolt's installer serves the install page and the redirect. */
export const SLACK_INSTALL_PATH = '/slack/install';
export const SLACK_OAUTH_REDIRECT_PATH = '/slack/oauth_redirect';

/** Shortcuts: a global one (anywhere in Slack) and a message one (on smtpdesk's alert messages). */
export const SHORTCUT = {
  requestAccount: 'smtpdesk_shortcut_request_account',
  disableFromMessage: 'smtpdesk_shortcut_disable_account',
} as const;

/** Workflow Builder steps (custom functions): callback ids, declared in the manifest's functions section. */
export const FUNCTION = {
  disable: 'disable_smtp_account',
  rotate: 'rotate_smtp_account',
} as const;

/** block_actions action_ids (buttons, menus). */
export const ACTION = {
  /** App Home: open the create modal. */
  create: 'smtpdesk_create',
  /** App Home: re-publish the dashboard. */
  refreshHome: 'smtpdesk_home_refresh',
  /** App Home: which accounts, in what order (a static select; option values are HomeList ids). */
  homeList: 'smtpdesk_home_list',
  /** Account buttons; the button's value is the account name. */
  rotate: 'smtpdesk_account_rotate',
  disable: 'smtpdesk_account_disable',
  enable: 'smtpdesk_account_enable',
  delete: 'smtpdesk_account_delete',
  /** Overflow menu on an account when the dashboard is too long for a row of buttons; option values "<action>|<name>". */
  accountMenu: 'smtpdesk_account_menu',
  /** Idle-account alert (scheduled job); the button's value is JSON {w: workspace id, a: account id, n: name}. */
  idleDisable: 'smtpdesk_idle_disable',
  idleDelete: 'smtpdesk_idle_delete',
  idleKeep: 'smtpdesk_idle_keep',
  /** Surge alert (scheduled job); the value is JSON {w, a, n, s: signals}. Disable now disables at once (no modal). */
  surgeDisable: 'smtpdesk_surge_disable',
  surgeExpected: 'smtpdesk_surge_expected',
  reputationPause: 'smtpdesk_reputation_pause',
  reputationExpected: 'smtpdesk_reputation_expected',
  /** Account buttons: the sending-limits modal (allowed senders, rate limit). */
  limits: 'smtpdesk_account_limits',
  /** The domains list: open the add-domain modal. */
  addDomain: 'smtpdesk_domain_add',
  /** An account request's card in the approvals channel; the value is the request id. */
  requestApprove: 'smtpdesk_request_approve',
  requestDeny: 'smtpdesk_request_deny',
} as const;

/** Block ids of the scheduled jobs' alerts (src/slack/blocks/job-alerts.ts). Prefixes are followed by the account id. */
export const JOB_ALERT_BLOCK = {
  idleIntro: 'smtpdesk_idle_intro',
  idleAccountPrefix: 'smtpdesk_idle_account_',
  idleActionsPrefix: 'smtpdesk_idle_actions_',
  planSummary: 'smtpdesk_plan_summary',
  planUsage: 'smtpdesk_plan_usage',
  planDormant: 'smtpdesk_plan_dormant',
  planConsolidate: 'smtpdesk_plan_consolidate',
  planUpgrade: 'smtpdesk_plan_upgrade',
  surgeIntro: 'smtpdesk_surge_intro',
  surgeAccountPrefix: 'smtpdesk_surge_account_',
  surgeActionsPrefix: 'smtpdesk_surge_actions_',
  reputationIntro: 'smtpdesk_reputation_intro',
  reputationAccountPrefix: 'smtpdesk_reputation_account_',
  reputationActionsPrefix: 'smtpdesk_reputation_actions_',
} as const;

/** Modal callback_ids (view_submission). */
export const VIEW = {
  create: 'smtpdesk_view_create',
  rotate: 'smtpdesk_view_rotate',
  disable: 'smtpdesk_view_disable',
  enable: 'smtpdesk_view_enable',
  delete: 'smtpdesk_view_delete',
  limits: 'smtpdesk_view_limits',
  addDomain: 'smtpdesk_view_domain_add',
  /** The "Request an SMTP account" modal (global shortcut). */
  request: 'smtpdesk_view_request',
  /** Loading, result and error views (nothing to submit). */
  notice: 'smtpdesk_view_notice',
} as const;

/** Input block ids and their element action ids inside modals (inline errors are keyed by block id). */
export const INPUT = {
  createName: { block: 'smtpdesk_create_name', action: 'smtpdesk_create_name_input' },
  disableReason: { block: 'smtpdesk_disable_reason', action: 'smtpdesk_disable_reason_select' },
  disableNote: { block: 'smtpdesk_disable_note', action: 'smtpdesk_disable_note_input' },
  deleteConfirm: { block: 'smtpdesk_delete_confirm', action: 'smtpdesk_delete_confirm_input' },
  deleteForce: { block: 'smtpdesk_delete_force', action: 'smtpdesk_delete_force_checkbox' },
  limitsSenders: { block: 'smtpdesk_limits_senders', action: 'smtpdesk_limits_senders_input' },
  limitsRate: { block: 'smtpdesk_limits_rate', action: 'smtpdesk_limits_rate_input' },
  limitsNetworks: { block: 'smtpdesk_limits_networks', action: 'smtpdesk_limits_networks_input' },
  rotateKeepOld: { block: 'smtpdesk_rotate_keep_old', action: 'smtpdesk_rotate_keep_old_select' },
  domainName: { block: 'smtpdesk_domain_name', action: 'smtpdesk_domain_name_input' },
  requestName: { block: 'smtpdesk_request_name', action: 'smtpdesk_request_name_input' },
  requestReason: { block: 'smtpdesk_request_reason', action: 'smtpdesk_request_reason_input' },
} as const;

/** Value of the "delete anyway" checkbox option. */
export const FORCE_DELETE_VALUE = 'force';

/** Block ids of the App Home dashboard (tests and refresh logic find sections by these). */
export const HOME_BLOCK = {
  usage: 'smtpdesk_home_usage',
  toolbar: 'smtpdesk_home_toolbar',
  /** Followed by "_<account id>". */
  accountPrefix: 'smtpdesk_home_account_',
  actionsPrefix: 'smtpdesk_home_actions_',
} as const;

export type ActionId = (typeof ACTION)[keyof typeof ACTION];
export type ViewCallbackId = (typeof VIEW)[keyof typeof VIEW];
