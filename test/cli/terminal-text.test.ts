// What reaches an operator's terminal from stored values: no control character, whatever was stored.
import { describe, expect, it } from 'vitest';
import { jsonText, terminalCell, terminalText } from '../../src/cli/terminal-text.ts';

describe('terminal text', () => {
  it.each([
    ['Invoice 42', 'Invoice 42', 'Invoice 42'],
    ['\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07', '\\x1b]0;pwned\\x07'],
    ['\x1b[2J\x1b[H', '\\x1b[2J\\x1b[H', '\\x1b[2J\\x1b[H'],
    ['one-byte CSI \u009b31m', 'one-byte CSI \\x9b31m', 'one-byte CSI \\x9b31m'],
    ['back\bspace\x7f', 'back\\x08space\\x7f', 'back\\x08space\\x7f'],
    ['over\rwrite', 'over\\x0dwrite', 'over\\x0dwrite'],
    ['two\nlines\tand a tab', 'two\nlines\tand a tab', 'two\\x0alines\\x09and a tab'],
    ['nul\u0000', 'nul\\x00', 'nul\\x00'],
    ['Grüße ─ 日本 ▁▂▃', 'Grüße ─ 日本 ▁▂▃', 'Grüße ─ 日本 ▁▂▃'],
  ])('%j', (input, text, cell) => {
    expect(terminalText(input)).toBe(text);
    expect(terminalCell(input)).toBe(cell);
  });

  it('JSON keeps every value exact and carries no raw control character', () => {
    const value = { subject: '\x1b]0;x\x07 \u009b31m \x7f Grüße' };
    const text = jsonText(value);
    // eslint-disable-next-line no-control-regex -- control characters are what must not be printed
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
