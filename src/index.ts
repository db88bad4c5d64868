// The package's Node entry.

export { type AddressInput, formatAddress, parseAddress } from "./api/address.js";
export {
  type ClientIndexOption,
  type ClientStats,
  type DaemonHelloEvent,
  type DeviceNames,
  type FailedDatagram,
  type MapinfoAckEvent,
  type MapinfoRequestEvent,
  type MapinfoResentEvent,
  type MappingErrorEvent,
  type MappingOptions,
  type MappingResult,
  PortMapperClient,
  type PortMapperClientOptions,
  type PortMapperEvents,
  type PortMapperTransport,
  type QueryResult,
  type RegisterResult,
  type Registration,
  type RemoteInfoEvent,
} from "./api/client.js";
export {
  IWPM_FLAGS_NO_PORT_MAP,
  IWPM_NL_TIMEOUT_MS,
  MAX_NL_CLIENTS,
  NETLINK_RDMA,
  NETLINK_USERSOCK,
  RDMA_NL_C4IW,
  RDMA_NL_IWCM,
} from "./api/constants.js";
export { type CaptureFileOptions, type CapturingClientOptions, captureToFile, openCapturingPortMapperClient } from "./capture/node.js";
export type { MapinfoRecord } from "./core/core.js";
export { IwpmError, type IwpmErrorCode } from "./core/errors.js";
export type { SockAddr } from "./core/sockaddr.js";
export { type OpenPortMapperClientOptions, openPortMapperClient } from "./host/node.js";
export { type OpenPortMapperServiceOptions, openPortMapperService } from "./service/node.js";
export { PortMapperService, type PortMapperServiceEvents, type ServiceMapping } from "./service/service.js";
