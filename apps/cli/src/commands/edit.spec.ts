import { applyJsonMergePatch } from '@berth/patch';
import { createMergePatch, editorCommand } from './edit';

describe('edit', () => {
  it('makes the merge patch that turns the original into the edited object', () => {
    const original = { metadata: { name: 'x', labels: { a: '1', b: '2' } }, data: { k: 'v' }, list: [1, 2] };
    const edited = { metadata: { name: 'x', labels: { a: '1', c: '3' } }, list: [2], extra: { deep: true } };
    const patch = createMergePatch(original, edited);
    expect(patch).toEqual({ metadata: { labels: { b: null, c: '3' } }, data: null, list: [2], extra: { deep: true } });
    expect(applyJsonMergePatch(original, patch)).toEqual(edited);
    expect(createMergePatch(original, JSON.parse(JSON.stringify(original)))).toEqual({});
  });

  it('runs $KUBE_EDITOR, else $EDITOR, else vi', () => {
    expect(editorCommand({ KUBE_EDITOR: 'nano', EDITOR: 'emacs' })).toBe('nano');
    expect(editorCommand({ EDITOR: 'code --wait' })).toBe('code --wait');
    expect(editorCommand({})).toBe('vi');
  });
});
