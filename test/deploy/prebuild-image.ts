/**
 * Builds the image of test/deploy/pods.test.ts ahead of it, with the same podman build (podman.ts),
 * when podman has no such image yet: scripts/test.sh runs this in the background while the main
 * suite runs, so on a fresh machine the fault suite's pods test finds every layer in podman's
 * cache instead of waiting ~2.5 minutes for npm ci and the native addons inside the image. Where
 * the image exists already the test's own build is mostly cache hits anyway, and a rebuild here
 * would only take CPU from the main suite. The test still runs its own build and checks the image;
 * a failure here only means it will build (and fail) there.
 * Usage: npx tsx test/deploy/prebuild-image.ts
 */
import { buildImage, ensureBases, IMAGE_REPO, IMAGE_TAG, podman } from './podman.ts';

const image = `${IMAGE_REPO}:${IMAGE_TAG}`;
const bases = await ensureBases();
const exists = await podman(['image', 'exists', image]).then(() => true, () => false);
if (exists) {
  console.log(`[prebuild] ${image} exists: not built ahead`);
} else {
  const { seconds } = await buildImage(image, bases);
  console.log(`[prebuild] ${image} built in ${seconds} s`);
}
