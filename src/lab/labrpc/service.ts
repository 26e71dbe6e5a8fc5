import { decode, encode } from "../../codec/msgpack.ts";

/**
 * An RPC handler: takes the decoded (deep-copied) arguments and returns the reply, or a promise of it. The
 * reply must not be `undefined`, because a call's `undefined` result means "the call failed".
 */
export type RpcHandler = (args: unknown) => unknown;

/**
 * The RPC handlers of one receiver object, published under one service name (labrpc's `Service`).
 *
 * A method counts as a handler iff its name starts with an upper-case letter: the stand-in for Go's exported
 * methods, which is why Raft's handlers keep the course's names (`RequestVote`, `AppendEntries`). Methods are
 * looked up once, when the service is made, on the receiver and its prototype chain; the nearest definition
 * wins, as it would for `receiver[name]`.
 */
export class Service {
  /** The service's name, the part before the dot in `"Service.Method"`. */
  readonly name: string;
  readonly #receiver: object;
  readonly #handlers: ReadonlyMap<string, RpcHandler>;

  /** Prefer {@link makeService}. */
  constructor(receiver: object, name: string) {
    this.name = name;
    this.#receiver = receiver;
    this.#handlers = findHandlers(receiver);
  }

  /** The handler names found on the receiver, sorted (for error messages and inspection). */
  get methodNames(): readonly string[] {
    return [...this.#handlers.keys()].sort();
  }

  /**
   * Runs handler `methodName` on a fresh decoding of `argsBytes` and returns the encoded reply. The reply is
   * encoded as soon as the handler returns, so the server changing the object afterwards cannot change what
   * the caller receives. Rejects on an unknown method (a programming error) or if the handler fails.
   */
  async dispatch(methodName: string, argsBytes: Uint8Array): Promise<Uint8Array> {
    const handler = this.#handlers.get(methodName);
    if (handler === undefined) {
      throw new Error(
        `labrpc: unknown method ${methodName} in ${this.name}.${methodName}; expecting one of [${this.methodNames.join(", ")}]`,
      );
    }
    const reply: unknown = await handler.call(this.#receiver, decode(argsBytes));
    if (reply === undefined) {
      throw new Error(
        `labrpc: handler ${this.name}.${methodName} returned undefined; return a reply value (undefined means the call failed)`,
      );
    }
    return encode(reply);
  }
}

/**
 * Makes a {@link Service} of `receiver`'s handlers. The service is named after the receiver's class
 * (`receiver.constructor.name`), so an instance of `class Raft` serves `"Raft.AppendEntries"`. Pass `name`
 * when the class has no usable name, for example in a minified browser build.
 */
export function makeService(receiver: object, name: string = classNameOf(receiver)): Service {
  if (name === "") {
    throw new Error("labrpc: makeService: the receiver's class has no name; pass one explicitly");
  }
  return new Service(receiver, name);
}

function classNameOf(receiver: object): string {
  const ctor: unknown = (receiver as { constructor?: unknown }).constructor;
  return typeof ctor === "function" ? ctor.name : "";
}

/** Collects the upper-case-named methods of `receiver`, walking its prototype chain up to `Object.prototype`. */
function findHandlers(receiver: object): Map<string, RpcHandler> {
  const handlers = new Map<string, RpcHandler>();
  for (
    let holder: object | null = receiver;
    holder !== null && holder !== Object.prototype;
    holder = Object.getPrototypeOf(holder) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(holder)) {
      if (handlers.has(key) || !isExportedName(key)) continue;
      // Read the descriptor rather than the property, so that getters are never run.
      const value: unknown = Object.getOwnPropertyDescriptor(holder, key)?.value;
      if (typeof value === "function") handlers.set(key, value as RpcHandler);
    }
  }
  return handlers;
}

function isExportedName(key: string): boolean {
  const first = key.charAt(0);
  return first !== first.toLowerCase() && first === first.toUpperCase();
}
