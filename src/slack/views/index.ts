// Modal listeners (view_submission) and the functions that open the modals from any trigger.
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerCredentialViews } from './credentials.ts';
import { registerDeleteView } from './delete.ts';
import { registerLimitsView } from './limits.ts';
import { registerStatusViews } from './status.ts';
import { registerDomainViews } from './domains.ts';
import { registerRequestView } from './requests.ts';

export function registerViews(app: App, deps: SlackDeps): void {
  registerCredentialViews(app, deps);
  registerStatusViews(app, deps);
  registerDeleteView(app, deps);
  registerLimitsView(app, deps);
  registerDomainViews(app, deps);
  registerRequestView(app, deps);
}

export {
  openAccountModal,
  openCreateModal,
  openDeleteConfirmation,
  openDisableModal,
  type AccountModalKind,
  type ActorSource,
  type ModalOrigin,
  type OpenerOptions,
} from './open.ts';
