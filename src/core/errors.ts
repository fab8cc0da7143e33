/**
 * Errors a user can act on. The CLI prints `message` on one line (never a
 * stack) and exits with `exitCode`: 1 = failure (bad data, unreadable file),
 * 2 = usage or config error.
 */
export class FlowlabError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = 'FlowlabError';
    this.exitCode = exitCode;
  }
}

/** A usage or configuration error (exit code 2). */
export class UsageError extends FlowlabError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Short description of any thrown value, for one-line messages. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e);
}
