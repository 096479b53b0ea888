import { describe, expect, it } from 'vitest';
import { EncryptionCodec, newPayloadKey, parsePayloadKeys } from '../../lib/codec';

const payload = (text: string) => ({
  metadata: { encoding: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(JSON.stringify(text)),
});
const text = (p: { data?: Uint8Array | null }) => new TextDecoder().decode(p.data!);

describe('payload codec', () => {
  it('encrypts whole payloads and decrypts them back', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(newPayloadKey('k1')));
    const [sealed] = await codec.encode([payload('0123456789')]);
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('0123456789');
    expect(new TextDecoder().decode(sealed!.metadata!['encryption-key-id'])).toBe('k1');
    const [opened] = await codec.decode([sealed!]);
    expect(text(opened!)).toBe('"0123456789"');
  });

  it('rotates: a new first key encrypts, the old one still decrypts', async () => {
    const old = newPayloadKey('old');
    const [sealed] = await new EncryptionCodec(parsePayloadKeys(old)).encode([payload('x')]);
    const rotated = new EncryptionCodec(parsePayloadKeys(`${newPayloadKey('new')},${old}`));
    expect(text((await rotated.decode([sealed!]))[0]!)).toBe('"x"');
    const [resealed] = await rotated.encode([payload('y')]);
    expect(new TextDecoder().decode(resealed!.metadata!['encryption-key-id'])).toBe('new');
  });

  it('refuses a payload sealed with an unknown key, or tampered with', async () => {
    const [sealed] = await new EncryptionCodec(parsePayloadKeys(newPayloadKey('a'))).encode([payload('x')]);
    await expect(new EncryptionCodec(parsePayloadKeys(newPayloadKey('b'))).decode([sealed!])).rejects.toThrow(/No key/);
    const tampered = { ...sealed!, data: Uint8Array.from(sealed!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(new EncryptionCodec(parsePayloadKeys(newPayloadKey('a'))).decode([tampered])).rejects.toThrow();
  });

  it('passes payloads that were never encrypted through (older histories)', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(newPayloadKey('k')));
    expect(text((await codec.decode([payload('plain')]))[0]!)).toBe('"plain"');
  });

  it.each([
    ['nokey'],
    ['k:short'],
    [`a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32).toString('base64')}`],
    [''],
  ])('rejects the key list %s', (keys) => expect(() => parsePayloadKeys(keys)).toThrow(/PAYLOAD_KEYS/));
});
