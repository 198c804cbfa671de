const STYLE = `
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2228; max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { border-bottom: 2px solid #2f6f8f; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5dbe0; }
code { background: #f1f4f6; padding: .05rem .3rem; border-radius: 3px; font-size: .92em; }
pre { background: #f6f8fa; border: 1px solid #e1e6ea; padding: .8rem 1rem; overflow-x: auto; line-height: 1.35; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d5dbe0; padding: .3rem .7rem; text-align: left; }
th { background: #eef2f5; }
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** A self-contained HTML page (inline CSS, no external resources) from Markdown. */
export async function htmlPage(title: string, markdown: string): Promise<string> {
  const { marked } = await import('marked');
  const body = await marked.parse(markdown, { gfm: true });
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}
