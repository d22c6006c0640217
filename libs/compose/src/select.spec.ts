import type { ComposeProject, ServiceConfig } from './model';
import { withDependencies } from './select';

const service = (name: string, dependsOn: string[] = []): ServiceConfig =>
  ({ name, depends_on: Object.fromEntries(dependsOn.map((d) => [d, { condition: 'service_started', required: true, restart: false }])) }) as unknown as ServiceConfig;

const project = {
  services: { api: service('api', ['db', 'cache']), cache: service('cache'), db: service('db'), web: service('web', ['api']), tools: service('tools') },
} as unknown as ComposeProject;

describe('withDependencies', () => {
  it('is every service without names', () => expect(withDependencies(project, [])).toEqual(['api', 'cache', 'db', 'web', 'tools']));
  it('is the named services and what they depend on, transitively', () => {
    expect(withDependencies(project, ['web'])).toEqual(['api', 'cache', 'db', 'web']);
    expect(withDependencies(project, ['db', 'tools'])).toEqual(['db', 'tools']);
  });
  it('refuses a service the project does not have', () => expect(() => withDependencies(project, ['nope'])).toThrow('no such service: nope'));
});
