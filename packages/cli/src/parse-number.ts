import { InvalidArgumentError } from 'commander';

/** Commander argument parsers: a wrong number is bad usage (exit code 2), said at once. */
export const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return n;
};

export const nonNegativeInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of at least 0.');
  return n;
};

export const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0.');
  return n;
};

/** For repeatable options: `--header a=1 --header b=2`. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
