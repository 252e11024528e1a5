/* embed_merge.c - coverage check and assembly of the shards' parts. */
#include "embed/embed_merge.h"
#include "embed/embed_shard.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_version.h"
#include "common/vv_work.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* missing parts named in one message */
#define MISSING_SHOWN 8
/* samples.csv is read whole to hash it */
#define SAMPLES_MAX ((size_t)1 << 31)

/* One part manifest found in embeddings/. */
typedef struct part {
	char *stem;    /* "<ckpt>.part-KKKK-of-PPPP" */
	char *ckpt;    /* checkpoint name from the file name */
	int k, p;      /* part number and count from the file name */
	cJSON *json;   /* the manifest */
	int used;      /* matched to a unit of the plan */
} part;

/* One checkpoint of the plan. */
typedef struct plan_ckpt {
	const char *name;        /* checkpoint name */
	const char *fingerprint; /* weights fingerprint */
	size_t nunits;           /* units (= parts) */
	size_t (*unit)[3];       /* r0, r1, owner per unit */
	part **parts;            /* the part of each unit, NULL when missing */
	const cJSON *old;        /* manifest.json entry that already covers it, or NULL */
} plan_ckpt;

/* Everything one merge holds. */
typedef struct merge {
	const char *workdir;
	char *edir, *ldir;  /* <work>/embeddings, <work>/logits */
	part *parts;        /* every part manifest found */
	size_t nparts;
	const part *ref;    /* the part the others are compared with */
	size_t n;           /* rows per checkpoint */
	int count;          /* shards of the plan */
	plan_ckpt *ck;      /* the plan's checkpoints */
	size_t nck;
	cJSON *old;         /* manifest.json, or NULL */
} merge;

int
embed_merge_data_key(const char *workdir, const char *samples_key, char out[40])
{
	char *path = vv_path_join(workdir, "samples.csv"), *buf = NULL;
	uint64_t h = 1469598103934665603ULL;
	size_t len = 0, i;
	int err;

	if (!path)
		return VV_ENOMEM;
	err = vv_read_file(path, SAMPLES_MAX, &buf, &len);
	free(path);
	if (err)
		return err;
	for (i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	for (i = 0; samples_key[i]; i++) {
		h ^= (unsigned char)samples_key[i];
		h *= 1099511628211ULL;
	}
	free(buf);
	snprintf(out, 40, "%016llx", (unsigned long long)h);
	return 0;
}

void
embed_part_clean_tmp(const char *workdir, const char *stem)
{
	static const char *const subs[] = { "embeddings", "logits" };
	size_t i;

	for (i = 0; i < 2; i++) {
		char *d = vv_path_join(workdir, subs[i]);

		if (d)
			(void)vv_clean_stale_tmp(d, stem);
		free(d);
	}
}

/* 1 when <workdir>/<sub>/<stem>.npy is a file. */
static int
part_npy_exists(const char *workdir, const char *sub, const char *stem)
{
	char *p = vv_work_path(workdir, sub, stem, ".npy");
	int ok = p && vv_is_file(p);

	free(p);
	return ok;
}

/* Row range of a part manifest; 0 when malformed. */
static int
part_rows(const cJSON *j, size_t *r0, size_t *r1)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
	double a, b;

	if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != 2 ||
	    vv_json_number(cJSON_GetArrayItem(rows, 0), &a) || vv_json_number(cJSON_GetArrayItem(rows, 1), &b) ||
	    a < 0 || b < a || b > 1e15 || a != (double)(size_t)a || b != (double)(size_t)b)
		return 0;
	*r0 = (size_t)a;
	*r1 = (size_t)b;
	return 1;
}

static int
has_logits(const cJSON *j)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "entry"),
							     "has_logits"));
}

int
embed_part_is_current(const char *workdir, const char *stem, const char *plan_key, size_t r0, size_t r1)
{
	char *p = vv_work_path(workdir, "embeddings", stem, ".json");
	cJSON *j = p && vv_is_file(p) ? vv_json_load(p) : NULL;
	size_t a, b;
	int ok;

	free(p);
	ok = j && !strcmp(vv_json_get_string(j, "vitviz_version", ""), VV_VERSION) &&
	     !strcmp(vv_json_get_string(j, "plan_fingerprint", ""), plan_key) && part_rows(j, &a, &b) &&
	     a == r0 && b == r1 && part_npy_exists(workdir, "embeddings", stem) &&
	     (!has_logits(j) || part_npy_exists(workdir, "logits", stem));
	cJSON_Delete(j);
	vv_error_clear();
	return ok;
}

