// Every model of the store, bound to one connection. Indexes are declared in each model's file.
import type { Connection } from 'mongoose';
import { accountModel } from './account.ts';
import { accountHourModel } from './account-hour.ts';
import { dkimDomainModel } from './dkim-domain.ts';
import { suppressionListModel, suppressionModel } from './suppression.ts';
import { auditEventModel } from './audit-event.ts';
import { authLockoutModel } from './auth-lockout.ts';
import { bounceReportModel } from './bounce-report.ts';
import { counterBatchModel } from './counter-batch.ts';
import { flagStateModel } from './flag-state.ts';
import { jobLeaseModel } from './job-lease.ts';
import { messageBodyModel } from './message-body.ts';
import { messageChunkModel } from './message-chunk.ts';
import { monthlyUsageModel } from './monthly-usage.ts';
import { queuedMessageModel } from './queued-message.ts';
import { rateWindowModel } from './rate-window.ts';
import { usernameModel } from './username.ts';
import { webhookDeliveryModel } from './webhook-delivery.ts';
import { webhookOutboxModel } from './webhook-outbox.ts';
import { workspaceModel } from './workspace.ts';
import { accountRequestModel } from './account-request.ts';
import { slackInstallationModel } from './slack-installation.ts';

export function registerModels(c: Connection) {
  return {
    workspaces: workspaceModel(c),
    accounts: accountModel(c),
    usernames: usernameModel(c),
    monthlyUsage: monthlyUsageModel(c),
    auditEvents: auditEventModel(c),
    queuedMessages: queuedMessageModel(c),
    messageChunks: messageChunkModel(c),
    messageBodies: messageBodyModel(c),
    counterBatches: counterBatchModel(c),
    flagStates: flagStateModel(c),
    jobLeases: jobLeaseModel(c),
    webhookDeliveries: webhookDeliveryModel(c),
    webhookOutbox: webhookOutboxModel(c),
    rateWindows: rateWindowModel(c),
    authLockouts: authLockoutModel(c),
    accountHours: accountHourModel(c),
    dkimDomains: dkimDomainModel(c),
    suppressions: suppressionModel(c),
    suppressionLists: suppressionListModel(c),
    accountRequests: accountRequestModel(c),
    slackInstallations: slackInstallationModel(c),
    bounceReports: bounceReportModel(c),
  };
}

export type Models = ReturnType<typeof registerModels>;
