import type { SqlDatabase } from '@leadrelay/core';
import type { FollowUpRunner } from '@leadrelay/followups';

/**
 * Starts a worker process's runner and prints `ready` (the harness waits for
 * it); on SIGTERM finishes the batch in progress, closes the database and exits 0.
 */
export async function runUntilTerminated(runner: FollowUpRunner, db: SqlDatabase): Promise<void> {
  await runner.start();
  process.stdout.write('ready\n');
  process.on('SIGTERM', async () => {
    await runner.stop();
    await db.close();
    process.exit(0);
  });
}
