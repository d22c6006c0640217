/** Seeded random mutations of JSON documents, for the apiserver fuzz test. */
export type Random = () => number;

/** mulberry32: small, fast, and reproducible from a printed seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomGarbage(random: Random, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

function randomValue(random: Random, depth = 0): unknown {
  const choices: (() => unknown)[] = [
    () => null,
    () => true,
    () => Math.floor(random() * 2 ** 31) * (random() < 0.5 ? -1 : 1),
    () => random() * 1e308,
    () => '',
    () => 'x'.repeat(Math.floor(random() * 300)),
    () => randomGarbage(random, 8).toString('latin1'),
    () => ['-1', '0', '1e400', 'NaN', '500m', '128Mi', 'Always', 'None', '::1', '../../etc', 'A_B'][Math.floor(random() * 11)],
    () => (depth < 3 ? [randomValue(random, depth + 1), randomValue(random, depth + 1)] : []),
    () => (depth < 3 ? { [String(randomGarbage(random, 3).toString('hex'))]: randomValue(random, depth + 1) } : {}),
  ];
  return choices[Math.floor(random() * choices.length)]();
}

/** Collects every [container, key] pair in a document, to pick a mutation site. */
function sites(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(value)) {
    value.forEach((child, i) => {
      out.push([value, i]);
      sites(child, out);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, key]);
      sites(child, out);
    }
  }
  return out;
}

/** Applies 1-3 random mutations in place: replace a value, delete a field, add an unknown field. */
export function mutate(random: Random, doc: Record<string, unknown>): Record<string, unknown> {
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const all = sites(doc);
    if (all.length === 0) break;
    const [container, key] = all[Math.floor(random() * all.length)];
    const roll = random();
    if (roll < 0.5) (container as Record<string, unknown>)[key as string] = randomValue(random);
    else if (roll < 0.8) {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (!Array.isArray(container)) container[`unknown${Math.floor(random() * 100)}`] = randomValue(random);
  }
  return doc;
}