/* Read every part manifest of embeddings/. */
static int
load_parts(merge *m)
{
	char **names = NULL;
	size_t n = 0, i;
	int err;

	if (!vv_is_dir(m->edir))
		return 0;
	if ((err = vv_list_dir(m->edir, &names, &n)))
		return err;
	m->parts = calloc(n + 1, sizeof(*m->parts));
	if (!m->parts) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		part *pt = &m->parts[m->nparts];
		char *path;

		if (!embed_shard_part_parse(names[i], ".json", &pt->ckpt, &pt->k, &pt->p))
			continue;
		pt->stem = malloc(strlen(names[i]) - 4);
		path = vv_path_join(m->edir, names[i]);
		if (!pt->stem || !path) {
			free(path);
			free(pt->ckpt);
			free(pt->stem);
			memset(pt, 0, sizeof(*pt));
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(pt->stem, names[i], strlen(names[i]) - 5);
		pt->stem[strlen(names[i]) - 5] = 0;
		pt->json = vv_json_load(path);
		free(path);
		m->nparts++;
		if (!pt->json) {
			err = VV_EFORMAT;
			vv_error_prefix("part manifest (a shard killed while writing it? rerun that shard)");
			goto out;
		}
	}
out:
	vv_strv_free(&names, n);
	return err;
}

static void remove_part(const merge *m, const part *pt);
static void merge_release(merge *m);
static const char *pname(const part *pt);

int
embed_part_remove_stale(const char *workdir, int index, int count, const char *plan_key)
{
	merge m = { .workdir = workdir };
	size_t i;
	int removed = 0;

	m.edir = vv_path_join(workdir, "embeddings");
	if (m.edir && load_parts(&m) == 0) {
		for (i = 0; i < m.nparts; i++) {
			const part *pt = &m.parts[i];
			const cJSON *sh = cJSON_GetObjectItemCaseSensitive(pt->json, "shard");

			if (vv_json_get_int(sh, "index", -1) != index || vv_json_get_int(sh, "count", -1) != count ||
			    (!strcmp(vv_json_get_string(pt->json, "plan_fingerprint", ""), plan_key) &&
			     !strcmp(vv_json_get_string(pt->json, "vitviz_version", ""), VV_VERSION)))
				continue;
			vv_info("%s: made by this shard with other options, data or version; removed", pname(pt));
			remove_part(&m, pt);
			removed++;
		}
	}
	vv_error_clear();
	merge_release(&m);
	return removed;
}

/* embeddings/<stem>.json for messages, in a static buffer. */
static const char *
pname(const part *pt)
{
	static char buf[2][600];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "embeddings/%s.json", pt->stem);
	return buf[k];
}

/* The shard ("I/N") that wrote a part, for messages. */
static const char *
pshard(const part *pt)
{
	static char buf[2][64];
	static int k;
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(pt->json, "shard");

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%lld/%lld", vv_json_get_int(sh, "index", -1),
		 vv_json_get_int(sh, "count", -1));
	return buf[k];
}

/* Compare one fingerprint field of a part with the reference part. */
static int
same_field(const merge *m, const part *pt, const char *key, const char *what)
{
	const char *a = vv_json_get_string(m->ref->json, key, ""), *b = vv_json_get_string(pt->json, key, "");

	if (!strcmp(a, b))
		return 0;
	return vv_error(VV_EMISMATCH, "%s (shard %s) and %s (shard %s) were made with different %s "
			"(%s %s vs %s); rerun every shard with the same run, data and options "
			"(a rerun replaces that shard's stale parts)",
			pname(pt), pshard(pt), pname(m->ref), pshard(m->ref), what, key, b, a);
}

