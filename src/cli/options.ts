// Option values the commands share: a number that must be positive (and an integer unless
// told otherwise), with the command and option named in the error.

/**
 * values[name] as a positive number (integer by default); dflt when absent. Throws a RangeError
 * naming the command and the option when the value is not one.
 */
export function positiveOption(
  command: string, values: Record<string, unknown>, name: string, dflt: number | undefined, integer = true,
): number | undefined {
  const v = values[name] as string | undefined;
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!(x > 0) || (integer && !Number.isInteger(x))) {
    throw new RangeError(`${command}: --${name} must be a positive ${integer ? "integer" : "number"}, got "${v}"`);
  }
  return x;
}
