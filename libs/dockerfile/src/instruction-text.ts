import { toInstruction } from './instructions';
import { parseError, splitLines } from './syntax';
import type { Directives, Instruction, Warning } from './types';

/**
 * One instruction from its text: an image's ONBUILD trigger (run when a stage builds FROM it) or a
 * `berth commit --change 'CMD ["x"]'`. Exactly one instruction; with `onbuild`, the rules of ONBUILD triggers apply (no FROM, MAINTAINER, ONBUILD).
 */
export function parseInstruction(
  text: string,
  options: { escape?: Directives['escape']; onbuild?: boolean } = {},
): { instruction: Instruction; warnings: Warning[] } {
  const directives: Directives = { escape: options.escape ?? '\\' };
  // The text is not a file: no directives are read from it, so a leading "# escape=" stays a comment.
  const { nodes, warnings } = splitLines('\n' + text);
  if (nodes.length !== 1) throw parseError(1, nodes.length ? 'expected exactly one instruction' : 'no instruction given');
  const node = { ...nodes[0], line: nodes[0].line - 1, endLine: nodes[0].endLine - 1 };
  return { instruction: toInstruction(node, directives, warnings, options.onbuild ?? false), warnings };
}
