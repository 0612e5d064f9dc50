import { InvalidArgumentError, Option } from 'commander';

/**
 * Options whose value is a number: a value that is not one is a usage error naming the option
 * (commander prints it and the CLI exits 2) before anything is sent to the API.
 */

/** `--name <x>`: any finite number. */
export function numberOption(flags: string, description: string): Option {
  const name = optionName(flags);
  return new Option(flags, description).argParser((value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  });
}

/** `--name <n>`: a whole number, within `range` when one is given. */
export function integerOption(flags: string, description: string, range?: { min: number; max: number }): Option {
  const name = optionName(flags);
  return new Option(flags, description).argParser((value: string) => {
    const n = Number(value);
    const whole = value.trim() !== '' && Number.isInteger(n);
    if (range && !(whole && n >= range.min && n <= range.max)) throw new InvalidArgumentError(`${name} must be a whole number from ${range.min} to ${range.max}`);
    if (!whole) throw new InvalidArgumentError(`${name} must be a whole number`);
    return n;
  });
}

/** The option as typed: `--batch-size <n>` is `--batch-size`. */
function optionName(flags: string): string {
  return flags.split(/[ ,]/)[0]!;
}
