import { type GenericTestSettings, genericTest, genericTestSpeed, genericTitle } from "./generic-test.ts";
import type { KvraftPart, KvraftScenario } from "./scenario.ts";

/** Servers in GenericTestSpeed. */
const SPEED_SERVERS = 3;

/** What the course's GenericTest calls vary; each defaults to off, and the servers to five. */
export interface GenericOptions {
  readonly unreliable?: boolean;
  readonly crash?: boolean;
  readonly partitions?: boolean;
  readonly randomkeys?: boolean;
  readonly nservers?: number;
}

/** A GenericTest of `part` with the part's `maxraftstate`, as the course's test file calls it. */
export function genericPartScenario(
  part: KvraftPart,
  maxraftstate: number,
  name: string,
  nclients: number,
  options: GenericOptions,
): KvraftScenario {
  return genericScenario(name, options.nservers ?? 5, {
    part,
    nclients,
    unreliable: options.unreliable ?? false,
    crash: options.crash ?? false,
    partitions: options.partitions ?? false,
    maxraftstate,
    randomkeys: options.randomkeys ?? false,
  });
}

/** A scenario running the course's GenericTest with `settings` on `nservers` servers. */
export function genericScenario(
  name: string,
  nservers: number,
  settings: GenericTestSettings & { readonly part: KvraftPart },
): KvraftScenario {
  return {
    name,
    part: settings.part,
    titles: [genericTitle(settings)],
    servers: nservers,
    unreliable: settings.unreliable,
    maxRaftState: settings.maxraftstate,
    body: (cfg) => genericTest(cfg, settings),
  };
}

/** A scenario running the course's GenericTestSpeed (three servers, a reliable network). */
export function speedScenario(name: string, part: KvraftPart, maxraftstate: number): KvraftScenario {
  return {
    name,
    part,
    titles: [`Test: ops complete fast enough (${part})`],
    servers: SPEED_SERVERS,
    unreliable: false,
    maxRaftState: maxraftstate,
    body: (cfg) => genericTestSpeed(cfg, part),
  };
}