/* Version, fields, fingerprints and name of every part; the plan from the reference. */
static int
check_parts(merge *m)
{
	const cJSON *plan, *it;
	size_t i;
	int err;

	for (i = 0; i < m->nparts; i++) {
		const part *pt = &m->parts[i];
		const char *ver = vv_json_get_string(pt->json, "vitviz_version", "");
		size_t r0, r1;

		if (vv_json_get_int(pt->json, "vitviz_part", -1) != EMBED_PART_FORMAT || strcmp(ver, VV_VERSION))
			return vv_error(VV_EMISMATCH, "%s: written by vitviz %s (part format %lld), this is vitviz %s; "
					"rerun shard %s with this version", pname(pt), ver[0] ? ver : "?",
					vv_json_get_int(pt->json, "vitviz_part", -1), VV_VERSION, pshard(pt));
		if (strcmp(vv_json_get_string(pt->json, "checkpoint", ""), pt->ckpt) ||
		    vv_json_get_int(pt->json, "part", -1) != pt->k || vv_json_get_int(pt->json, "parts", -1) != pt->p ||
		    strcmp(vv_json_get_string(pt->json, "dtype", ""), "<f4") || !part_rows(pt->json, &r0, &r1) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(pt->json, "entry")) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(pt->json, "header")) ||
		    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(pt->json, "plan")))
			return vv_error(VV_EFORMAT, "%s: not a part manifest of this file name (fields checkpoint, part, "
					"parts, rows, dtype, entry, header, plan); remove it and rerun shard %s",
					pname(pt), pshard(pt));
	}
	m->ref = &m->parts[0];
	for (i = 1; i < m->nparts; i++) {
		const part *pt = &m->parts[i];

		if ((err = same_field(m, pt, "data_fingerprint", "data (samples.csv)")) ||
		    (err = same_field(m, pt, "options_fingerprint", "options")) ||
		    (err = same_field(m, pt, "plan_fingerprint", "checkpoints, weights or shard count")))
			return err;
	}
	/* the plan every part recorded */
	m->n = (size_t)vv_json_get_int(m->ref->json, "n", 0);
	m->count = (int)vv_json_get_int(cJSON_GetObjectItemCaseSensitive(m->ref->json, "shard"), "count", 0);
	plan = cJSON_GetObjectItemCaseSensitive(m->ref->json, "plan");
	m->nck = (size_t)cJSON_GetArraySize(plan);
	m->ck = calloc(m->nck + 1, sizeof(*m->ck));
	if (!m->ck)
		return vv_error(VV_ENOMEM, "out of memory");
	i = 0;
	cJSON_ArrayForEach(it, plan) {
		plan_ckpt *c = &m->ck[i++];
		const cJSON *units = cJSON_GetObjectItemCaseSensitive(it, "units"), *u;
		size_t k = 0, next = 0;

		c->name = vv_json_get_string(it, "name", NULL);
		c->fingerprint = vv_json_get_string(it, "fingerprint", NULL);
		c->nunits = (size_t)cJSON_GetArraySize(units);
		c->unit = calloc(c->nunits + 1, sizeof(*c->unit));
		c->parts = calloc(c->nunits + 1, sizeof(*c->parts));
		if (!c->unit || !c->parts)
			return vv_error(VV_ENOMEM, "out of memory");
		if (!c->name || !c->fingerprint || !cJSON_IsArray(units) || !c->nunits)
			goto bad_plan;
		cJSON_ArrayForEach(u, units) {
			double v[3];
			int j;

			if (!cJSON_IsArray(u) || cJSON_GetArraySize(u) != 3)
				goto bad_plan;
			for (j = 0; j < 3; j++)
				if (vv_json_number(cJSON_GetArrayItem(u, j), &v[j]) || v[j] < 0 || v[j] > 1e15)
					goto bad_plan;
			c->unit[k][0] = (size_t)v[0];
			c->unit[k][1] = (size_t)v[1];
			c->unit[k][2] = (size_t)v[2];
			/* units tile the rows: contiguous, non-empty, in order */
			if (c->unit[k][0] != next || c->unit[k][1] <= next || c->unit[k][2] >= (size_t)m->count)
				goto bad_plan;
			next = c->unit[k][1];
			k++;
		}
		if (next != m->n)
			goto bad_plan;
	}
	/* samples.csv must still be the data the parts were made from (a shard
	 * started with other data rewrites it) */
	{
		char key[40];
		const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(m->ref->json, "header");

		if ((err = embed_merge_data_key(m->workdir, vv_json_get_string(hdr, "samples_key", ""), key)))
			return err;
		if (strcmp(key, vv_json_get_string(m->ref->json, "data_fingerprint", "")))
			return vv_error(VV_EMISMATCH, "%s/samples.csv is not the sample list the parts were made from "
					"(%s, shard %s); a shard started with other data rewrote it: rerun any shard "
					"with the right data", m->workdir, pname(m->ref), pshard(m->ref));
	}
	return 0;
