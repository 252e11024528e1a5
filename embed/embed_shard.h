/*
 * embed_shard.h - splitting the embedding over N processes (Slurm array
 * tasks, srun/mpirun ranks, torchrun workers) that share a work folder.
 *
 * Shard I of N (0 <= I < N) comes from `--shard I/N` or, without it, from
 * the launcher's environment.  The work is a list of units, each a row
 * range of one checkpoint; every shard computes the same plan from the
 * same inputs (checkpoint list, weights sizes, sample count, batch size),
 * so no process talks to another: they only share the work folder.
 *
 * The plan: the rows of all checkpoints, in step order, form one sequence
 * of batch-sized blocks (block boundaries at multiples of the batch size
 * within each checkpoint, exactly where a single process would cut its
 * batches); each block costs rows x the checkpoint's weights size (a
 * stand-in for its FLOPs per image).  The sequence is cut into N
 * contiguous pieces of equal cost (a block goes to the piece holding the
 * middle of its cost), and a piece's blocks of one checkpoint form one
 * unit.  So every shard gets 1/N of the cost to within one block, at most
 * N + T - 1 units exist for T checkpoints, and a shard loads at most
 * ceil(T / N) + 1 models.  The parts of checkpoint c are its units in row
 * order, named "<ckpt>.part-KKKK-of-PPPP" (K from 0).
 */
#ifndef EMBED_SHARD_H
#define EMBED_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* Which shard this process is. */
typedef struct embed_shard {
	int index;          /* I, 0 <= I < count */
	int count;          /* N; 0 when not sharded */
	char source[96];    /* "--shard" or the environment variables used */
} embed_shard;

/*
 * Parse "I/N" (0 <= I < N <= 100000) into *sh (source "--shard").
 * VV_EINVAL with a message on anything else.
 */
int embed_shard_parse(const char *s, embed_shard *sh);

/*
 * The shard the launcher's environment gives, tried in this order:
 * SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (or _MIN/_MAX and
 * _STEP), SLURM_PROCID/SLURM_NTASKS (only inside an srun step:
 * SLURM_STEP_ID set), OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE,
 * PMI_RANK/PMI_SIZE, RANK/WORLD_SIZE.  Returns 1 with *sh filled when one
 * is present, 0 when none is (sh->count = 0), or VV_EINVAL naming the
 * variables when they are malformed or the rank is out of range.
 */
int embed_shard_from_env(embed_shard *sh);

/*
 * `--shard` when given (opt not NULL), else the environment.  A count of 1
 * from the environment means "not sharded" (a plain run inside a one-task
 * allocation); `--shard 0/1` is a one-shard run that writes parts.
 */
int embed_shard_resolve(const char *opt, embed_shard *sh);

/* One unit of work: rows [r0, r1) of one checkpoint. */
typedef struct embed_shard_unit {
	size_t ckpt;   /* checkpoint index (step order) */
	int part;      /* part number within the checkpoint, from 0 */
	int parts;     /* parts of that checkpoint */
	size_t r0, r1; /* row range */
	int owner;     /* shard that computes it */
} embed_shard_unit;

typedef struct embed_shard_plan {
	size_t nunits;          /* number of units */
	embed_shard_unit *unit; /* units, checkpoint-major, rows ascending */
	int count;              /* N the plan was made for */
} embed_shard_plan;

/*
 * Make the plan for `nckpt` checkpoints of `nrows` rows each, cost per
 * row `cost[c]` (> 0; 0 is taken as 1), blocks of `align` rows, `count`
 * shards.  Deterministic: same inputs, same plan.
 */
int embed_shard_plan_make(const uint64_t *cost, size_t nckpt, size_t nrows, size_t align, int count,
			  embed_shard_plan **pp);

/* Free *pp and set it to NULL (NULL-safe). */
void embed_shard_plan_free(embed_shard_plan **pp);

/* "<ckpt>.part-KKKK-of-PPPP" + ext, malloc'd (NULL on allocation failure). */
char *embed_shard_part_name(const char *ckpt, int part, int parts, const char *ext);

/*
 * Parse a part file name "<ckpt>.part-KKKK-of-PPPP<ext>": 1 with the
 * checkpoint name (malloc'd into *ckpt), part and parts filled, else 0.
 */
int embed_shard_part_parse(const char *name, const char *ext, char **ckpt, int *part, int *parts);

#endif
