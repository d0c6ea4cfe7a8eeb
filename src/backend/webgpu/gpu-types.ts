// The small part of the WebGPU API (https://www.w3.org/TR/webgpu/) this backend uses, typed
// here because TypeScript's DOM library does not ship WebGPU yet and the project installs no
// @webgpu/types. Structural types: the browser's real objects satisfy them.

export interface GPUBufferLike {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GPUBindGroupLike { readonly label?: string }
export interface GPUBindGroupLayoutLike { readonly label?: string }

export interface GPUComputePipelineLike {
  getBindGroupLayout(index: number): GPUBindGroupLayoutLike;
}

export interface GPUComputePassLike {
  setPipeline(p: GPUComputePipelineLike): void;
  setBindGroup(index: number, g: GPUBindGroupLike): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface GPUCommandEncoderLike {
  beginComputePass(): GPUComputePassLike;
  copyBufferToBuffer(src: GPUBufferLike, srcOffset: number, dst: GPUBufferLike, dstOffset: number, size: number): void;
  finish(): unknown;
}

export interface GPUDeviceLike {
  readonly limits: { maxComputeWorkgroupsPerDimension: number; maxStorageBufferBindingSize: number;
    minStorageBufferOffsetAlignment?: number; minUniformBufferOffsetAlignment?: number };
  readonly queue: {
    writeBuffer(b: GPUBufferLike, offset: number, data: ArrayBufferView | ArrayBufferLike, dataOffset?: number, size?: number): void;
    submit(cmds: unknown[]): void;
    onSubmittedWorkDone(): Promise<void>;
  };
  readonly lost: Promise<{ message: string }>;
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GPUBufferLike;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: "auto"; compute: { module: unknown; entryPoint: string } }): GPUComputePipelineLike;
  createBindGroup(d: { layout: GPUBindGroupLayoutLike;
    entries: { binding: number; resource: { buffer: GPUBufferLike; offset?: number; size?: number } }[] }): GPUBindGroupLike;
  createCommandEncoder(): GPUCommandEncoderLike;
  pushErrorScope(filter: "validation" | "out-of-memory" | "internal"): void;
  popErrorScope(): Promise<{ message: string } | null>;
  destroy(): void;
}

export interface GPUAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  requestDevice(d?: { requiredLimits?: Record<string, number> }): Promise<GPUDeviceLike>;
}

export interface GPULike {
  requestAdapter(o?: { powerPreference?: "low-power" | "high-performance" }): Promise<GPUAdapterLike | null>;
}

/** GPUBufferUsage and GPUMapMode flags (constants from the spec, so no global is needed). */
export const BufferUsage = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
export const MapMode = { READ: 0x0001 } as const;
