/**
 * A strict, small XML reader for the tests (no XML package in corral's tree): it
 * accepts a well-formed document (declaration, comments, CDATA, elements, quoted
 * attributes, the five named entities and character references) and throws on
 * anything else, so "parses" means "a CI system's XML parser would accept it".
 */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text (CDATA included), entities decoded. */
  readonly text: string;
}

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(raw: string, where: number): string {
  if (raw.includes('<')) throw new Error(`XML: '<' in character data near offset ${where}`);
  return raw.replace(/&([^;]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new Error(`XML: bare '&' near offset ${where}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const code = /^#x([0-9a-f]+)$/i.exec(ref)?.[1] ?? /^#(\d+)$/.exec(ref)?.[1];
    if (code === undefined) throw new Error(`XML: unknown entity &${ref}; near offset ${where}`);
    return String.fromCodePoint(parseInt(code, ref.startsWith('#x') || ref.startsWith('#X') ? 16 : 10));
  });
}

/** Parses `source`; throws an Error naming the offset of the first fault. */
export function parseXml(source: string): XmlElement {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`XML: ${what} at offset ${at}: ${JSON.stringify(source.slice(at, at + 40))}`);
  };
  const skipSpace = () => {
    while (at < source.length && /\s/.test(source[at]!)) at++;
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (source.startsWith('<!--', at)) {
        const end = source.indexOf('-->', at);
        if (end < 0) fail('unclosed comment');
        at = end + 3;
      } else if (source.startsWith('<?', at)) {
        const end = source.indexOf('?>', at);
        if (end < 0) fail('unclosed processing instruction');
        at = end + 2;
      } else return;
    }
  };

  const element = (): XmlElement => {
    if (source[at] !== '<') fail('expected an element');
    at++;
    const name = NAME.exec(source.slice(at))?.[0] ?? fail('expected an element name');
    at += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = at;
      skipSpace();
      if (source.startsWith('/>', at)) {
        at += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (source[at] === '>') {
        at++;
        break;
      }
      if (at === before) fail('expected a space before an attribute');
      const key = NAME.exec(source.slice(at))?.[0] ?? fail('expected an attribute name');
      at += key.length;
      skipSpace();
      if (source[at] !== '=') fail(`expected '=' after ${key}`);
      at++;
      skipSpace();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") fail('expected a quoted attribute value');
      const end = source.indexOf(quote!, at + 1);
      if (end < 0) fail('unclosed attribute value');
      if (key in attributes) fail(`duplicate attribute ${key}`);
      attributes[key] = decode(source.slice(at + 1, end), at);
      at = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (at >= source.length) fail(`unclosed <${name}>`);
      if (source.startsWith('</', at)) {
        at += 2;
        if (!source.startsWith(name, at)) fail(`expected </${name}>`);
        at += name.length;
        skipSpace();
        if (source[at] !== '>') fail(`expected '>' closing ${name}`);
        at++;
        return { name, attributes, children, text };
      }
      if (source.startsWith('<![CDATA[', at)) {
        const end = source.indexOf(']]>', at);
        if (end < 0) fail('unclosed CDATA');
        text += source.slice(at + 9, end);
        at = end + 3;
      } else if (source.startsWith('<!--', at) || source.startsWith('<?', at)) skipMisc();
      else if (source[at] === '<') children.push(element());
      else {
        const end = source.indexOf('<', at);
        text += decode(source.slice(at, end < 0 ? source.length : end), at);
        at = end < 0 ? source.length : end;
      }
    }
  };

  skipMisc();
  const root = element();
  skipMisc();
  if (at !== source.length) fail('content after the root element');
  return root;
}

/** Every element named `name` under `root` (depth first), `root` included. */
export function elementsNamed(root: XmlElement, name: string): XmlElement[] {
  return [...(root.name === name ? [root] : []), ...root.children.flatMap((child) => elementsNamed(child, name))];
}
