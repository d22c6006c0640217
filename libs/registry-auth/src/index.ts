export {
  DOCKER_HUB_KEY,
  DockerConfig,
  MAX_DOCKER_CONFIG_BYTES,
  dockerConfigJson,
  dockerConfigPath,
  keyHostname,
  readDockerConfigText,
  registryKey,
} from './docker-config';
export type { RegistryCredential } from './docker-config';
