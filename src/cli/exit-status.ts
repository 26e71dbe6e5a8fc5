/** Exit statuses shared by every `tsraft` subcommand, so scripts can tell a failed check from a typo. */

/** Everything asked for was done, and every check passed. */
export const EXIT_OK = 0;
/** The command ran, but something it checked failed (a lab run failed), or it could not run at all. */
export const EXIT_FAILURE = 1;
/** A usage error: a bad option, or a selection that matches nothing. Nothing was run. */
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C: what a shell reports for a process ended by SIGINT (128 + 2). */
export const EXIT_INTERRUPTED = 130;
