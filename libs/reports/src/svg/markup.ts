/** Minimal SVG string building: escaped text and attributes, compact numbers. */

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Text safe inside XML content and double-quoted attributes. Characters XML 1.0 forbids
 * (control characters other than tab/newline/return, lone surrogates) become U+FFFD, since no
 * escape can carry them and an SVG renderer refuses the whole document otherwise.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/** Coordinates to two decimals: enough for pixels, and keeps the document small. */
export function px(value: number): string {
  return String(Math.round(value * 100) / 100);
}

export type Attributes = Record<string, string | number | undefined>;

/** `name="value"` pairs; numbers go through {@link px}, undefined values are left out. */
export function attributes(attrs: Attributes): string {
  return Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === 'number' ? px(value) : escapeXml(value)}"`)
    .join('');
}

export function element(name: string, attrs: Attributes, children?: string | string[]): string {
  if (children === undefined) return `<${name}${attributes(attrs)}/>`;
  const content = Array.isArray(children) ? children.join('') : children;
  return `<${name}${attributes(attrs)}>${content}</${name}>`;
}

/** A `<text>` element; `content` is escaped here. */
export function text(content: string, attrs: Attributes): string {
  return element('text', attrs, escapeXml(content));
}
