// Prints a Slack app manifest for smtpdesk (paste it at https://api.slack.com/apps -> Create New App -> From a manifest).
//   npm run slack:manifest                                   Socket Mode (no public URL needed)
//   npm run slack:manifest -- --mode http --url https://smtpdesk.example.com [--command /smtp] [--name smtpdesk]
import { parseArgs } from 'node:util';
import { slackManifest } from '../src/slack/manifest.ts';

const { values } = parseArgs({
  options: { mode: { type: 'string', default: 'socket' }, url: { type: 'string' }, command: { type: 'string' }, name: { type: 'string' } },
});
if (values.mode !== 'socket' && values.mode !== 'http') {
  process.stderr.write('--mode is socket or http\n');
  process.exit(2);
}
if (values.mode === 'http' && !values.url) {
  process.stderr.write('HTTP mode needs --url, the public base URL of the Slack role (e.g. https://smtpdesk.example.com)\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(slackManifest({ mode: values.mode, baseUrl: values.url, command: values.command, name: values.name }), null, 2)}\n`);
