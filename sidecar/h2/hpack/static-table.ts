// HPACK's static table (RFC 7541 Appendix A) and the encoder's lookups into it — data path.

/** Entries 1..61 as [name, value]; index 0 is unused. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

export const STATIC_COUNT = STATIC_TABLE.length - 1;

/** name → index of its first entry. */
export const STATIC_NAME_INDEX: ReadonlyMap<string, number> = new Map(
  STATIC_TABLE.map(([name], i) => [name, i] as const)
    .filter(([, i]) => i > 0)
    .reverse(),
);

/** name → value → index (two levels: no key string is built per lookup). */
export const STATIC_PAIR_INDEX: ReadonlyMap<string, ReadonlyMap<string, number>> = (() => {
  const m = new Map<string, Map<string, number>>();
  STATIC_TABLE.forEach(([name, value], i) => {
    if (i === 0) return;
    let byValue = m.get(name);
    if (byValue === undefined) m.set(name, (byValue = new Map()));
    if (!byValue.has(value)) byValue.set(value, i);
  });
  return m;
})();
