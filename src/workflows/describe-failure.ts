/** The message chain of a failure, outermost first, without Temporal's wrapper noise. */
export function describeFailure(err: unknown): string {
  const messages: string[] = [];
  let current: unknown = err;
  // Duck-typed: failures are rebuilt inside the sandbox, so `instanceof` is not to be trusted.
  while (typeof current === 'object' && current !== null && 'message' in current) {
    const { name, message, cause } = current as { name?: unknown; message?: unknown; cause?: unknown };
    const isWrapper = name === 'ActivityFailure' || name === 'ChildWorkflowFailure';
    if (!isWrapper && typeof message === 'string' && message && !messages.includes(message))
      messages.push(message);
    current = cause;
  }
  return messages.join(': ') || String(err);
}
