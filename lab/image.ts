/**
 * Image references the lab can run. The lab has no container runtime: it maps these images to local
 * programs (see docs/lab.md). Any other image is reported as a kubelet reports an image it cannot pull.
 */

/** The image the lab runs as netaudit: `netaudit ...` commands run the checkout's `bin/netaudit`. */
export const LAB_IMAGE = 'ghcr.io/netaudit/netaudit:dev';

/**
 * The lab's own network check tool (lab/nettool.ts), independent of netaudit's code, so the lab
 * can prove its enforcement without trusting netaudit. `.invalid` is a reserved TLD: never pulled.
 */
export const LAB_TOOL_IMAGE = 'lab.invalid/netaudit-lab-nettool:dev';
