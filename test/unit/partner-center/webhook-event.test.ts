import { describe, expect, it } from 'vitest';
import { dedupKeyFor, parseWebhookEvent } from '../../../src/partner-center/webhook-event.ts';

const REFERRAL_ID = '4111fffc-f9ee-4d53-bba6-569135228642';

const pascal = {
  EventName: 'referral-updated',
  ResourceUri: `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${REFERRAL_ID}`,
  ResourceName: 'referral',
  AuditUri: null,
  ResourceChangeUtcDate: '2018-02-17T00:05:39.5485487+00:00',
};

const camel = {
  eventName: 'referral-updated',
  resourceUri: `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${REFERRAL_ID}`,
  resourceName: 'referral',
  auditUri: 'https://api.partnercenter.microsoft.com/auditactivity/v1/auditrecords/a1',
  resourceChangeUtcDate: '2018-02-17T00:05:39.5485487+00:00',
};

describe('parseWebhookEvent', () => {
  it('parses the documented PascalCase sample', () => {
    const result = parseWebhookEvent(pascal);
    expect(result).toEqual({
      ok: true,
      event: {
        eventName: 'referral-updated',
        resourceUri: pascal.ResourceUri,
        resourceName: 'referral',
        auditUri: null,
        resourceChangeUtcDate: pascal.ResourceChangeUtcDate,
        referralId: REFERRAL_ID,
      },
    });
  });

  it('parses the Swagger camelCase form and odd casings alike', () => {
    const result = parseWebhookEvent(camel);
    expect(result.ok && result.event.auditUri).toBe(camel.auditUri);
    expect(result.ok && result.event.referralId).toBe(REFERRAL_ID);

    const shouting = parseWebhookEvent({ EVENTNAME: 'related-referral-created', resourceuri: `/referrals/${REFERRAL_ID}/`, RESOURCECHANGEUTCDATE: 'd' });
    expect(shouting.ok && shouting.event.eventName).toBe('related-referral-created');
    expect(shouting.ok && shouting.event.referralId).toBe(REFERRAL_ID);
  });

  it('accepts the raw body as text or bytes', () => {
    const fromText = parseWebhookEvent(JSON.stringify(pascal));
    const fromBytes = parseWebhookEvent(Buffer.from(JSON.stringify(camel)));
    expect(fromText.ok && fromText.event.referralId).toBe(REFERRAL_ID);
    expect(fromBytes.ok && fromBytes.event.referralId).toBe(REFERRAL_ID);
  });

  it('accepts the docs misnamed AuditUrl', () => {
    const result = parseWebhookEvent({ ...pascal, AuditUri: undefined, AuditUrl: 'https://audit/1' });
    expect(result.ok && result.event.auditUri).toBe('https://audit/1');
  });

  it('has no referral id for non-referral events such as the test event', () => {
    const result = parseWebhookEvent({
      EventName: 'test-created',
      ResourceUri: 'http://api.partnercenter.microsoft.com/webhooks/v1/registration/validationEvents/c0ffee00-0000-0000-0000-000000000000',
      ResourceName: 'test',
      AuditUri: null,
      ResourceChangeUtcDate: '2024-01-01T00:00:00Z',
    });
    expect(result.ok).toBe(true);
    expect(result.ok && result.event.referralId).toBeUndefined();
  });

  it.each([
    ['not an object', ['x'], /expected a JSON object/],
    ['null', null, /expected a JSON object/],
    ['invalid JSON text', '{"EventName":', /not valid JSON/],
    ['missing EventName', { ResourceUri: pascal.ResourceUri, ResourceChangeUtcDate: 'd' }, /EventName is missing/],
    ['missing ResourceUri', { EventName: 'referral-created', ResourceChangeUtcDate: 'd' }, /ResourceUri is missing/],
    ['EventName not a string', { ...pascal, EventName: 42 }, /EventName must be a string, got number/],
    ['ResourceUri an array', { ...pascal, ResourceUri: ['a'] }, /ResourceUri must be a string, got array/],
    ['empty EventName', { ...pascal, EventName: '  ' }, /EventName is empty/],
    ['missing change date', { ...pascal, ResourceChangeUtcDate: undefined }, /ResourceChangeUtcDate is missing/],
    ['AuditUri a number', { ...pascal, AuditUri: 5 }, /AuditUri must be a string or null/],
    ['docs placeholder as id', { ...pascal, ResourceUri: 'https://x/engagements/v1/referrals/{{ReferralID}}' }, /does not end in a referral id/],
    ['referral event without an id', { ...pascal, ResourceUri: 'https://x/' }, /does not end in a referral id/],
    ['conflicting casings', { ...pascal, eventName: 'referral-created' }, /conflicting values for EventName/],
  ])('rejects %s with a clear message', (_name, payload, message) => {
    const result = parseWebhookEvent(payload);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(message);
      expect(result.error).toMatch(/^invalid Partner Center webhook event: /);
    }
  });
});

describe('dedupKeyFor', () => {
  it('gives a redelivery in another casing the same key', () => {
    const a = parseWebhookEvent(pascal);
    const b = parseWebhookEvent({ ...camel, auditUri: null });
    if (!a.ok || !b.ok) throw new Error('fixtures must parse');
    expect(dedupKeyFor(a.event)).toBe(dedupKeyFor(b.event));
    expect(dedupKeyFor(a.event)).toMatch(/^pc:[0-9a-f]{64}$/);
  });

  it('differs when the event, the resource or the change time differs', () => {
    const base = { eventName: 'referral-updated', resourceUri: 'u/1', resourceChangeUtcDate: 't1' };
    const key = dedupKeyFor(base);
    expect(dedupKeyFor({ ...base, eventName: 'referral-created' })).not.toBe(key);
    expect(dedupKeyFor({ ...base, resourceUri: 'u/2' })).not.toBe(key);
    expect(dedupKeyFor({ ...base, resourceChangeUtcDate: 't2' })).not.toBe(key);
    // Field boundaries matter: moving characters between fields must not collide.
    expect(dedupKeyFor({ eventName: 'a', resourceUri: 'bc', resourceChangeUtcDate: '' })).not.toBe(
      dedupKeyFor({ eventName: 'ab', resourceUri: 'c', resourceChangeUtcDate: '' }),
    );
  });
});
