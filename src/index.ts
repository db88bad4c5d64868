// The package's Node entry.

export * from "./api/index.js";
export { type CaptureFileOptions, type CapturingClientOptions, captureToFile, openCapturingPortMapperClient } from "./capture/node.js";
export { type OpenPortMapperClientOptions, openPortMapperClient } from "./node.js";
export { type OpenPortMapperServiceOptions, openPortMapperService } from "./service/node.js";
export { PortMapperService, type PortMapperServiceEvents, type ServiceMapping } from "./service/service.js";
