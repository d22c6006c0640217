/** One media range of an Accept header: `application/json;as=Table;v=v1;g=meta.k8s.io`. */
export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const parsed: Record<string, string> = {};
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq > 0) parsed[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    return { type: type.toLowerCase(), params: parsed };
  });
}

/** The media type without parameters, lower case: `application/json`. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** The first range asking for `as=<as>` in group `g`, with a version we serve. */
export function acceptsAs(accept: MediaRange[], as: string, group: string, versions: string[]): string | undefined {
  for (const range of accept) {
    if (range.params.as === as && range.params.g === group && versions.includes(range.params.v)) return range.params.v;
  }
  return undefined;
}
