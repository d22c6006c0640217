import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/** grpc.health.v1 (grpc/grpc-proto health.proto) in protobufjs JSON: what gRPC probes call. */
const HEALTH_PROTO = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' } } },
              },
            },
          },
        },
      },
    },
  },
};

export type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN';

export interface GrpcHealthServer {
  port: number;
  /** What Check answers for `service` ('' is the server as a whole); a service never set is NOT_FOUND, as grpc-go's. */
  setStatus(service: string, status: ServingStatus): void;
  close(): Promise<void>;
}

/** A gRPC server implementing the standard health service with grpc-js, listening on host:port (0: any free port). */
export async function startGrpcHealthServer(host: string, port = 0): Promise<GrpcHealthServer> {
  const loaded = grpc.loadPackageDefinition(fromJSON(HEALTH_PROTO as Parameters<typeof fromJSON>[0], { enums: String, defaults: true })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const statuses = new Map<string, ServingStatus>();
  const server = new grpc.Server();
  server.addService(loaded.grpc.health.v1.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<{ status: ServingStatus }>) => {
      const status = statuses.get(call.request.service);
      if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else callback(null, { status });
    },
  });
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    setStatus: (service, status) => statuses.set(service, status),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
