export { openTelemetry } from './middleware.js';
export { ConsumerParent, INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './options.js';
export type { OpenTelemetryOptions } from './options.js';
export { SEMCONV_VERSION, SCHEMA_URL } from './semconv.js';
export {
  ATTR_OMNIBUS_MESSAGE_ATTEMPT,
  ATTR_OMNIBUS_MESSAGE_KEY,
  ATTR_OMNIBUS_MESSAGE_OFFSET,
  ATTR_OMNIBUS_DELIVERY_TAG,
  ATTR_OMNIBUS_METADATA_PREFIX,
  ATTR_OMNIBUS_SETTLEMENT_OUTCOME,
  ATTR_OMNIBUS_RETRY_DELAY_MS,
  ATTR_OMNIBUS_DEAD_LETTER_REASON,
  OmnibusEvents,
  OmnibusMetrics,
} from './omnibus-names.js';
