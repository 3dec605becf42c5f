// A probe image the cluster cannot run, in the lab with real pods: the lab's node agent reports it as
// any kubelet reports an image it cannot pull (ErrImagePull, then ImagePullBackOff), and netaudit
// recognises that as an image failure: exit 2, naming the image and the kubelet's reason, at once
// rather than after its wait timeout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KUBECONFIG } from '../../../lab/config.ts';
import { ensureLabUp, labEnforcer } from '../../../lab/lab.ts';
import { applyText, deleteNamespaces, waitForPods } from '../support/apply.ts';
import { netaudit } from '../support/netaudit.ts';
import { webAndClient } from '../support/workloads.ts';

const NS = 'image-e2e';
const IMAGE = 'docker.io/library/nginx:1.29';

describe('a probe image the nodes cannot run (lab)', { timeout: 300_000 }, () => {
  before(async () => {
    await ensureLabUp();
    await applyText(webAndClient(NS));
    await waitForPods([NS]);
  });
  after(async () => {
    await deleteNamespaces([NS]);
  });

  test('netaudit audit exits 2 with the kubelet reason for the image, quickly', async () => {
    const t0 = Date.now();
    const run = await netaudit(
      ['audit', '-n', NS, '--profile', labEnforcer(), '--timeout', '3s', '--image', IMAGE],
      240_000,
      { kubeconfig: KUBECONFIG, image: IMAGE },
    );
    const ms = Date.now() - t0;
    assert.equal(run.code, 2, `${run.stdout}\n${run.stderr}`);
    assert.match(
      run.stderr,
      new RegExp(
        `the probe image ${IMAGE.replaceAll('.', '\\.')} cannot run: (ErrImagePull|ImagePullBackOff): .*failed to pull image`,
      ),
    );
    assert.ok(ms < 60_000, `reported after ${ms} ms`);
  });
});
