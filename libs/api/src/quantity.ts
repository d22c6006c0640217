/** Parses a Kubernetes quantity ("500m", "128Mi", "1e3", "2") to a number in base units; throws on bad syntax. */
export function parseQuantity(text: string): number {
  void text;
  throw new Error('parseQuantity: not implemented yet');
}

export function isQuantity(text: unknown): boolean {
  void text;
  throw new Error('isQuantity: not implemented yet');
}
