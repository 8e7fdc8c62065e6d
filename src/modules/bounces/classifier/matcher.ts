/**
 * One pass over a text finds every literal phrase of every reason (Aho-Corasick): checking the
 * 700-odd phrases one `includes` at a time costs 700 scans of each text, which made a message with
 * many recipients cost recipients × phrases × text length.
 */
export class PhraseIndex {
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** the labels of the phrases that end at each state, including through its failure links */
  private readonly out: string[][] = [[]];

  constructor(phrases: Iterable<readonly [phrase: string, label: string]>) {
    for (const [phrase, label] of phrases) {
      let s = 0;
      for (let i = 0; i < phrase.length; i++) {
        const c = phrase.charCodeAt(i);
        let t = this.next[s].get(c);
        if (t === undefined) {
          t = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push([]);
          this.next[s].set(c, t);
        }
        s = t;
      }
      if (!this.out[s].includes(label)) this.out[s].push(label);
    }
    // Breadth first, so a state's failure target is complete before the state itself.
    const queue = [...this.next[0].values()];
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      for (const [c, t] of this.next[s]) {
        let f = this.fail[s];
        while (f !== 0 && !this.next[f].has(c)) f = this.fail[f];
        const g = this.next[f].get(c);
        this.fail[t] = g !== undefined && g !== t ? g : 0;
        for (const label of this.out[this.fail[t]]) if (!this.out[t].includes(label)) this.out[t].push(label);
        queue.push(t);
      }
    }
  }

  /** The labels of every phrase found in the text. */
  labelsIn(text: string): Set<string> {
    const found = new Set<string>();
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      while (s !== 0 && !this.next[s].has(c)) s = this.fail[s];
      s = this.next[s].get(c) ?? 0;
      for (const label of this.out[s]) found.add(label);
    }
    return found;
  }
}
