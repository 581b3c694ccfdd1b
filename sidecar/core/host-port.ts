// A network address as every listener and upstream takes it (plain value; config/fields.ts
// parses `host:port` strings into it).

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function formatAddress(a: { readonly address: string; readonly family: string; readonly port: number }): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
