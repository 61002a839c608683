// What the CLI writes to an operator's terminal. Stored header values (Subject, Message-ID, From) are whatever an
// authenticated sender put in them: an ESC sequence there could retitle the terminal, hide lines, or on some
// terminals write into the clipboard or fake a prompt. Every line the CLI prints passes through here, so control
// characters (C0, DEL and C1, ESC and the one-byte CSI included) are shown as visible escapes instead.
// JSON output keeps exact values: JSON.stringify escapes C0 itself, and jsonText() escapes DEL and C1 too.

// eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex -- the same, with tab and newline
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f]/g;

const visible = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Printable text for the terminal; newlines and tabs stay (the CLI's own layout uses them). */
export function terminalText(text: string): string {
  return text.replace(CONTROL, visible);
}

/** One table cell or field value: no control character at all, line breaks included. */
export function terminalCell(text: string): string {
  return text.replace(CONTROL_OR_BREAK, visible);
}

/** JSON for the terminal: JSON.stringify escapes C0 controls but not DEL and C1 (U+009B is a CSI); \u escapes do. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
