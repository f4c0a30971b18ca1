import { describe, expect, it } from 'vitest';
import { pluralStem, porterStem } from './stem.ts';
import { nameKey, tokenize } from './text.ts';

describe('the Porter stemmer', () => {
  it("gives the published algorithm's stems", () => {
    const cases: Record<string, string> = {
      caresses: 'caress',
      ponies: 'poni',
      ties: 'ti',
      caress: 'caress',
      cats: 'cat',
      feed: 'feed',
      agreed: 'agre',
      plastered: 'plaster',
      motoring: 'motor',
      sing: 'sing',
      conflated: 'conflat',
      troubled: 'troubl',
      sized: 'size',
      hopping: 'hop',
      falling: 'fall',
      hissing: 'hiss',
      filing: 'file',
      failing: 'fail',
      happy: 'happi',
      sky: 'sky',
      relational: 'relat',
      conditional: 'condit',
      rational: 'ration',
      digitizer: 'digit',
      operator: 'oper',
      generalization: 'gener',
      adjustment: 'adjust',
      adoption: 'adopt',
      controll: 'control',
      roll: 'roll',
    };
    for (const [word, stem] of Object.entries(cases)) expect(porterStem(word), word).toBe(stem);
  });

  it('folds the words papers use for one idea into one term', () => {
    for (const group of [
      ['retrieval', 'retrieve', 'retrieved', 'retrievers'],
      ['adapters', 'adapter', 'adaptation', 'adapting'],
      ['classifiers', 'classifier', 'classify'],
      ['tuning', 'tuned', 'tunes'],
    ]) {
      expect(new Set(group.map(porterStem)).size, group.join(' ')).toBe(1);
    }
  });

  it('leaves words of two letters alone', () => {
    expect(porterStem('is')).toBe('is');
    expect(porterStem('3d')).toBe('3d');
  });
});

describe('the plural stemmer', () => {
  it('folds plurals only', () => {
    expect(pluralStem('adapters')).toBe('adapter');
    expect(pluralStem('studies')).toBe('study');
    expect(pluralStem('analysis')).toBe('analysis');
    expect(pluralStem('class')).toBe('class');
    expect(pluralStem('corpus')).toBe('corpus');
    expect(pluralStem('adaptation')).toBe('adaptation');
  });
});

describe('tokenizing paper text', () => {
  it('folds case, drops stop words and stems, joining hyphenated words as well', () => {
    expect(tokenize('LoRA: Low-Rank Adaptation of Large Language Models')).toEqual([
      'lora',
      'low',
      'rank',
      'lowrank',
      'adapt',
      'larg',
      'languag',
      'model',
    ]);
    expect(tokenize('Multi-task learning', { compounds: false, stemming: 'none' })).toEqual([
      'multi',
      'task',
      'learning',
    ]);
  });

  it('keeps words with digits but drops bare numbers and single characters', () => {
    expect(tokenize('GPT-4 and a 7B model in 2024', { stemming: 'none' })).toEqual(['gpt', 'gpt4', '7b', 'model']);
  });

  it('drops accents, possessives and apostrophes', () => {
    expect(tokenize("On Giant's Shoulders: Don't Copy the Teacher", { stemming: 'none' })).toEqual([
      'giant',
      'shoulders',
      'dont',
      'copy',
      'teacher',
    ]);
    expect(tokenize('Résumé naïve', { stemming: 'none' })).toEqual(['resume', 'naive']);
  });

  it('drops the boilerplate of abstracts', () => {
    expect(tokenize('In this paper, we propose a novel method', { stemming: 'none' })).toEqual([]);
  });
});

describe('name keys', () => {
  it('make spellings of one name agree', () => {
    expect(nameKey('A.  Ruíz')).toBe('a ruiz');
    expect(nameKey('a ruiz')).toBe('a ruiz');
    expect(nameKey('University of Modena')).toBe('university of modena');
    expect(nameKey(' . ')).toBe('');
  });
});
