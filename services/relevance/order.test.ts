import { describe, expect, it } from 'vitest';
import { type ListedPaper, listReason, rankedList, walkList } from './order.ts';

const paper = (id: number, trendScore: number, ...matches: string[]): ListedPaper => ({ id, trendScore, matches });

describe("today's ranked list of a topic set", () => {
  it('puts the matches first, most trending first, then the trending papers that match none', () => {
    const list = rankedList(
      [paper(1, 9), paper(2, 8, 'lora'), paper(3, 7), paper(4, 6, 'rag', 'lora'), paper(5, 5, 'rag')],
      ['lora', 'rag'],
    );
    expect(list.ids).toEqual([2, 4, 5, 1, 3]);
    expect(list.matched).toEqual(['lora', 'lora, rag', 'rag', null, null]);
  });

  it('breaks ties in the trend score by the lower id', () => {
    const list = rankedList([paper(7, 1), paper(3, 1, 'x'), paper(5, 1), paper(1, 1, 'x')], ['x']);
    expect(list.ids).toEqual([1, 3, 5, 7]);
  });

  it('is the trending list alone for a reader without topics', () => {
    const list = rankedList([paper(1, 1), paper(2, 3), paper(3, 2)], []);
    expect(list.ids).toEqual([2, 3, 1]);
    expect(list.matched).toEqual([null, null, null]);
  });

  it("caps each topic's matches: a match beyond its cap is in neither part", () => {
    // perList 2: topic a's two most trending matches are 1 and 2; 3 matches too but is cut, and
    // the two most trending papers (1, 2) are matches, so no trending paper is added either.
    const list = rankedList([paper(1, 9, 'a'), paper(2, 8, 'a'), paper(3, 7, 'a'), paper(4, 1)], ['a'], 2);
    expect(list.ids).toEqual([1, 2]);
    expect(list.matched).toEqual(['a', 'a']);
  });

  it('cuts the union of the topic lists, and what is cut is in neither part', () => {
    // a's list holds 1, b's holds 2; the union is cut to 1 (paper 1); trending's top 1 is 9.
    const cut = rankedList([paper(1, 9, 'a'), paper(3, 7, 'a'), paper(2, 8, 'b'), paper(9, 10)], ['a', 'b'], 1);
    expect(cut.ids).toEqual([1, 9]);
    const longer = rankedList([paper(1, 9, 'a'), paper(2, 8, 'b'), paper(3, 7), paper(4, 6)], ['a', 'b'], 3);
    expect(longer.ids).toEqual([1, 2, 3]);
  });

  it('lists the topics a paper matches in code-point order, each topic once', () => {
    const list = rankedList([paper(1, 1, 'rag', 'in-context', 'lora')], ['lora', 'rag', 'in-context', 'lora']);
    expect(list.matched).toEqual(['in-context, lora, rag']);
  });
});

describe('walking the list', () => {
  const list = rankedList([paper(1, 5, 'a'), paper(2, 4), paper(3, 3, 'a'), paper(4, 2), paper(5, 1)], ['a']);

  it('skips papers sent before and stops at the count', () => {
    expect(walkList(list, (id) => id === 3, 3)).toEqual([
      { paperId: 1, matched: 'a' },
      { paperId: 2, matched: null },
      { paperId: 4, matched: null },
    ]);
  });

  it('ends with the list', () => {
    expect(walkList(list, () => false, 25)).toHaveLength(5);
    expect(walkList(list, () => true, 25)).toEqual([]);
  });
});

describe("today's reason", () => {
  it('joins the matched topics and the trend reason, leaving out what is missing', () => {
    expect(listReason('lora, rag', '+35 upvotes today')).toBe('matches: lora, rag · +35 upvotes today');
    expect(listReason(null, '#3 on the trending page')).toBe('#3 on the trending page');
    expect(listReason('lora', '')).toBe('matches: lora');
    expect(listReason(null, '')).toBe('');
  });
});
