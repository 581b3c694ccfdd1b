// Loads proto/demo.proto once and exposes the Echo, Admin and Orders services: client
// constructors for tests and service definitions for the demo app. Control path.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';

export const demoProtoPath: string = join(repoRoot, 'proto', 'demo.proto');

/** Request as a caller may write it (every field optional, proto3 defaults apply). */
export interface EchoRequestInput {
  message?: string;
  payload?: Buffer | Uint8Array;
  sleepMs?: number;
  failCode?: number;
}

/** Request as the server sees it (`defaults: true` fills every field). */
export interface EchoRequest {
  message: string;
  payload: Buffer;
  sleepMs: number;
  failCode: number;
}

export interface EchoReply {
  message: string;
  payload: Buffer;
  count: number;
  bytes: number;
  metadata: Record<string, string>;
}

export interface StreamRequestInput {
  count?: number;
  payloadSize?: number;
  delayMs?: number;
  failCode?: number;
  message?: string;
}

export type StreamRequest = Required<StreamRequestInput>;

export interface PingRequest {
  message: string;
}

export interface PingReply {
  message: string;
  metadata: Record<string, string>;
}

/** An order as a caller writes it (Orders carries protovalidate constraints; nothing here checks them). */
export interface PlaceOrderRequest {
  orderId?: string;
  customer?: string;
  quantity?: number;
  shipping?: { country?: string; city?: string };
  tags?: string[];
  items?: { sku?: string; count?: number }[];
  express?: boolean;
  currency?: string;
  total?: number;
  note?: string;
}

export interface OrderReply {
  accepted: number;
  orderIds: string[];
}

export const ECHO_SERVICE = 'meshward.demo.v1.Echo';
export const ADMIN_SERVICE = 'meshward.demo.v1.Admin';
export const ORDERS_SERVICE = 'meshward.demo.v1.Orders';

/** Full gRPC method paths, as they appear in `:path`. */
export const methodPaths = {
  unary: `/${ECHO_SERVICE}/Unary`,
  serverStream: `/${ECHO_SERVICE}/ServerStream`,
  clientStream: `/${ECHO_SERVICE}/ClientStream`,
  bidi: `/${ECHO_SERVICE}/Bidi`,
  ping: `/${ADMIN_SERVICE}/Ping`,
  placeOrder: `/${ORDERS_SERVICE}/PlaceOrder`,
  importOrders: `/${ORDERS_SERVICE}/ImportOrders`,
} as const;

/** The Echo client; grpc-js also defines lower-camel aliases (`unary`, ...) which are left untyped. */
export interface EchoServiceClient extends grpc.Client {
  Unary(
    req: EchoRequestInput,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<EchoReply>,
  ): grpc.ClientUnaryCall;
  ServerStream(
    req: StreamRequestInput,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<EchoReply>;
  ClientStream(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<EchoReply>,
  ): grpc.ClientWritableStream<EchoRequestInput>;
  Bidi(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<EchoRequestInput, EchoReply>;
}

export interface AdminServiceClient extends grpc.Client {
  Ping(
    req: Partial<PingRequest>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<PingReply>,
  ): grpc.ClientUnaryCall;
}

export interface OrdersServiceClient extends grpc.Client {
  PlaceOrder(
    req: PlaceOrderRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<OrderReply>,
  ): grpc.ClientUnaryCall;
  ImportOrders(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<OrderReply>,
  ): grpc.ClientWritableStream<PlaceOrderRequest>;
}

export interface TypedClientConstructor<C extends grpc.Client> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ChannelOptions>): C;
  service: grpc.ServiceDefinition;
  serviceName: string;
}

export const demoPackageDefinition: protoLoader.PackageDefinition = protoLoader.loadSync(demoProtoPath, {
  // buf/validate/validate.proto (imported for the constraints) is found under proto/.
  includeDirs: [join(repoRoot, 'proto')],
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

const grpcObject = grpc.loadPackageDefinition(demoPackageDefinition);

function lookupService(fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = grpcObject;
  for (const part of fullName.split('.')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof node !== 'function') throw new Error(`demo.proto: service ${fullName} not found`);
  return node as grpc.ServiceClientConstructor;
}

/** grpc-js client constructors, as `loadPackageDefinition` returns them. */
export const echoClientConstructor: grpc.ServiceClientConstructor = lookupService(ECHO_SERVICE);
export const adminClientConstructor: grpc.ServiceClientConstructor = lookupService(ADMIN_SERVICE);
export const ordersClientConstructor: grpc.ServiceClientConstructor = lookupService(ORDERS_SERVICE);

/** The same constructors, typed with the methods of demo.proto. */
export const EchoClient = echoClientConstructor as unknown as TypedClientConstructor<EchoServiceClient>;
export const AdminClient = adminClientConstructor as unknown as TypedClientConstructor<AdminServiceClient>;
export const OrdersClient = ordersClientConstructor as unknown as TypedClientConstructor<OrdersServiceClient>;

/** Service definitions for `server.addService`. */
export const echoService: grpc.ServiceDefinition = echoClientConstructor.service;
export const adminService: grpc.ServiceDefinition = adminClientConstructor.service;
export const ordersService: grpc.ServiceDefinition = ordersClientConstructor.service;