bad_plan:
	return vv_error(VV_EFORMAT, "%s: its plan is malformed (units must tile rows 0..%zu of every checkpoint); "
			"remove it and rerun shard %s", pname(m->ref), m->n, pshard(m->ref));
}

/* manifest.json's entry for a checkpoint whose merged outputs are current. */
static const cJSON *
covered_entry(const merge *m, const plan_ckpt *c)
{
	const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(m->ref->json, "header"), *it;

	if (!m->old || strcmp(vv_json_get_string(m->old, "samples_key", "?"),
			      vv_json_get_string(hdr, "samples_key", "")) ||
	    strcmp(vv_json_get_string(m->old, "pool", "?"), vv_json_get_string(hdr, "pool", "")) ||
	    vv_json_get_int(m->old, "n", -1) != (long long)m->n)
		return NULL;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m->old, "checkpoints")) {
		char *e, *l;
		int ok;

		if (strcmp(vv_json_get_string(it, "name", ""), c->name) ||
		    strcmp(vv_json_get_string(it, "fingerprint", ""), c->fingerprint))
			continue;
		e = vv_work_path(m->workdir, "embeddings", c->name, ".npy");
		l = vv_work_path(m->workdir, "logits", c->name, ".npy");
		ok = e && l && vv_is_file(e) &&
		     (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "has_logits")) || vv_is_file(l));
		free(e);
		free(l);
		return ok ? it : NULL;
	}
	return NULL;
}

/* Match parts to units; the list of missing ones goes into `msg`. */
static size_t
match_parts(merge *m, char *msg, size_t cap)
{
	size_t c, k, i, missing = 0, len = 0;

	msg[0] = 0;
	for (c = 0; c < m->nck; c++) {
		plan_ckpt *pc = &m->ck[c];

		pc->old = covered_entry(m, pc);
		for (k = 0; k < pc->nunits; k++) {
			for (i = 0; i < m->nparts && !pc->parts[k]; i++) {
				part *pt = &m->parts[i];

				if (!strcmp(pt->ckpt, pc->name) && pt->k == (int)k && pt->p == (int)pc->nunits) {
					pc->parts[k] = pt;
					pt->used = 1;
				}
			}
			if (pc->old || pc->parts[k])
				continue;
			if (missing < MISSING_SHOWN && len + 1 < cap)
				len += (size_t)snprintf(msg + len, cap - len, "%sembeddings/%s.part-%04zu-of-%04zu (shard %zu/%d)",
							missing ? ", " : "", pc->name, k, pc->nunits, pc->unit[k][2], m->count);
			missing++;
		}
	}
	if (missing > MISSING_SHOWN && len + 1 < cap)
		snprintf(msg + len, cap - len, " and %zu more", missing - MISSING_SHOWN);
	return missing;
}

/* Rows, weights, .npy files of every matched part. */
static int
check_matched(const merge *m)
{
	size_t c, k;

	for (c = 0; c < m->nck; c++) {
		const plan_ckpt *pc = &m->ck[c];

		for (k = 0; !pc->old && k < pc->nunits; k++) {
			const part *pt = pc->parts[k];
			size_t r0, r1;

			part_rows(pt->json, &r0, &r1);
			if (r0 != pc->unit[k][0] || r1 != pc->unit[k][1])
				return vv_error(VV_EMISMATCH, "%s: rows %zu..%zu, but the plan gives this part rows %zu..%zu; "
						"remove it and rerun shard %s", pname(pt), r0, r1, pc->unit[k][0],
						pc->unit[k][1], pshard(pt));
			if (strcmp(vv_json_get_string(pt->json, "weights_fingerprint", ""), pc->fingerprint))
				return vv_error(VV_EMISMATCH, "%s: made from other weights of %s than the plan's; rerun shard %s",
						pname(pt), pc->name, pshard(pt));
			if (!part_npy_exists(m->workdir, "embeddings", pt->stem) ||
			    (has_logits(pt->json) && !part_npy_exists(m->workdir, "logits", pt->stem)))
				return vv_error(VV_ENOTFOUND, "%s: its .npy file is missing; rerun shard %s", pname(pt),
						pshard(pt));
		}
	}
	return 0;
}

/* --- the lock ------------------------------------------------------------ */

