/* analysis_cartography.c - Dataset Cartography's per-epoch jsonl from the logits. */
#include "analysis/analysis_cartography.h"
#include "analysis/analysis_input.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_log.h"
#include "common/vv_work.h"

#include <stdio.h>
#include <stdlib.h>

/* dynamics_epoch_<f>.jsonl of checkpoint f. */
static int
write_epoch(const char *workdir, const vv_manifest *m, const vv_samples *s, size_t f, const char *dir)
{
	vv_array *lg = NULL;
	vv_outfile *of = NULL;
	char name[64], *p = NULL;
	int64_t i, j, c;
	int err;

	if ((err = analysis_read_matrix(workdir, m, f, "logits", (int64_t)s->n, -1, &lg)))
		return err;
	snprintf(name, sizeof(name), "dynamics_epoch_%zu.jsonl", f);
	if (!(p = vv_path_join(dir, name))) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((err = vv_outfile_open(&of, p)))
		goto out_free;
	c = lg->shape[1];
	for (i = 0; i < (int64_t)s->n; i++) {
		const float *row = (const float *)lg->data + i * c;

		fprintf(of->fp, "{\"guid\": %lld, \"logits_epoch_%zu\": [", (long long)i, f);
		for (j = 0; j < c; j++)
			fprintf(of->fp, j ? ", %.9g" : "%.9g", (double)row[j]);
		fprintf(of->fp, "], \"gold\": %d}\n", s->label[i]);
	}
	err = vv_outfile_commit(&of);
out_free:
	vv_outfile_abort(&of);
	free(p);
	vv_array_free(&lg);
	return err;
}

int
analysis_cartography_export(const char *workdir, const char *dir)
{
	vv_manifest *m = NULL;
	vv_samples *s = NULL;
	vv_progress *prog = NULL;
	size_t f;
	int err;

	if ((err = vv_manifest_load(workdir, &m)) || (err = vv_samples_load(workdir, &s)))
		goto out_free;
	if (m->nckpt == 0) {
		err = vv_error(VV_ENOTFOUND, "%s/manifest.json: lists no checkpoints", workdir);
		goto out_free;
	}
	for (f = 0; f < m->nckpt; f++) {
		if (!m->ckpt[f].has_logits || !m->ckpt[f].logits_match) {
			err = vv_error(VV_EUNSUPPORTED, "%s: checkpoint %s has %s; the Cartography export needs logits "
							"of the dataset's classes at every checkpoint", workdir,
				       m->ckpt[f].name, m->ckpt[f].has_logits ? "a head with other classes" : "no logits");
			goto out_free;
		}
	}
	if ((err = vv_mkdir_p(dir)))
		goto out_free;
	prog = vv_progress_alloc("cartography", (int64_t)m->nckpt, "checkpoints");
	for (f = 0; f < m->nckpt && !err; f++) {
		err = write_epoch(workdir, m, s, f, dir);
		vv_progress_update(prog, (int64_t)f + 1);
	}
	vv_progress_free(&prog);
	if (!err)
		vv_info("%s: dynamics_epoch_0..%zu.jsonl (Dataset Cartography's format)", dir, m->nckpt - 1);
out_free:
	vv_samples_free(&s);
	vv_manifest_free(&m);
	return err;
}
