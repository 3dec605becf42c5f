// Leader election with a coordination.k8s.io/v1 Lease, with client-go's default timings (lease 15 s,
// renew deadline 10 s, retry 2 s): exactly one replica probes; a dead leader's lease expires and
// another replica takes over within the lease duration.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiFailure, isNotFound, kubeError } from './errors.ts';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
  readonly onStartedLeading: (previousHolder: string | undefined) => void;
  readonly onStoppedLeading: () => void;
}

export type LeaderState = 'unknown' | 'leader' | 'follower';

function micro(d: Date): k8s.V1MicroTime {
  return new k8s.V1MicroTime(d.getTime());
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly options: LeaderElectionOptions;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastRenew = 0;
  /** The Lease as our last write left it: a leader renews from it without reading first, as client-go does. */
  private held: k8s.V1Lease | undefined;
  state: LeaderState = 'unknown';

  constructor(kc: k8s.KubeConfig, options: LeaderElectionOptions) {
    this.api = kc.makeApiClient(k8s.CoordinationV1Api);
    this.options = options;
  }

  private get leaseMs(): number {
    return this.options.leaseDurationMs ?? 15_000;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        await this.tryAcquireOrRenew();
      } catch (e) {
        const failure = apiFailure(e);
        this.options.logger[failure.retryable ? 'warn' : 'error'](
          { ...failure, namespace: this.options.namespace, lease: this.options.name },
          'leader election: lease call failed',
        );
      }
      if (this.state === 'leader' && Date.now() - this.lastRenew > (this.options.renewDeadlineMs ?? 10_000)) {
        this.lose('could not renew the lease within the renew deadline');
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.options.retryPeriodMs ?? 2_000);
    };
    void tick();
  }

  private lose(reason: string): void {
    this.held = undefined;
    if (this.state !== 'leader') return;
    this.state = 'follower';
    this.options.logger.warn({ reason }, 'lost leadership');
    this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const now = new Date();
    if (this.state === 'leader' && this.held) {
      // One request a renewal instead of two; a conflict (someone else wrote it) means read it again.
      const held = this.held;
      this.held = undefined;
      this.held = await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...held, spec: { ...held.spec, renewTime: micro(now) } },
      });
      this.becomeLeader(undefined, now);
      return;
    }
    let lease: k8s.V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (!isNotFound(e)) throw kubeError({ verb: 'get', resource: 'leases', namespace, name }, e);
    }
    const spec: k8s.V1LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      renewTime: micro(now),
    };
    if (!lease) {
      this.held = await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: micro(now), leaseTransitions: 0 },
        },
      });
      this.becomeLeader(undefined, now);
      return;
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const duration = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const expired = renewed + duration < now.getTime();
    if (holder && holder !== identity && !expired) {
      if (this.state === 'leader') this.lose(`${holder} holds the lease`);
      this.state = 'follower';
      return;
    }
    const takingOver = holder !== identity;
    const body: k8s.V1Lease = {
      ...lease,
      spec: {
        ...lease.spec,
        ...spec,
        ...(takingOver
          ? { acquireTime: micro(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }
          : {}),
      },
    };
    // resourceVersion in the body makes this a compare-and-swap: two replicas cannot both win.
    this.held = await this.api.replaceNamespacedLease({ name, namespace, body });
    this.becomeLeader(takingOver && holder ? holder : undefined, now);
  }

  private becomeLeader(previous: string | undefined, now: Date): void {
    this.lastRenew = now.getTime();
    if (this.state === 'leader') return;
    this.state = 'leader';
    this.options.logger.info({ previous }, 'became leader');
    this.options.onStartedLeading(previous);
  }

  /** Stops electing; releases the lease when leading, so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.state !== 'leader') return;
    const { namespace, name } = this.options;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity === this.options.identity) {
        await this.api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
      }
    } catch (e) {
      this.options.logger.warn(
        { ...apiFailure(e), namespace: this.options.namespace, lease: this.options.name },
        'could not release the lease',
      );
    }
    this.state = 'follower';
  }
}
