export { declareArgs, parseDockerfile, stagesNeeded, stageDependencies, resolveStageRef, stageName, PREDEFINED_ARGS } from './dockerfile';
export { parseInstruction } from './instruction-text';
export { StageEvaluator, DEFAULT_PATH, applyChanges, CHANGE_INSTRUCTIONS } from './evaluate';
export type { EvaluatedStep, InlineFile, Step } from './evaluate';
export { expandWord, expandWords, expandWordWithMatches, mapLookup } from './lexer';
export type { Lookup, LexOptions } from './lexer';
export { heredocContent, MAX_DOCKERFILE_BYTES } from './syntax';
export { commandArgs, DEFAULT_SHELL, normalizePorts, parseChmod, parseChown, parseDuration, validateSignal } from './values';
export { parseMount } from './mounts';
export { DockerIgnore, readDockerignore, cleanPath, dockerignoreCandidates } from './dockerignore';
export type {
  ArgInstruction,
  CmdInstruction,
  CommandForm,
  CopyInstruction,
  Directives,
  Dockerfile,
  EnvInstruction,
  FromInstruction,
  HealthcheckInstruction,
  HealthConfig,
  Heredoc,
  ImageRuntimeConfig,
  Instruction,
  InstructionKind,
  KeyValue,
  ListInstruction,
  OnbuildInstruction,
  ParseOptions,
  RunInstruction,
  RunMount,
  ShellInstruction,
  Stage,
  StageBase,
  Warning,
  WordInstruction,
} from './types';
