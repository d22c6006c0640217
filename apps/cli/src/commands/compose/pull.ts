import { formatReference, parseReference } from '@berth/image';
import { findRuntimeSocket, RuntimeClient } from '@berth/runtime-client';
import { formatError } from '../../errors';
import { registryAuthFor, type CredentialContext } from '../../runtime/credentials';
import { registryHost } from '../../runtime/registry';
import type { ComposeProjectScope, Workload } from './project';

export interface ComposePullOptions {
  quiet?: boolean;
  ignorePullFailures?: boolean;
  runtimeSocket?: string;
}

/** The images a service's pods run (init containers too), each once, in the template's order. */
export function workloadImages(w: Workload): string[] {
  const spec = w.object.spec?.template?.spec;
  return [...new Set([...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image ?? '').filter(Boolean))];
}

/**
 * `compose pull [SERVICE...]`: the images the services' pods run, pulled onto this host's node by its
 * runtimed (as `berth pull`: the credentials of docker's config.json, else the kubeconfig's token for the
 * cluster registry), one progress line per service on stderr (` web Pulled`). A failure is said on the
 * service's line and makes the exit code 1 unless --ignore-pull-failures; the others are pulled still.
 */
export async function composePull(scope: ComposeProjectScope, services: string[], options: ComposePullOptions, context: CredentialContext): Promise<void> {
  const session = scope.session;
  const workloads = await scope.selectWorkloads(services);
  const terminal = !!process.stderr.isTTY;
  const say = (line: string) => (options.quiet ? undefined : session.notice(line));
  const client = new RuntimeClient(await findRuntimeSocket(options.runtimeSocket));
  try {
    for (const w of workloads) {
      if (!terminal) say(` ${w.service} Pulling`);
      try {
        for (const image of workloadImages(w)) {
          const ref = parseReference(image);
          const auth = await registryAuthFor(registryHost(ref), context);
          await client.pullImage(formatReference(ref), auth ? { auth } : {});
        }
        say(`${terminal ? ' ✔' : ''} ${w.service} Pulled`);
      } catch (err) {
        const line = `${terminal ? ' ✘' : ''} ${w.service} Error ${formatError(err).replace(/^error: /, '')}`;
        if (options.ignorePullFailures) session.notice(line);
        else session.failWith(line);
      }
    }
  } finally {
    client.close();
  }
}
