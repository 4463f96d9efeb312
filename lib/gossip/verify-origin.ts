import { filter, map, pipe, type MonoTypeOperatorFunction } from 'rxjs';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import type { DataDelivery } from './data-delivery.js';
import { verifyDataMessage } from './data-origin.js';

/**
 * Lets through the deliveries whose originator signature verifies against `mapper` (pass
 * `comm.identityMapper`), with `origin` set to the verified originator; the others go to
 * `onRejected` with the typed error of verifyDataMessage (SignatureError, UnknownOriginError,
 * DecodeError) and are not passed on. For pipelines that do not check origins themselves, e.g.
 * `pull.delivered$.pipe(verifyOrigin(comm.identityMapper))`.
 */
export function verifyOrigin(
  mapper: IdentityMapper,
  onRejected: (delivery: DataDelivery, error: Error) => void = () => undefined,
): MonoTypeOperatorFunction<DataDelivery> {
  return pipe(
    map((delivery): DataDelivery | undefined => {
      try {
        return { ...delivery, origin: verifyDataMessage(delivery.message, mapper) };
      } catch (err: unknown) {
        onRejected(delivery, err instanceof Error ? err : new Error(String(err)));
        return undefined;
      }
    }),
    filter((delivery): delivery is DataDelivery => delivery !== undefined),
  );
}
