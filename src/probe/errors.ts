// Errors of the probe agent, each with the context a person needs: which format and token, which port.
import { NetauditError } from '../errors.ts';

/** A plan string or a results message that cannot be read, or a plan that cannot be written. */
export class ProbeFormatError extends NetauditError {
  override readonly name = 'ProbeFormatError';
  readonly format: 'plan' | 'results';
  /** 0-based index of the offending token (plan: comma-separated; results: whitespace-separated). */
  readonly position: number | undefined;
  readonly token: string | undefined;
  constructor(
    ctx: { format: 'plan' | 'results'; position?: number; token?: string },
    message: string,
    options?: ErrorOptions,
  ) {
    const where = ctx.position === undefined ? '' : ` token ${ctx.position}`;
    const shown =
      ctx.token === undefined
        ? ''
        : ` '${ctx.token.length > 60 ? `${ctx.token.slice(0, 60)}...` : ctx.token}'`;
    super(`${ctx.format}${where}${shown}: ${message}`, options);
    this.format = ctx.format;
    this.position = ctx.position;
    this.token = ctx.token;
  }
}

/** A port the server could not listen on, with the errno the kernel gave. */
export class BindError extends NetauditError {
  override readonly name = 'BindError';
  readonly port: number;
  readonly protocol: string;
  readonly address: string;
  readonly code: string | undefined;
  constructor(
    ctx: { port: number; protocol: string; address: string; code?: string },
    message: string,
    options?: ErrorOptions,
  ) {
    super(`cannot listen on ${ctx.port}/${ctx.protocol} (address ${ctx.address}): ${message}`, options);
    this.port = ctx.port;
    this.protocol = ctx.protocol;
    this.address = ctx.address;
    this.code = ctx.code;
  }
}

/** The errno code (`ECONNREFUSED`, ...) of a Node system error, when it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}
