// The jobs' names, light enough for the CLI's help to import without loading the jobs.
export const JOB_NAMES = ['idle-accounts', 'plan-limits', 'retention', 'surge', 'credential-hygiene', 'reputation'] as const;
export type JobName = (typeof JOB_NAMES)[number];
