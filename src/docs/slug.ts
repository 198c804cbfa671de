/**
 * Heading anchors as GitHub makes them (`## Model \`Planet\`` → `#model-planet`),
 * so a table of contents works in the Markdown on GitHub and in the HTML page,
 * which gives its headings the same ids.
 */
export class Slugger {
  private readonly seen = new Map<string, number>();

  /** The anchor of the next heading with this Markdown text; a repeated one gets `-1`, `-2`… */
  slug(markdown: string): string {
    const base = markdown
      .replace(/<[^>]*>/g, '')
      .toLowerCase()
      .trim()
      // What GitHub keeps: letters, digits, marks, spaces, `-` and `_`.
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = this.seen.get(base);
    this.seen.set(base, (count ?? -1) + 1);
    return count === undefined ? base : `${base}-${count + 1}`;
  }
}
