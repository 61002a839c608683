import { Schema, type Connection } from 'mongoose';

/**
 * One Slack installation of the app (OAuth distribution), `_id` = its key: "E:<enterprise>" for an org-wide
 * install, "T:<enterprise or ->:<team>" for a team. The installation itself (tokens included) is stored only
 * sealed with SMTPDESK_SECRET_KEY. `refreshOwner`/`refreshUntil` are the lease of a token refresh: taken
 * with a compare-and-set, so one instance at a time refreshes a rotating token.
 */
export const slackInstallationSchema = new Schema(
  {
    _id: { type: String, required: true },
    teamId: { type: String },
    enterpriseId: { type: String },
    isEnterpriseInstall: { type: Boolean, required: true, default: false },
    sealed: { type: String, required: true },
    /** When the bot token expires (token rotation on); absent: it does not. */
    botExpiresAt: { type: Date },
    installedAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    refreshOwner: { type: String },
    refreshUntil: { type: Date },
  },
  { collection: 'slack_installations', versionKey: false },
);

export const slackInstallationModel = (c: Connection) => c.model('SlackInstallation', slackInstallationSchema);
