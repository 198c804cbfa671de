import { Slugger } from './slug.js';

const STYLE = `
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2228; max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { border-bottom: 2px solid #2f6f8f; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5dbe0; }
code { background: #f1f4f6; padding: .05rem .3rem; border-radius: 3px; font-size: .92em; }
pre { background: #f6f8fa; border: 1px solid #e1e6ea; padding: .8rem 1rem; overflow-x: auto; line-height: 1.35; }
pre code { background: none; padding: 0; }
pre code.language-sql { white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d5dbe0; padding: .3rem .7rem; text-align: left; }
th { background: #eef2f5; }
.diagram { margin: 1rem 0; overflow-x: auto; }
.diagram svg { max-width: 100%; height: auto; }
.headline { display: flex; gap: 1.5rem; align-items: baseline; margin: 1rem 0 1.5rem; padding: 1rem 1.5rem; background: #eef4f8; border-left: 6px solid #2f6f8f; }
.headline .qai { font-size: 2.4rem; font-weight: 700; }
.headline .grade { font-size: 1.6rem; font-weight: 600; }
`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * A self-contained HTML page (inline CSS, no external resources) from Markdown.
 * Headings get GitHub's anchors as ids, so `[x](#anchor)` links work in both.
 * `blocks` replaces each `<div id="KEY"></div>` of the Markdown with its HTML
 * (an inline SVG, a styled headline), which would not survive Markdown itself.
 */
export async function htmlPage(title: string, markdown: string, blocks: Readonly<Record<string, string>> = {}): Promise<string> {
  const { Marked } = await import('marked');
  const slugger = new Slugger();
  const marked = new Marked({
    gfm: true,
    renderer: {
      heading({ tokens, depth, text }) {
        return `<h${depth} id="${escapeHtml(slugger.slug(text))}">${this.parser.parseInline(tokens)}</h${depth}>\n`;
      },
    },
  });
  let body = await marked.parse(markdown);
  for (const [key, html] of Object.entries(blocks)) body = body.replace(`<div id="${key}"></div>`, () => html);
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}
