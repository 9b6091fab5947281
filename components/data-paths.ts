// Where a service's data lives on the node's data volume: one folder per service, under the
// stack's, so each service's volumes are found, and kept, by its name.

/** The host folder of a relative or named volume `relative` of `service`. */
export function dataSource(dataPath: string, service: string, relative: string): string {
  return `${dataPath}/${service}/${relative}`;
}

/**
 * The host folder of an anonymous volume at `target` in `service`: one the Stackfile lists
 * (`- /data`) or one its image declares; the same either way, so listing an image's volume later
 * keeps its data.
 */
export function anonymousSource(dataPath: string, service: string, target: string): string {
  return dataSource(dataPath, service, `_anonymous${target}`);
}
