/** The .proto files of these tests (protos/, beside this file in the source tree; see their headers). */
import { join } from 'node:path';
import { ROOT } from '../../support/paths.js';

export const PROTOS = join(ROOT, 'test', 'dissect', 'grpc', 'protos');
/** Every streaming kind and most field kinds; imports include/podwire/common/money.proto. */
export const SHOP = join(PROTOS, 'shop.proto');
/** The --proto-path SHOP needs. */
export const INCLUDE = join(PROTOS, 'include');
/** The service of test/captures/grpc/gRPC-Go-for-Professionals__*.pcapng. */
export const GREET = join(PROTOS, 'greet', 'greet.proto');
