import { CancellationScope, condition } from '@temporalio/workflow';

export type Outcome<T> =
  { kind: 'done'; value: T } | { kind: 'error'; error: unknown } | { kind: 'interrupted' };

/**
 * Runs `work` until it ends or `interrupt` holds (a stop/restart arrived, continue-as-new is due). On
 * interruption the work is cancelled and awaited, so activities finish their clean-up before the workflow moves on.
 */
export async function interruptible<T>(
  work: () => Promise<T>,
  interrupt: () => boolean,
): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  const scope = new CancellationScope();
  const running = scope.run(work).then(
    (value) => {
      outcome ??= { kind: 'done', value };
    },
    (error: unknown) => {
      outcome ??= { kind: 'error', error };
    },
  );
  await condition(() => outcome !== undefined || interrupt());
  if (outcome !== undefined) return outcome;
  outcome = { kind: 'interrupted' };
  scope.cancel();
  await running;
  return outcome;
}
