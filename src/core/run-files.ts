/**
 * The names of a run folder's metadata files. src/replay owns the run folder
 * (layout, manifest schema, the only writer); the names are here so the layers
 * below it that read a finished run (src/dq's harvest, src/report's compare)
 * name the same files without importing replay.
 */

/** A run's manifest.json (replay, canary and live runs). */
export const REPLAY_MANIFEST = 'manifest.json';
/** A run's run_tag.txt: the facts a reader needs first. */
export const RUN_TAG_FILE = 'run_tag.txt';
