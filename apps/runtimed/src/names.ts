import { randomInt } from 'node:crypto';

const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'proud', 'quiet', 'relaxed', 'sharp', 'tender', 'upbeat', 'vivid', 'witty', 'zealous'];
const NOUNS = ['anchor', 'barge', 'buoy', 'cabin', 'canal', 'deck', 'dock', 'ferry', 'harbor', 'hull', 'jetty', 'keel', 'lock', 'marina', 'mast', 'pier', 'quay', 'rudder', 'sail', 'wharf'];

/** A docker-style readable name (adjective_noun), with a number when those are taken. */
export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(1000)}`;
    if (!taken(name)) return name;
  }
}
