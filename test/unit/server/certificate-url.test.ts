import { describe, expect, it } from 'vitest';
import { checkCertificateUrl } from '../../../src/partner-center/certificate-source.ts';
import { webhookVerificationSchema } from '../../../src/config/schema.ts';

const config = webhookVerificationSchema.parse({
  certificateHosts: ['certs.example.com', 'pinned.example.com:8443'],
  insecureHttpHosts: ['127.0.0.1:4101'],
});

describe('certificate URL policy', () => {
  it.each([
    ['https://certs.example.com/a.cer', true],
    ['https://CERTS.example.com/a.cer', true],
    ['https://pinned.example.com:8443/a.cer', true],
    ['http://127.0.0.1:4101/_sandbox/certificates/signing.cer', true],
    ['http://certs.example.com/a.cer', false],
    ['https://certs.example.com:8443/a.cer', false],
    ['https://pinned.example.com/a.cer', false],
    ['https://certs.example.com.evil.com/a.cer', false],
    ['https://evil.com/certs.example.com', false],
    ['https://user:pw@certs.example.com/a.cer', false],
    ['http://127.0.0.1:4102/a.cer', false],
    ['https://127.0.0.1:4101/a.cer', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s → allowed: %s', (url, allowed) => {
    if (allowed) expect(checkCertificateUrl(url, config).href).toBeTruthy();
    else expect(() => checkCertificateUrl(url, config)).toThrow();
  });
});
