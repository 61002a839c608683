// Every name the ledger writes onto counter documents, built here and nowhere else. A batch leaves its
// marker `cb.<batch>` on each document it changed (so applying it twice counts once); a relay batch that
// did not fit its workspace's quota whole reserves message by message under `cb.<batch>m<index>`; quota
// given back by recovery is recorded under `cb.<batch>r` (so it is given back once).

export const workspaceMonthId = (workspaceId: string, month: string) => `${month}:ws:${workspaceId}`;
export const accountMonthId = (accountId: string, month: string) => `${month}:acct:${accountId}`;
export const accountDayId = (accountId: string, day: string) => `${day}:day:${accountId}`;

/** The field a batch sets on every counter document it changed. */
export const batchMarker = (batchId: string) => `cb.${batchId}`;
/** The quota reservation of one message of a batch that did not fit whole (index in the batch). */
export const messageMarker = (batchId: string, index: number) => `cb.${batchId}m${index}`;
/** Quota given back for the batch (once). */
export const releaseMarker = (batchId: string) => `cb.${batchId}r`;

/** The keys under `cb` (the document's markers object) of the three above, for reading them back. */
export const markerKeys = {
  batch: (batchId: string) => batchId,
  message: (batchId: string, index: number) => `${batchId}m${index}`,
  release: (batchId: string) => `${batchId}r`,
};

/** Every quota marker a batch of `messages` messages may have left on its workspace months. */
export function quotaMarkers(batchId: string, messages: number): string[] {
  return [batchMarker(batchId), releaseMarker(batchId), ...Array.from({ length: messages }, (_, i) => messageMarker(batchId, i))];
}
