// Which deployed apps use which of the models they bring. Two apps that bring the same model —
// same name, same file digest (or the same upstreams), same serving settings — share one copy in
// the engine, released when the last of them goes; the same name with other content is refused.

import { ErrorCode, WeftError } from '../errors.js';

export interface ModelClaim {
  name: string;
  /** What makes two models the same one: the file's digest (or the upstreams) and the serving settings. */
  identity: string;
  /** The identity as a person reads it, for conflict messages. */
  describe: string;
  /** Index of the model in the app's weft.json, for the field at fault. */
  index: number;
}

interface Owner {
  identity: string;
  describe: string;
  apps: Set<string>;
}

export class SharedModels {
  private readonly owners = new Map<string, Owner>();

  has(name: string): boolean {
    return this.owners.has(name);
  }

  /**
   * Records that `app` uses these models and returns those no other app brought (the caller adds
   * them to the engine). A model of the same name but other content is a conflict; then nothing
   * is claimed.
   */
  claim(app: string, claims: readonly ModelClaim[]): ModelClaim[] {
    for (const c of claims) {
      const owner = this.owners.get(c.name);
      if (owner !== undefined && owner.identity !== c.identity) {
        const others = [...owner.apps].map((a) => `'${a}'`).join(', ');
        throw new WeftError(
          ErrorCode.ModelConflict,
          `app '${app}' brings model '${c.name}' (${c.describe}), but app ${others} already serves a different model of that name (${owner.describe}): rename one of them, or bundle the same file with the same serving settings`,
          { field: `models[${c.index}].name` },
        );
      }
    }
    const added: ModelClaim[] = [];
    for (const c of claims) {
      const owner = this.owners.get(c.name);
      if (owner !== undefined) owner.apps.add(app);
      else {
        this.owners.set(c.name, { identity: c.identity, describe: c.describe, apps: new Set([app]) });
        added.push(c);
      }
    }
    return added;
  }

  /** Those of `names` that `app` uses and no other app does: they go when it goes. */
  onlyUsedBy(app: string, names: readonly string[]): string[] {
    return names.filter((name) => {
      const apps = this.owners.get(name)?.apps;
      return apps !== undefined && apps.size === 1 && apps.has(app);
    });
  }

  /** Drops `app`'s claims on these models; returns the ones no app uses any more (the caller removes them). */
  release(app: string, names: readonly string[]): string[] {
    const unused: string[] = [];
    for (const name of names) {
      const owner = this.owners.get(name);
      if (owner === undefined || !owner.apps.delete(app)) continue;
      if (owner.apps.size === 0) {
        this.owners.delete(name);
        unused.push(name);
      }
    }
    return unused;
  }
}