/* Try to take <work>/.merge.lock: 1 taken, 0 held by a live process, <0 error. */
static int
lock_try(const char *lockdir, char *holder, size_t cap)
{
	char host[256] = "", *owner = vv_path_join(lockdir, "owner"), *buf = NULL, me[320];
	size_t len;
	int tries;

	if (!owner)
		return VV_ENOMEM;
	gethostname(host, sizeof(host) - 1);
	snprintf(me, sizeof(me), "%s %ld\n", host, (long)getpid());
	for (tries = 0; tries < 2; tries++) {
		char ohost[256];
		long opid;

		if (mkdir(lockdir, 0777) == 0) {
			int err = vv_write_file_atomic(owner, me, strlen(me));

			free(owner);
			return err ? err : 1;
		}
		if (errno != EEXIST) {
			int err = vv_error(VV_EIO, "%s: cannot create the merge lock: %s", lockdir, strerror(errno));

			free(owner);
			return err;
		}
		/* held: by a process of this host that is gone? */
		snprintf(holder, cap, "another process");
		if (vv_read_file(owner, 1024, &buf, &len) == 0 && sscanf(buf, "%255s %ld", ohost, &opid) == 2) {
			snprintf(holder, cap, "%s pid %ld", ohost, opid);
			if (!strcmp(ohost, host) && opid > 0 && kill((pid_t)opid, 0) != 0 && errno == ESRCH) {
				vv_warn("%s: breaking the lock of merge process %ld, which is gone", lockdir, opid);
				unlink(owner);
				rmdir(lockdir);
				free(buf);
				buf = NULL;
				continue;
			}
		}
		vv_error_clear();
		free(buf);
		buf = NULL;
		break;
	}
	free(owner);
	return 0;
}

static void
lock_release(const char *lockdir)
{
	char *owner = vv_path_join(lockdir, "owner");

	if (owner)
		unlink(owner);
	free(owner);
	rmdir(lockdir);
}

/* --- assembly ------------------------------------------------------------ */

/*
 * Concatenate the parts of one checkpoint under `sub` into `dst` (a staging
 * name beside <sub>/<name>.npy); every part must be float32 rows x `cols`.
 */
static int
assemble(const merge *m, const plan_ckpt *pc, const char *sub, int64_t cols, const char *dst)
{
	vv_array *a = NULL;
	float *all = NULL;
	int64_t shape[2];
	size_t k;
	int err = 0;

	if (cols < 1 || m->n > SIZE_MAX / sizeof(float) / (size_t)cols ||
	    !(all = malloc(m->n * (size_t)cols * sizeof(float) + 1)))
		return vv_error(VV_ENOMEM, "%s: out of memory for %zu x %lld", pc->name, m->n, (long long)cols);
	for (k = 0; k < pc->nunits; k++) {
		const part *pt = pc->parts[k];
		size_t rows = pc->unit[k][1] - pc->unit[k][0];
		char *p = vv_work_path(m->workdir, sub, pt->stem, ".npy");

		if (!p) {
			err = VV_ENOMEM;
			goto out;
		}
		err = vv_npy_read(p, &a);
		free(p);
		if (err) {
			vv_error_prefix("rerun shard %s", pshard(pt));
			goto out;
		}
		if (a->dtype != VV_F32 || a->ndim != 2 || a->shape[0] != (int64_t)rows || a->shape[1] != cols) {
			err = vv_error(VV_EMISMATCH, "%s/%s.npy: shape (%lld, %lld), its manifest says (%zu, %lld) float32; "
				       "rerun shard %s", sub, pt->stem, (long long)a->shape[0],
				       (long long)(a->ndim > 1 ? a->shape[1] : 0), rows, (long long)cols, pshard(pt));
			goto out;
		}
		memcpy(all + pc->unit[k][0] * (size_t)cols, a->data, rows * (size_t)cols * sizeof(float));
		vv_array_free(&a);
	}
	shape[0] = (int64_t)m->n;
	shape[1] = cols;
	err = vv_npy_write(dst, VV_F32, all, 2, shape);
out:
	vv_array_free(&a);
	free(all);
	return err;
}

/*
 * Every checkpoint not yet merged into staging files "<sub>/<name>.npy.tmp.
 * <pid>.merged", then all renamed onto their names: a bad part leaves no
 * assembled file behind.
 */
