/** Typed shapes of the served kinds (core/v1, apps/v1, coordination.k8s.io/v1), as on the wire. */
export {};
