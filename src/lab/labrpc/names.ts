/**
 * The name of a {@link ClientEnd} in a {@link Network}. labrpc accepts any comparable value; strings and
 * numbers cover what the tester uses (random 20-character strings for ends). Names compare like `Map` keys,
 * so `1` and `"1"` are different ends.
 */
export type EndName = string | number;

/** The name a {@link Server} is registered under in a {@link Network}; the tester uses the peer index. */
export type ServerName = string | number;

/** A `"Service.Method"` string taken apart, as labrpc does: the service name is everything before the last dot. */
export interface ServiceMethod {
  /** The service's name, normally the receiver's class name (e.g. `Raft`). */
  readonly serviceName: string;
  /** The handler's name (e.g. `AppendEntries`). */
  readonly methodName: string;
}

/**
 * Splits `"Service.Method"` at its last dot, so a service name may itself contain dots. A string with no dot,
 * or with nothing on either side of it, is a programming error and throws.
 */
export function splitServiceMethod(svcMeth: string): ServiceMethod {
  const dot = svcMeth.lastIndexOf(".");
  if (dot <= 0 || dot === svcMeth.length - 1) {
    throw new Error(`labrpc: malformed method name "${svcMeth}"; expected "Service.Method"`);
  }
  return { serviceName: svcMeth.slice(0, dot), methodName: svcMeth.slice(dot + 1) };
}
