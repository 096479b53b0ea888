import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Field encryption for personal data at rest: user documents and the numbers of pending and
 * accepted changes are stored as `v1:<keyId>:<base64 iv|ciphertext|tag>` (AES-256-GCM), so a
 * database dump or backup shows no phone number. The first key seals; all keys open.
 */
export interface DataKey {
  id: string;
  key: Buffer;
}

let ring: DataKey[] = [];

export function useDataKeys(keys: DataKey[]): void {
  if (keys.length === 0) throw new Error('At least one data key is needed');
  ring = keys;
}

export function seal(plain: string): string {
  const active = ring[0];
  if (!active) throw new Error('No data key configured');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', active.key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1:${active.id}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')}`;
}

export function open(sealed: string): string {
  const [version, keyId, data] = sealed.split(':');
  if (version !== 'v1' || !keyId || !data) throw new Error('Not a sealed value');
  const key = ring.find((k) => k.id === keyId);
  if (!key) throw new Error(`No data key "${keyId}" to open a stored value`);
  const buffer = Buffer.from(data, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key.key, buffer.subarray(0, 12));
  decipher.setAuthTag(buffer.subarray(buffer.length - 16));
  return Buffer.concat([decipher.update(buffer.subarray(12, buffer.length - 16)), decipher.final()]).toString('utf8');
}
