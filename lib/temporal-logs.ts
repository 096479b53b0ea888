import { DefaultLogger, LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from './logger';

let installed = false;

/**
 * Sends the Temporal SDK's own log lines (worker state, workflow `log` calls) through pino, so
 * that every line of the process is structured JSON. Installs once per process.
 */
export function routeTemporalLogs(logger: Logger, level: LogLevel = 'WARN'): void {
  if (installed) return;
  installed = true;
  const target = logger.child({ part: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: lvl, message, meta }) => {
      const method = lvl === 'ERROR' ? 'error' : lvl === 'WARN' ? 'warn' : lvl === 'INFO' ? 'info' : 'debug';
      // The worker's own chatter (state changes, bundle reports) only from WARN up; workflow
      // lines (a verification ended, why an SMS failed) at every level.
      const fromWorkflow = meta?.sdkComponent === 'workflow' || meta?.sdkComponent === 'activity';
      if (!fromWorkflow && (method === 'info' || method === 'debug') && level !== 'DEBUG') return;
      target[method]({ ...(meta ?? {}) }, message);
    }),
    // The SDK core's own (Rust) lines come through the same logger instead of raw stderr.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}
