/**
 * Leader election through coordination.k8s.io/v1 Leases, with client-go's semantics: several schedulers or
 * controller-managers run against one API and exactly one of each acts at a time.
 */
export { DEFAULT_TIMING, JITTER_FACTOR, type LeaderCallbacks, type LeaderElectionTiming, LeaderElector, type LeaderElectorOptions, timingProblem } from './elector';
export { type LeaderElectionRecord, type LeaseClient, LeaseLock, microTime, recordOfLease, type ResourceLock } from './lease-lock';
export {
  candidateIdentity,
  CONTROLLER_MANAGER_LEASE,
  exitOnLostLease,
  type LeaderElected,
  type LeaderElectedOptions,
  type LeaderElectionConfig,
  leaderElectionConfig,
  leaderElectionFlags,
  LEADER_ELECTION_NAMESPACE,
  runLeaderElected,
  SCHEDULER_LEASE,
  type Stoppable,
} from './run';
