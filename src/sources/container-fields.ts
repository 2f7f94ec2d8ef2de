/**
 * Field helpers shared by the container sources: an image reference split into the ECS
 * container.image fields, bounded. Every input is hostile: nothing here throws or guesses.
 */
import type { CoalEvent } from '../model/event.js';
import { clip } from '../util/hostile.js';

type ContainerImage = NonNullable<NonNullable<CoalEvent['container']>['image']>;

/** Longer than any registry/repository:tag a runtime accepts (Docker caps a reference at 255 per part). */
const MAX_IMAGE_CHARS = 512;
const DIGEST = /^[a-z0-9]{1,32}:[0-9a-f]{32,128}$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * `registry:5000/team/app:1.2@sha256:…` → name `registry:5000/team/app`, tag `1.2`, hash.all
 * [`sha256:…`]. A bare image id (`sha256:…`, as containerd reports it) gives only the hash. Undefined
 * for an empty or over-long value.
 */
export function imageOf(reference: unknown): ContainerImage | undefined {
  if (typeof reference !== 'string') return undefined;
  const text = reference.trim();
  if (text === '' || text.length > MAX_IMAGE_CHARS) return undefined;
  if (DIGEST.test(text)) return { hash: { all: [text] } };
  const image: ContainerImage = {};
  let rest = text;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (DIGEST.test(digest)) image.hash = { all: [digest] };
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    const tag = rest.slice(colon + 1);
    if (TAG.test(tag)) image.tag = tag;
    rest = rest.slice(0, colon);
  }
  if (rest !== '') image.name = clip(rest, MAX_IMAGE_CHARS);
  return image.name !== undefined || image.hash !== undefined ? image : undefined;
}
