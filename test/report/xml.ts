/** Test helper: a minimal well-formedness check for the SVG we write (tags balanced, attributes quoted, entities known). */
export function checkSvg(svg: string): string[] {
  const problems: string[] = [];
  if (!svg.startsWith('<svg ')) problems.push('does not start with <svg');
  if (!/^<svg [^>]*viewBox="0 0 \d+ \d+"/.test(svg)) problems.push('no viewBox on the root');
  if (!svg.trimEnd().endsWith('</svg>')) problems.push('does not end with </svg>');
  for (const bad of ['NaN', 'undefined', 'Infinity', 'null']) if (svg.includes(bad)) problems.push(`contains ${bad}`);
  if (/<script|xlink:href|href=|@import|url\(/i.test(svg)) problems.push('external reference or script');
  if (/&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(svg)) problems.push('bare &');
  const stack: string[] = [];
  const re = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) {
    const between = svg.slice(last, m.index);
    if (between.includes('<') || between.includes('>'))
      problems.push(`malformed markup near ${JSON.stringify(between.slice(0, 40))}`);
    last = re.lastIndex;
    const [, close, name, , self] = m;
    if (close) {
      const top = stack.pop();
      if (top !== name) problems.push(`</${name}> closes <${top}>`);
    } else if (!self) stack.push(name);
  }
  if (/[<>]/.test(svg.slice(last))) problems.push('malformed markup at the end');
  if (stack.length) problems.push(`unclosed: ${stack.join(',')}`);
  return problems;
}

export function count(s: string, re: RegExp): number {
  return (s.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)) ?? []).length;
}
