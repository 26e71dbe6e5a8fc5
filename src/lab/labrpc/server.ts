import { splitServiceMethod } from "./names.ts";
import type { Service } from "./service.ts";

/**
 * A set of services behind one network name (labrpc's `Server`); kvraft, for one, serves `KVServer` and
 * `Raft` from the same server. A crashed-and-restarted peer gets a new `Server`, so its count starts at 0.
 */
export class Server {
  readonly #services = new Map<string, Service>();
  #count = 0;

  /** Adds (or replaces) a service, keyed by its name. */
  addService(service: Service): void {
    this.#services.set(service.name, service);
  }

  /** How many requests the network has dispatched to this server (RPCs delivered), whatever became of them. */
  getCount(): number {
    return this.#count;
  }

  /**
   * The network's entry point: counts the request, finds the service and runs the handler, giving the encoded
   * reply. An unknown service or method is a programming error and rejects.
   */
  async dispatch(svcMeth: string, argsBytes: Uint8Array): Promise<Uint8Array> {
    // Counted before the lookup, like labrpc: a request reached this server whatever it asked for.
    this.#count++;
    const { serviceName, methodName } = splitServiceMethod(svcMeth);
    const service = this.#services.get(serviceName);
    if (service === undefined) {
      throw new Error(
        `labrpc: unknown service ${serviceName} in ${svcMeth}; expecting one of [${[...this.#services.keys()].join(", ")}]`,
      );
    }
    return service.dispatch(methodName, argsBytes);
  }
}

/** Makes an empty {@link Server}; add services, then register it with `Network.addServer`. */
export function makeServer(): Server {
  return new Server();
}
