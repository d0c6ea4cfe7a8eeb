// Positional encodings: binary, sinusoidal, learned, rotary; resizing learned grids.

export * from "./binary.js";
export * from "./sinusoidal.js";
export * from "./learned.js";
export * from "./rotary.js";
export * from "./resize.js";
