import type { Payload, PayloadCodec } from '@temporalio/common';
import { ScimError } from '../domain/errors';
import { isObject } from '../domain/resource';

/**
 * The remote codec protocol of the Temporal Web UI and CLI: `{ payloads: [{ metadata, data }] }`
 * with base64 values, in and out. An operator who points the UI at `/codec` reads decrypted
 * payloads; nobody else sees more than ciphertext.
 */
interface WirePayload {
  metadata?: Record<string, string>;
  data?: string;
}

const b64 = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('base64') : undefined);
const bytes = (text: string | undefined) =>
  text === undefined ? undefined : new Uint8Array(Buffer.from(text, 'base64'));

function fromWire(body: unknown): Payload[] {
  if (!isObject(body) || !Array.isArray(body.payloads) || body.payloads.length > 1000) {
    throw new ScimError(400, 'invalidSyntax', 'Send { "payloads": [ { "metadata": {...}, "data": "..." } ] }');
  }
  return (body.payloads as WirePayload[]).map((p) => {
    if (!isObject(p)) throw new ScimError(400, 'invalidSyntax', 'Each payload must be an object');
    const metadata: Record<string, Uint8Array> = {};
    for (const [key, value] of Object.entries(p.metadata ?? {})) {
      if (typeof value !== 'string') throw new ScimError(400, 'invalidSyntax', 'Metadata values are base64 strings');
      metadata[key] = bytes(value)!;
    }
    if (p.data !== undefined && typeof p.data !== 'string')
      throw new ScimError(400, 'invalidSyntax', 'data is a base64 string');
    return { metadata, data: bytes(p.data) };
  });
}

function toWire(payloads: Payload[]) {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(p.data),
    })),
  };
}

export async function runCodec(codec: PayloadCodec, direction: 'encode' | 'decode', body: unknown) {
  const payloads = fromWire(body);
  try {
    return toWire(direction === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads));
  } catch (error) {
    throw new ScimError(400, 'invalidValue', `Cannot ${direction}: ${(error as Error).message}`);
  }
}
