/** Redaction rules, applied to entries before anything is stored or streamed (docs/redaction.md). */
export { redactEntry } from './entry.js';
export {
  DEFAULT_RULES,
  extendRules,
  NAME_CACHE_MAX,
  type RedactionExtras,
  type RedactionRules,
  redactionCounters,
} from './rules.js';
