/** Run `steps` around `last` in order: the first step is the outermost. */
export function compose<TArgs extends unknown[]>(
  steps: readonly ((...args: [...TArgs, () => Promise<void>]) => Promise<void>)[],
  last: (...args: TArgs) => Promise<void>,
): (...args: TArgs) => Promise<void> {
  if (steps.length === 0) return last;
  return (...args: TArgs) => {
    const run = (index: number): Promise<void> => {
      const step = steps[index];
      if (!step) return last(...args);
      let called = false;
      return step(...args, () => {
        if (called) return Promise.reject(new Error('middleware called next() twice'));
        called = true;
        return run(index + 1);
      });
    };
    return run(0);
  };
}
