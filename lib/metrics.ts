import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's metrics (operations.md). Counters carry scenario, status and provider labels,
 * never a user, a number or a code. `npm start` serves them at the API's /metrics; a separate
 * worker process serves its own on METRICS_PORT.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'mv_process_' });

export const verificationsStarted = new Counter({
  name: 'mv_verifications_started_total',
  help: 'Pending changes started, by scenario.',
  labelNames: ['scenario'] as const,
  registers: [registry],
});

export const verificationsFinished = new Counter({
  name: 'mv_verifications_finished_total',
  help: 'Pending changes ended, by scenario and final status.',
  labelNames: ['scenario', 'status'] as const,
  registers: [registry],
});

export const codesSent = new Counter({
  name: 'mv_codes_sent_total',
  help: 'SMS codes handed to a provider, by provider.',
  labelNames: ['provider'] as const,
  registers: [registry],
});

export const smsFailures = new Counter({
  name: 'mv_sms_failures_total',
  help: 'SMS sends that failed, by provider and kind (permanent, transient, rate_limited).',
  labelNames: ['provider', 'kind'] as const,
  registers: [registry],
});

export const wrongCodes = new Counter({
  name: 'mv_wrong_codes_total',
  help: 'Wrong codes submitted, by scenario.',
  labelNames: ['scenario'] as const,
  registers: [registry],
});

export const resends = new Counter({
  name: 'mv_resends_total',
  help: 'Codes sent again on request, by scenario.',
  labelNames: ['scenario'] as const,
  registers: [registry],
});

export const requestDuration = new Histogram({
  name: 'mv_http_request_duration_seconds',
  help: 'HTTP request latency, by method, route and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** Pending changes right now, read from Postgres at scrape time (true across processes). */
export function trackPendingChanges(count: () => Promise<number>): void {
  registry.removeSingleMetric('mv_pending_changes');
  new Gauge({
    name: 'mv_pending_changes',
    help: 'Pending changes waiting for their code.',
    registers: [registry],
    async collect() {
      try {
        this.set(await count());
      } catch {
        // Postgres down: keep the last value; /health says what is wrong.
      }
    },
  });
}
