import { describe, expect, it } from 'vitest';
import { cleanText, stripControls, titleKey } from './normalize.ts';

describe('cleaning text from a source', () => {
  it('drops control characters, NUL among them, and collapses the whitespace around them', () => {
    expect(cleanText('A \u0000 title\u0007 with\u001f\u007f\u0090 controls')).toBe('A title with controls');
    expect(cleanText('Lines\r\nand\ttabs\u000b')).toBe('Lines and tabs');
    expect(titleKey(cleanText('Nul\u0000 Title'))).toBe(titleKey('Nul Title'));
  });

  it('keeps tabs and line breaks when only stripping', () => {
    expect(stripControls('a\tb\nc\u0000d')).toBe('a\tb\ncd');
  });
});
