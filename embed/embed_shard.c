/* embed_shard.c - shard identity (option or launcher environment) and the
 * deterministic plan of (checkpoint, row range) units. */
#include "embed/embed_shard.h"
#include "common/vv_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_MAX 100000

/* A non-negative decimal integer filling the whole string; -1 otherwise. */
static long long
parse_uint(const char *s)
{
	char *end;
	long long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || v < 0)
		return -1;
	return v;
}

int
embed_shard_parse(const char *s, embed_shard *sh)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char ibuf[24];
	long long i, n;
	size_t len;

	memset(sh, 0, sizeof(*sh));
	if (!slash || (len = (size_t)(slash - s)) == 0 || len >= sizeof(ibuf))
		goto bad;
	memcpy(ibuf, s, len);
	ibuf[len] = 0;
	i = parse_uint(ibuf);
	n = parse_uint(slash + 1);
	if (i < 0 || n < 1 || n > SHARD_MAX || i >= n)
		goto bad;
	sh->index = (int)i;
	sh->count = (int)n;
	snprintf(sh->source, sizeof(sh->source), "--shard");
	return 0;
bad:
	return vv_error(VV_EINVAL, "--shard must be I/N with 0 <= I < N <= %d, not \"%s\"", SHARD_MAX,
			s ? s : "");
}

/* Rank and size from two variables; 1 found, 0 absent, VV_EINVAL malformed. */
static int
env_pair(const char *rank_var, const char *size_var, embed_shard *sh)
{
	const char *r = getenv(rank_var), *n = getenv(size_var);
	long long ri, ni;

	if (!r || !n)
		return 0;
	ri = parse_uint(r);
	ni = parse_uint(n);
	if (ri < 0 || ni < 1 || ni > SHARD_MAX || ri >= ni)
		return vv_error(VV_EINVAL, "%s=%s and %s=%s do not name a shard (need 0 <= rank < size <= %d)",
				rank_var, r, size_var, n, SHARD_MAX);
	sh->index = (int)ri;
	sh->count = (int)ni;
	snprintf(sh->source, sizeof(sh->source), "%s/%s", rank_var, size_var);
	return 1;
}

/* A Slurm job array task: I from the task id, N from the count or the range. */
static int
env_slurm_array(embed_shard *sh)
{
	const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
	const char *mn = getenv("SLURM_ARRAY_TASK_MIN"), *mx = getenv("SLURM_ARRAY_TASK_MAX");
	const char *st = getenv("SLURM_ARRAY_TASK_STEP");
	long long i = parse_uint(id), lo = mn ? parse_uint(mn) : 0, hi = mx ? parse_uint(mx) : -1;
	long long step = st ? parse_uint(st) : 1, n = cnt ? parse_uint(cnt) : -1;

	if (!id)
		return 0;
	if (!cnt && !mx)
		return vv_error(VV_EINVAL, "SLURM_ARRAY_TASK_ID=%s without SLURM_ARRAY_TASK_COUNT or "
				"SLURM_ARRAY_TASK_MAX: cannot tell the number of shards (use --shard I/N)", id);
	if (i < 0 || lo < 0 || step < 1 || (cnt && n < 1) || (!cnt && hi < lo))
		goto bad;
	if (n < 1)
		n = (hi - lo) / step + 1;
	if (i < lo || (i - lo) % step || (i - lo) / step >= n || n > SHARD_MAX)
		goto bad;
	sh->index = (int)((i - lo) / step);
	sh->count = (int)n;
	snprintf(sh->source, sizeof(sh->source), "SLURM_ARRAY_TASK_ID/%s",
		 cnt ? "SLURM_ARRAY_TASK_COUNT" : "SLURM_ARRAY_TASK_MIN+MAX");
	return 1;
bad:
	return vv_error(VV_EINVAL, "SLURM_ARRAY_TASK_ID=%s (count %s, min %s, max %s, step %s) does not name "
			"a shard; use --shard I/N", id, cnt ? cnt : "-", mn ? mn : "-", mx ? mx : "-",
			st ? st : "-");
}

int
embed_shard_from_env(embed_shard *sh)
{
	int r;

	memset(sh, 0, sizeof(*sh));
	if ((r = env_slurm_array(sh)))
		return r;
	/* SLURM_PROCID/SLURM_NTASKS are also set in a batch script, where one
	 * process runs: only an srun step (SLURM_STEP_ID) is a set of ranks */
	if (getenv("SLURM_STEP_ID") && (r = env_pair("SLURM_PROCID", "SLURM_NTASKS", sh)))
		return r;
	if ((r = env_pair("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", sh)))
		return r;
	if ((r = env_pair("PMI_RANK", "PMI_SIZE", sh)))
		return r;
	return env_pair("RANK", "WORLD_SIZE", sh);
}

