/** `berth node reset`: stops a node and removes what it put on its host (k3s's killall and uninstall roles). */
export { resetNode, type ResetOptions, type ResetResult } from './reset';