static int
assemble_all(const merge *m, size_t *assembled)
{
	size_t c, nst = 0, i;
	char **stage = calloc(2 * m->nck + 1, sizeof(char *)), **final = calloc(2 * m->nck + 1, sizeof(char *));
	char ext[64];
	int err = 0, s;

	*assembled = 0;
	if (!stage || !final) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(ext, sizeof(ext), ".npy.tmp.%ld.merged", (long)getpid());
	for (c = 0; c < m->nck && !err; c++) {
		const plan_ckpt *pc = &m->ck[c];
		const cJSON *entry;

		if (pc->old)
			continue;
		entry = cJSON_GetObjectItemCaseSensitive(pc->parts[0]->json, "entry");
		for (s = 0; s < 2 && !err; s++) {
			const char *sub = s ? "logits" : "embeddings";
			/* logits: one column per name of "id2label" (the data set's
			 * classes after embed's label matching) */
			int64_t cols = s ? (int64_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(entry, "id2label"))
					 : vv_json_get_int(entry, "dim", -1);

			if (s && !has_logits(pc->parts[0]->json))
				continue;
			stage[nst] = vv_work_path(m->workdir, sub, pc->name, ext);
			final[nst] = vv_work_path(m->workdir, sub, pc->name, ".npy");
			if (!stage[nst] || !final[nst++]) {
				err = vv_error(VV_ENOMEM, "out of memory");
				break;
			}
			err = assemble(m, pc, sub, cols, stage[nst - 1]);
			if (err)
				unlink(stage[nst - 1]);
		}
		(*assembled)++;
	}
	for (i = 0; i < nst; i++) {
		if (!err && rename(stage[i], final[i]) != 0)
			err = vv_error(VV_EIO, "%s: cannot rename the assembled file: %s", final[i], strerror(errno));
		if (err && stage[i])
			unlink(stage[i]);
	}
out:
	for (i = 0; stage && final && i < 2 * m->nck; i++) {
		free(stage[i]);
		free(final[i]);
	}
	free(stage);
	free(final);
	return err;
}

/* manifest.json: the header of the last checkpoint's last part + every entry. */
static int
write_manifest(const merge *m)
{
	const part *last = NULL;
	cJSON *doc, *entries;
	char *path;
	size_t c;
	int err;

	for (c = 0; c < m->nck; c++)
		if (!m->ck[c].old)
			last = m->ck[c].parts[m->ck[c].nunits - 1];
	doc = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive((last ? last : m->ref)->json, "header"), 1);
	entries = cJSON_CreateArray();
	path = vv_path_join(m->workdir, "manifest.json");
	if (!doc || !entries || !path) {
		cJSON_Delete(doc);
		cJSON_Delete(entries);
		free(path);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	for (c = 0; c < m->nck; c++)
		cJSON_AddItemToArray(entries, cJSON_Duplicate(m->ck[c].old ? m->ck[c].old :
					cJSON_GetObjectItemCaseSensitive(m->ck[c].parts[0]->json, "entry"), 1));
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "checkpoints");
	cJSON_AddItemToObject(doc, "checkpoints", entries);
	err = vv_json_save(path, doc);
	cJSON_Delete(doc);
	free(path);
	if (!err)
		err = vv_checkpoints_csv_write(m->workdir);
	return err;
}

/* Remove a part's files, manifest last. */
static void
remove_part(const merge *m, const part *pt)
{
	static const char *const files[][2] = { { "logits", ".npy" }, { "embeddings", ".npy" }, { "embeddings", ".json" } };
	size_t i;

	for (i = 0; i < 3; i++) {
		char *p = vv_work_path(m->workdir, files[i][0], pt->stem, files[i][1]);

		if (p)
			unlink(p);
		free(p);
	}
}

static void
merge_release(merge *m)
{
	size_t i;

	for (i = 0; i < m->nparts; i++) {
		free(m->parts[i].stem);
		free(m->parts[i].ckpt);
		cJSON_Delete(m->parts[i].json);
	}
	free(m->parts);
	for (i = 0; m->ck && i < m->nck; i++) {
		free(m->ck[i].unit);
		free(m->ck[i].parts);
	}
	free(m->ck);
	free(m->edir);
	free(m->ldir);
	cJSON_Delete(m->old);
	memset(m, 0, sizeof(*m));
}

