/**
 * Tests that need something of the machine (NumPy, ../shared, Linux's /proc) skip visibly when it
 * is missing: jest lists them as skipped, with the reason in their name, instead of passing empty.
 */
export function itIf(available: boolean, reason: string) {
  return (name: string, fn: jest.ProvidesCallback, timeout?: number): void =>
    available ? it(name, fn, timeout) : it.skip(`${name} (skipped: ${reason})`, fn);
}

export function describeIf(available: boolean, reason: string) {
  return (name: string, fn: jest.EmptyFunction): void => (available ? describe(name, fn) : describe.skip(`${name} (skipped: ${reason})`, fn));
}
