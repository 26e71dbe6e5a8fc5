/**
 * Size limits of the key-value service. They are constants, not configuration, because the proposer and every
 * replica's state machine must agree on them: a limit that differed between replicas would let one accept an
 * entry that another rejects, and their states would diverge (Raft thesis §6: the state machine must be
 * deterministic).
 */

/** Maximum size of a key, in UTF-8 bytes. */
export const KEY_BYTES_MAX = 1024;

/** Maximum size of a value, in UTF-8 bytes; also bounds a value grown by `append`. */
export const VALUE_BYTES_MAX = 1024 * 1024;

/**
 * Maximum size of one encoded command entry, in bytes: a compare-and-set carries a key and two values, plus a
 * small header. Entries above it are rejected before they are decoded at all, so a corrupt or hostile entry
 * cannot make the decoder allocate more than this bounds.
 */
export const ENTRY_BYTES_MAX = KEY_BYTES_MAX + 2 * VALUE_BYTES_MAX + 256;
