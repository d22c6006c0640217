import { DEPENDS_ON_ANNOTATION, dependsOnAnnotation, MAX_DEPENDENCIES, MAX_DEPENDS_ON_BYTES, parseDependsOn } from './dependencies';

const errorOf = (value: string | undefined) => {
  const parsed = parseDependsOn(value);
  return 'error' in parsed ? parsed.error : undefined;
};

describe('the depends-on annotation', () => {
  it('round-trips what the translation writes, services in name order', () => {
    const value = dependsOnAnnotation({ web: 'service_started', db: 'service_healthy', migrate: 'service_completed_successfully' });
    expect(value).toBe('{"db":"service_healthy","migrate":"service_completed_successfully","web":"service_started"}');
    const parsed = parseDependsOn(value);
    expect('dependencies' in parsed && [...parsed.dependencies]).toEqual([
      ['db', 'service_healthy'],
      ['migrate', 'service_completed_successfully'],
      ['web', 'service_started'],
    ]);
  });

  it.each([
    [undefined, `the annotation ${DEPENDS_ON_ANNOTATION} is missing`],
    ['{"db":', `the annotation ${DEPENDS_ON_ANNOTATION} is not JSON`],
    ['["db"]', `the annotation ${DEPENDS_ON_ANNOTATION} must be a JSON object of service to condition`],
    ['null', `the annotation ${DEPENDS_ON_ANNOTATION} must be a JSON object of service to condition`],
    ['"db"', `the annotation ${DEPENDS_ON_ANNOTATION} must be a JSON object of service to condition`],
    ['{}', `the annotation ${DEPENDS_ON_ANNOTATION} names no service`],
    ['{"db":"service_ready"}', 'service db: unknown condition "service_ready" (one of service_started, service_healthy, service_completed_successfully)'],
    ['{"db":{"toString":1}}', 'service db: unknown condition {"toString":1} (one of service_started, service_healthy, service_completed_successfully)'],
    ['{"no such/name":"service_started"}', '"no such/name" is not a service name'],
  ])('refuses %j with one line', (value, error) => {
    expect(errorOf(value)).toBe(error);
  });

  it('refuses __proto__ (no service is named so) and touches no prototype', () => {
    const parsed = parseDependsOn('{"__proto__":"service_started"}');
    expect(errorOf('{"__proto__":"service_started"}')).toBe('"__proto__" is not a service name');
    expect(parsed).not.toHaveProperty('dependencies');
    expect(({} as Record<string, unknown>).service_started).toBeUndefined();
  });

  it('bounds the size and the number of services', () => {
    expect(errorOf(`{"db":"${'x'.repeat(MAX_DEPENDS_ON_BYTES)}"}`)).toBe(`the annotation ${DEPENDS_ON_ANNOTATION} is longer than ${MAX_DEPENDS_ON_BYTES} bytes`);
    const many = Object.fromEntries(Array.from({ length: MAX_DEPENDENCIES + 1 }, (_, i) => [`s${i}`, 'service_started']));
    expect(errorOf(JSON.stringify(many))).toBe(`the annotation ${DEPENDS_ON_ANNOTATION} names more than ${MAX_DEPENDENCIES} services`);
    const enough = Object.fromEntries(Array.from({ length: MAX_DEPENDENCIES }, (_, i) => [`s${i}`, 'service_started']));
    expect(errorOf(JSON.stringify(enough))).toBeUndefined();
  });
});
