import type { Image } from '@berth/runtime-client';
import { imageRows, imagesMatching } from './images';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const image = (names: string[], repoDigests: string[] = []): Image => ({
  id: `sha256:${'1'.repeat(64)}`,
  digest: DIGEST,
  names,
  repoDigests,
  created: '',
  size: 1000,
});

describe('docker images REPOSITORY[:TAG] and --digests', () => {
  const images = [
    image(['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36']),
    image(['registry.example.com:5000/team/app:1.0', 'registry.example.com:5000/team/app:2.0'], [`registry.example.com:5000/team/app@${DIGEST}`]),
  ];
  const names = (filter: string) => imagesMatching(images, filter).flatMap((i) => i.names);

  it('keeps the names of the repository asked for, and of the tag when one is given', () => {
    expect(names('busybox')).toEqual(['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36']);
    expect(names('docker.io/library/busybox:1.36')).toEqual(['docker.io/library/busybox:1.36']);
    expect(names('registry.example.com:5000/team/app:2.0')).toEqual(['registry.example.com:5000/team/app:2.0']);
    expect(names('team/app')).toEqual([]);
    expect(imagesMatching(images, undefined)).toBe(images);
  });

  it('matches * and ? against the names as docker shows them', () => {
    expect(names('busy*')).toEqual(['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36']);
    expect(names('*/team/app:?.0')).toEqual(['registry.example.com:5000/team/app:1.0', 'registry.example.com:5000/team/app:2.0']);
    expect(names('b*:1.*')).toEqual(['docker.io/library/busybox:1.36']);
  });

  it('puts the repo digest of each name\'s repository in the DIGEST column, and a <none> row for a digest without a name', () => {
    const rows = imageRows([images[1]!, image([], [`docker.io/library/gone@${DIGEST}`])], false, true).map((row) => row.slice(0, 3));
    expect(rows).toEqual([
      ['registry.example.com:5000/team/app', '1.0', DIGEST],
      ['registry.example.com:5000/team/app', '2.0', DIGEST],
      ['gone', '<none>', DIGEST],
    ]);
    expect(imageRows([images[0]!], false, true).map((row) => row[2])).toEqual(['<none>', '<none>']);
    expect(imageRows([images[0]!], false)[0]).toHaveLength(5);
  });
});
