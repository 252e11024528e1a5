/*
 * embed_merge.h - assembling the parts that shards wrote into the work
 * folder's embeddings/<ckpt>.npy, logits/<ckpt>.npy and manifest.json.
 *
 * A part is "embeddings/<ckpt>.part-KKKK-of-PPPP.npy" (+ the same name
 * under logits/ when the checkpoint has a classifier) and its manifest
 * "embeddings/<ckpt>.part-KKKK-of-PPPP.json", written last: rows,
 * dtype, the shard that made it, fingerprints of the weights, the data
 * (samples.csv) and the options, the vitviz version, the manifest entry
 * of its checkpoint, the run's manifest header and the whole plan (every
 * checkpoint's units and their owners), so that any one part tells what
 * the complete set is.
 *
 * Merging checks coverage (every row of every checkpoint exactly once,
 * from parts that agree on version, data, options and plan), assembles
 * each checkpoint through a temporary file and rename, writes
 * manifest.json (the same document one process would have written), then
 * removes the parts.  A checkpoint that manifest.json already holds with
 * the same weights fingerprint counts as covered (an incremental rerun).
 * One process assembles at a time: the lock is the folder
 * "<work>/.merge.lock" (mkdir is atomic on local and network file
 * systems) holding "host pid"; a lock whose process is gone from this
 * host is broken, one from another host is waited for.  No MPI: ranks
 * coordinate only through the folder.
 */
#ifndef EMBED_MERGE_H
#define EMBED_MERGE_H

#include <stddef.h>

#define EMBED_PART_FORMAT 1

/* What embed_merge() found or did. */
enum {
	EMBED_MERGE_NONE = 0,   /* no parts and no manifest.json: nothing to merge */
	EMBED_MERGE_ALREADY,    /* no parts left: manifest.json is the merged result */
	EMBED_MERGE_DONE,       /* this call assembled the outputs */
	EMBED_MERGE_INCOMPLETE, /* if_complete: parts are missing (nothing written) */
	EMBED_MERGE_BUSY,       /* if_complete: another process holds the lock */
};

typedef struct embed_merge_opts {
	int if_complete; /* missing parts or a held lock are not errors: report
			  * the state and return 0 (for the end of each shard) */
	int wait_s;      /* seconds to wait for another process's lock (0: 600) */
} embed_merge_opts;

/*
 * Merge the parts in `workdir`.  *state (may be NULL) receives one of
 * EMBED_MERGE_*.  Errors (all after one line naming the part): a part from
 * another vitviz version, parts that disagree on data, options, weights or
 * plan, a part whose rows or .npy shape do not match its manifest
 * (VV_EMISMATCH / VV_EFORMAT); without if_complete, missing parts are
 * VV_ENOTFOUND naming up to 8 of them and the shard that owns each.
 * Nothing is written unless every part is there and valid.
 */
int embed_merge(const char *workdir, const embed_merge_opts *o, int *state);

/*
 * Hash of <workdir>/samples.csv's bytes and the listing key `samples_key`
 * (16 hex digits + NUL in out): the parts' data fingerprint.
 */
int embed_merge_data_key(const char *workdir, const char *samples_key, char out[40]);

/*
 * 1 when the part "<stem>" (see above) has a manifest from this vitviz
 * version with plan fingerprint `plan_key` and rows [r0, r1), and its
 * .npy files exist; else 0.
 */
int embed_part_is_current(const char *workdir, const char *stem, const char *plan_key, size_t r0, size_t r1);

/*
 * Remove the parts that shard index/count made earlier under another plan
 * fingerprint (started with other options or data, or another version):
 * a corrected rerun of a shard replaces its own stale parts.  Returns the
 * number removed.
 */
int embed_part_remove_stale(const char *workdir, int index, int count, const char *plan_key);

/* Remove the temporary files a killed process left for part "<stem>". */
void embed_part_clean_tmp(const char *workdir, const char *stem);

#endif
