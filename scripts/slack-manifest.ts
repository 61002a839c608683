// Prints a Slack app manifest for smtpdesk (paste it at https://api.slack.com/apps -> Create New App -> From a manifest).
//   npm run slack:manifest                                   Socket Mode (no public URL needed)
//   npm run slack:manifest -- --mode http --url https://smtpdesk.example.com [--command /smtp] [--name smtpdesk]
//   npm run slack:manifest -- --write                        rewrites the committed docs/slack/manifest.json and
//                                                            docs/slack/manifest.http.json (test/slack/manifest.test.ts
//                                                            checks them against the code)
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXAMPLE_BASE_URL, slackManifest } from '../src/slack/manifest.ts';

/** Where the committed manifests live, relative to the repository root. */
const MANIFEST_FILES = { socket: 'docs/slack/manifest.json', http: 'docs/slack/manifest.http.json' } as const;

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'socket' },
    url: { type: 'string' },
    command: { type: 'string' },
    name: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const render = (m: Record<string, unknown>) => `${JSON.stringify(m, null, 2)}\n`;

if (values.write) {
  const root = new URL('../', import.meta.url);
  writeFileSync(new URL(MANIFEST_FILES.socket, root), render(slackManifest({ mode: 'socket' })));
  writeFileSync(new URL(MANIFEST_FILES.http, root), render(slackManifest({ mode: 'http', baseUrl: EXAMPLE_BASE_URL })));
  process.stdout.write(`wrote ${MANIFEST_FILES.socket} and ${MANIFEST_FILES.http}\n`);
  process.exit(0);
}
if (values.mode !== 'socket' && values.mode !== 'http') {
  process.stderr.write('--mode is socket or http\n');
  process.exit(2);
}
if (values.mode === 'http' && !values.url) {
  process.stderr.write('HTTP mode needs --url, the public base URL of the Slack role (e.g. https://smtpdesk.example.com)\n');
  process.exit(2);
}
process.stdout.write(render(slackManifest({ mode: values.mode, baseUrl: values.url, command: values.command, name: values.name })));
