import { apiVersionOf, definitionOf, type KubeList, type KubeObject, type ResourceType, type VersionConversion } from '@berth/api';
import { errors } from '@berth/errors';
import type { WriteResult } from './objects';

/**
 * How the handler serves one version of a kind: the version it stores, what a client's body becomes before
 * it is stored, and what a stored object looks like in the version asked for. The identity for every version
 * that is stored itself; for one served by conversion (autoscaling/v1 HPAs, stored as v2) its definition's
 * VersionConversion.
 */
export class VersionView {
  private constructor(
    readonly served: ResourceType,
    readonly stored: ResourceType,
    private readonly conversion: VersionConversion | undefined,
  ) {}

  static of(type: ResourceType): VersionView {
    const conversion = definitionOf(type).conversion;
    return new VersionView(type, conversion?.stored ?? type, conversion);
  }

  get converts(): boolean {
    return this.conversion !== undefined;
  }

  /** A client's object body, in the stored version. */
  incoming(body: unknown): unknown {
    if (!this.conversion || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
    return this.conversion.toStored(body as KubeObject);
  }

  object(obj: KubeObject): KubeObject {
    return this.conversion ? this.conversion.fromStored(obj) : obj;
  }

  list(list: KubeList): KubeList {
    return this.conversion ? { ...list, apiVersion: apiVersionOf(this.served), items: list.items.map((obj) => this.object(obj)) } : list;
  }

  write(result: WriteResult): WriteResult {
    return this.conversion ? { ...result, object: this.object(result.object) } : result;
  }

  /**
   * A change written against this version, made to a stored object: the object is shown in this version,
   * changed, and stored again (a patch of a v1 autoscaler patches v1's fields).
   */
  through(stored: KubeObject, change: (obj: KubeObject) => KubeObject): KubeObject {
    return this.conversion ? this.conversion.toStored(change(this.conversion.fromStored(stored))) : change(stored);
  }

  /** Server-side apply tracks field ownership in the stored version's fields: it is served there only. */
  checkApplicable(): void {
    if (this.conversion) {
      throw errors.methodNotAllowed(
        `server-side apply of ${this.served.plural} is served in ${apiVersionOf(this.stored)}, not in ${apiVersionOf(this.served)}`,
      );
    }
  }
}
