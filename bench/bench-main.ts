/**
 * Runs a bench's main and ends the process with its outcome: exit 0, or the error printed and exit
 * 1. An explicit exit, since a bench's bus connections and child processes may keep the loop alive.
 */
export function runBenchMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