/* One pass: scan, check, and (holding the lock) assemble. */
static int
merge_once(const char *workdir, const embed_merge_opts *o, int *state, int *retry)
{
	merge m = { .workdir = workdir };
	char missing[2048], holder[320] = "", *mpath = NULL, *lockdir = NULL;
	size_t k, nmiss, assembled = 0;
	int err, locked = 0;
	double t0 = vv_now();

	*retry = 0;
	m.edir = vv_path_join(workdir, "embeddings");
	m.ldir = vv_path_join(workdir, "logits");
	mpath = vv_path_join(workdir, "manifest.json");
	lockdir = vv_path_join(workdir, ".merge.lock");
	if (!m.edir || !m.ldir || !mpath || !lockdir) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = load_parts(&m)))
		goto out;
	if (m.nparts == 0) {
		*state = vv_is_file(mpath) ? EMBED_MERGE_ALREADY : EMBED_MERGE_NONE;
		goto out;
	}
	if ((err = check_parts(&m)))
		goto out;
	if (vv_is_file(mpath) && !(m.old = vv_json_load(mpath)))
		vv_error_clear(); /* an unreadable manifest covers nothing */
	nmiss = match_parts(&m, missing, sizeof(missing));
	if (nmiss) {
		*state = EMBED_MERGE_INCOMPLETE;
		if (o->if_complete) {
			vv_info("merge: %zu part(s) still to come (%s); the last shard to finish merges", nmiss, missing);
			goto out;
		}
		err = vv_error(VV_ENOTFOUND, "%s is incomplete: %zu part(s) missing: %s; run (or rerun) those shards, "
			       "then vitviz merge %s", workdir, nmiss, missing, workdir);
		goto out;
	}
	for (k = 0; k < m.nparts; k++) {
		if (!m.parts[k].used) {
			err = vv_error(VV_EMISMATCH, "%s (shard %s) is not a part of the plan the others share "
				       "(duplicated or from another shard count); remove it", pname(&m.parts[k]),
				       pshard(&m.parts[k]));
			goto out;
		}
	}
	if ((err = check_matched(&m)))
		goto out;

	err = lock_try(lockdir, holder, sizeof(holder));
	if (err < 0)
		goto out;
	if (err == 0) {
		*state = EMBED_MERGE_BUSY;
		if (o->if_complete)
			vv_info("merge: %s is merging %s; leaving it to that process", holder, workdir);
		else
			*retry = 1;
		goto out;
	}
	locked = 1;
	err = 0;
	/* the folder may have changed between the scan and the lock */
	merge_release(&m);
	m = (merge){ .workdir = workdir };
	m.edir = vv_path_join(workdir, "embeddings");
	m.ldir = vv_path_join(workdir, "logits");
	if (!m.edir || !m.ldir) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = load_parts(&m)))
		goto out;
	if (m.nparts == 0) {
		*state = EMBED_MERGE_ALREADY;
		goto out;
	}
	if ((err = check_parts(&m)))
		goto out;
	if (vv_is_file(mpath) && !(m.old = vv_json_load(mpath)))
		vv_error_clear();
	if ((nmiss = match_parts(&m, missing, sizeof(missing)))) {
		*state = EMBED_MERGE_INCOMPLETE;
		if (!o->if_complete)
			err = vv_error(VV_ENOTFOUND, "%s is incomplete: %zu part(s) missing: %s", workdir, nmiss, missing);
		goto out;
	}
	if ((err = check_matched(&m)))
		goto out;
	err = assemble_all(&m, &assembled);
	if (!err)
		err = write_manifest(&m);
	if (err)
		goto out;
	/* the merged files are committed: the parts (and any leftovers of
	 * checkpoints merged before) can go */
	for (k = 0; k < m.nparts; k++)
		remove_part(&m, &m.parts[k]);
	*state = EMBED_MERGE_DONE;
	vv_info("merge: %zu checkpoint(s) assembled from %zu part(s) of %d shard(s) in %.2f s -> %s", assembled,
		m.nparts, m.count, vv_now() - t0, workdir);
out:
	if (locked)
		lock_release(lockdir);
	merge_release(&m);
	free(mpath);
	free(lockdir);
	return err;
}

int
embed_merge(const char *workdir, const embed_merge_opts *o, int *state)
{
	int st = EMBED_MERGE_NONE, retry = 0, err;
	double start = vv_now(), wait = o->wait_s > 0 ? o->wait_s : 600;

	for (;;) {
		err = merge_once(workdir, o, &st, &retry);
		if (err || !retry)
			break;
		if (vv_now() - start > wait) {
			err = vv_error(VV_EIO, "%s/.merge.lock: held for more than %.0f s; if no merge is running, "
				       "remove that folder", workdir, wait);
			break;
		}
		usleep(200 * 1000);
	}
	if (state)
		*state = st;
	return err;
}