int
embed_shard_resolve(const char *opt, embed_shard *sh)
{
	int r;

	if (opt)
		return embed_shard_parse(opt, sh);
	r = embed_shard_from_env(sh);
	if (r < 0)
		return r;
	if (r == 1 && sh->count == 1)
		sh->count = 0; /* one task: the plain, unsharded stage */
	return 0;
}

int
embed_shard_plan_make(const uint64_t *cost, size_t nckpt, size_t nrows, size_t align, int count,
		      embed_shard_plan **pp)
{
	embed_shard_plan *p;
	unsigned __int128 total = 0, cum = 0;
	size_t c, b, nb, cap;

	*pp = NULL;
	if (count < 1 || align < 1)
		return vv_error(VV_EINVAL, "shard plan: %d shards, blocks of %zu rows", count, align);
	nb = (nrows + align - 1) / align;
	for (c = 0; c < nckpt; c++)
		total += (unsigned __int128)(cost[c] ? cost[c] : 1) * nrows;
	/* at most one unit per (checkpoint, block) */
	cap = nckpt * nb + 1;
	if (nb && cap / nb < nckpt)
		return vv_error(VV_ENOMEM, "shard plan: too many blocks");
	p = calloc(1, sizeof(*p));
	if (!p || !(p->unit = calloc(cap, sizeof(*p->unit)))) {
		free(p);
		return vv_error(VV_ENOMEM, "shard plan: out of memory");
	}
	p->count = count;
	for (c = 0; c < nckpt; c++) {
		size_t first = p->nunits;
		uint64_t w = cost[c] ? cost[c] : 1;
		int k;

		for (b = 0; b < nb; b++) {
			size_t r0 = b * align, r1 = r0 + align < nrows ? r0 + align : nrows;
			unsigned __int128 bc = (unsigned __int128)w * (r1 - r0);
			/* the shard whose equal-cost slice holds the block's middle */
			unsigned __int128 mid2 = 2 * cum + bc;
			int owner = (int)(mid2 * (unsigned)count / (2 * total));

			if (owner >= count)
				owner = count - 1;
			cum += bc;
			if (p->nunits > first && p->unit[p->nunits - 1].owner == owner) {
				p->unit[p->nunits - 1].r1 = r1;
				continue;
			}
			p->unit[p->nunits++] = (embed_shard_unit){ .ckpt = c, .r0 = r0, .r1 = r1, .owner = owner };
		}
		for (k = 0; first + (size_t)k < p->nunits; k++) {
			p->unit[first + (size_t)k].part = k;
			p->unit[first + (size_t)k].parts = (int)(p->nunits - first);
		}
	}
	*pp = p;
	return 0;
}

void
embed_shard_plan_free(embed_shard_plan **pp)
{
	if (!*pp)
		return;
	free((*pp)->unit);
	free(*pp);
	*pp = NULL;
}

char *
embed_shard_part_name(const char *ckpt, int part, int parts, const char *ext)
{
	size_t len = strlen(ckpt) + strlen(ext) + 48;
	char *s = malloc(len);

	if (!s) {
		vv_error(VV_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(s, len, "%s.part-%04d-of-%04d%s", ckpt, part, parts, ext);
	return s;
}

int
embed_shard_part_parse(const char *name, const char *ext, char **ckpt, int *part, int *parts)
{
	size_t len = strlen(name), el = strlen(ext), tail = strlen(".part-0000-of-0000");
	const char *t;
	char buf[32];
	long long k, n;

	*ckpt = NULL;
	if (len < el + tail + 1 || strcmp(name + len - el, ext))
		return 0;
	/* the numbers are at least 4 digits: find ".part-" from the right */
	for (t = name + len - el; t > name && strncmp(t, ".part-", 6); t--)
		;
	if (t == name || (size_t)(name + len - el - t) >= sizeof(buf))
		return 0;
	memcpy(buf, t + 6, (size_t)(name + len - el - t - 6));
	buf[name + len - el - t - 6] = 0;
	{
		char *of = strstr(buf, "-of-");

		if (!of)
			return 0;
		*of = 0;
		k = parse_uint(buf);
		n = parse_uint(of + 4);
	}
	if (k < 0 || n < 1 || k >= n || n > SHARD_MAX * 1000LL)
		return 0;
	*ckpt = malloc((size_t)(t - name) + 1);
	if (!*ckpt)
		return 0;
	memcpy(*ckpt, name, (size_t)(t - name));
	(*ckpt)[t - name] = 0;
	*part = (int)k;
	*parts = (int)n;
	return 1;
}
