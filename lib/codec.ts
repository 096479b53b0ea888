import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** How an encrypted payload says what it is, and with which key it was sealed. */
export const ENCODING = 'binary/encrypted';
export const KEY_ID_KEY = 'encryption-key-id';

export interface PayloadKey {
  id: string;
  key: Buffer;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Parses `PAYLOAD_KEYS`: `id:base64key,id:base64key`, 32-byte keys. The first key encrypts; all
 * of them decrypt, so a key can be rotated by putting a new one first and keeping the old one
 * until every history sealed with it has aged out.
 */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const keys = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.indexOf(':');
      const id = part.slice(0, at);
      const key = Buffer.from(part.slice(at + 1), 'base64');
      if (at <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new Error(`PAYLOAD_KEYS: "${id}" is not a key id`);
      if (key.length !== 32) throw new Error(`PAYLOAD_KEYS: key ${id} must be 32 bytes, base64-encoded`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('PAYLOAD_KEYS holds no key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('PAYLOAD_KEYS repeats a key id');
  return keys;
}

export function newPayloadKey(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/**
 * AES-256-GCM over whole payloads (metadata and data, serialized), so that workflow inputs,
 * results and failure messages in history hold no phone number in clear. The key id travels in
 * the payload's metadata; the IV is random per payload.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: PayloadKey[]) {
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const active = this.keys[0]!;
    return payloads.map((payload) => ({
      metadata: {
        [METADATA_ENCODING_KEY]: encoder.encode(ENCODING),
        [KEY_ID_KEY]: encoder.encode(active.id),
      },
      data: seal(active.key, temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCODING) return payload;
      const keyId = payload.metadata?.[KEY_ID_KEY];
      const key = keyId ? this.byId.get(decoder.decode(keyId)) : undefined;
      if (!key || !payload.data)
        throw new Error(`No key to decrypt a payload sealed with key "${keyId ? decoder.decode(keyId) : '?'}"`);
      return temporal.api.common.v1.Payload.decode(open(key, payload.data));
    });
  }
}

function seal(key: Buffer, plain: Uint8Array): Uint8Array {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Uint8Array): Uint8Array {
  const buffer = Buffer.from(sealed);
  const decipher = createDecipheriv('aes-256-gcm', key, buffer.subarray(0, 12));
  decipher.setAuthTag(buffer.subarray(buffer.length - 16));
  return Buffer.concat([decipher.update(buffer.subarray(12, buffer.length - 16)), decipher.final()]);
}
