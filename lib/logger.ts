import pino, { Logger } from 'pino';

export type { Logger };

/**
 * JSON lines. Phone numbers, codes and tokens never reach a log call; the redaction list is a
 * second line of defence for fields that might carry them by mistake.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'mobile-verify' },
      redact: {
        paths: [
          'code',
          'number',
          'token',
          'authorization',
          '*.code',
          '*.number',
          '*.authorization',
          'req.headers.authorization',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
