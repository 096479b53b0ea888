import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go through the payload codec too, so an error that names a
 * phone number is encrypted in history like any payload.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
