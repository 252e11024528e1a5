/* fuzz_targets.c - the parser entry points behind fuzz_targets.h. */
#include "tests/fuzz/fuzz_targets.h"

#include <fcntl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/analysis_loss.h"
#include "common/vv_csv.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "common/vv_json.h"
#include "common/vv_log.h"
#include "common/vv_npy.h"
#include "common/vv_work.h"
#include "embed/models/embed_config.h"
#include "embed/models/embed_swin.h"
#include "embed/images/embed_dataset.h"
#include "embed/images/embed_decode.h"
#include "embed/images/embed_image.h"
#include "embed/formats/embed_pickle.h"
#include "embed/formats/embed_pt.h"
#include "embed/formats/embed_safetensors.h"
#include "embed/formats/embed_tensors.h"
#include "embed/formats/embed_timm_args.h"
#include "embed/embed_labels.h"
#include "embed/embed_merge.h"
#include "embed/embed_shard.h"

/* A private folder for the parsers that read files, removed at exit. */
static char tmpdir[64];

static void
remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", tmpdir);
}

/* Write the input to <tmpdir>/<name>; return the path (static buffer) or NULL. */
static const char *
put_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[256];
	size_t off = 0;
	int fd;

	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

		snprintf(tmpdir, sizeof(tmpdir), "%.40s/vv_fuzz.XXXXXX", base);
		if (!mkdtemp(tmpdir)) {
			tmpdir[0] = '\0';
			return NULL;
		}
		atexit(remove_tmpdir);
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0) {
			close(fd);
			return NULL;
		}
		off += (size_t)w;
	}
	close(fd);
	return path;
}

static void
quiet(void)
{
	vv_verbosity = 0;
}

static int
t_safetensors(const uint8_t *data, size_t size)
{
	embed_tensors *t = NULL;
	int err;

	quiet();
	if (embed_tensors_alloc(&t))
		return VV_ENOMEM;
	err = embed_safetensors_parse("fuzz.safetensors", data, size, t);
	embed_tensors_free(&t);
	return err;
}

static int
t_st_index(const uint8_t *data, size_t size)
{
	const char *p = put_file("model.safetensors.index.json", data, size);
	char **files = NULL;
	size_t n = 0;
	int err;

	quiet();
	if (!p)
		return VV_EIO;
	err = embed_safetensors_index_files(p, &files, &n);
	if (!err)
		vv_strv_free(&files, n);
	return err;
}

/* The zip reader, the unpickler and the tensor rebuild of torch.save files. */
static int
t_pt(const uint8_t *data, size_t size)
{
	const char *p = put_file("fuzz.pt", data, size);
	embed_pt_opts o = { .ema = size && (data[size - 1] & 1) };
	embed_pt_info info = { .epoch = -1 };
	embed_tensors *t = NULL;
	int err;

	quiet();
	if (!p)
		return VV_EIO;
	err = embed_pt_load(p, &o, &t, &info);
	embed_tensors_free(&t);
	embed_pt_info_reset(&info);
	return err;
}

static int
t_pickle(const uint8_t *data, size_t size)
{
	embed_pkl_doc *d = NULL;
	size_t used = 0;
	int err;

	quiet();
	err = embed_pickle_load("fuzz.pkl", data, size, &d);
	embed_pickle_free(&d);
	if (!embed_pickle_load_prefix("fuzz.pkl", data, size, &d, &used) && used > size)
		abort(); /* the prefix cannot extend past the input */
	embed_pickle_free(&d);
	return err;
}

static int
t_json(const uint8_t *data, size_t size)
{
	cJSON *j;
	double v;

	quiet();
	j = vv_json_parse("fuzz.json", (const char *)data, size);
	if (!j)
		return VV_EFORMAT;
	(void)vv_json_number(j, &v);
	(void)vv_json_get_double(j, "loss", 0);
	(void)vv_json_get_int(j, "step", 0);
	(void)vv_json_get_string(j, "model", NULL);
	cJSON_Delete(j);
	return 0;
}

static int
t_config(const uint8_t *data, size_t size)
{
	embed_vit_config *c = NULL;
	embed_preproc pp;
	int err;

	quiet();
	err = embed_vit_config_parse("config.json", (const char *)data, size, &c);
	if (!err) {
		int w, h;

		embed_preproc_defaults(&pp, c);
		(void)embed_preproc_out_size(&pp, &w, &h);
	}
	embed_vit_config_free(&c);
	return err;
}

static int
t_swin_config(const uint8_t *data, size_t size)
{
	embed_vit_config *labels = calloc(1, sizeof(*labels));
	embed_swin_config c;
	int err;

	quiet();
	if (!labels)
		return VV_ENOMEM;
	err = embed_swin_config_parse("config.json", (const char *)data, size, &c, labels);
	if (!err) {
		char name[96];
		int s, r, ws, sh;

		embed_swin_display_name(&c, name, sizeof(name));
		for (s = 0; s < c.stages; s++)
			embed_swin_stage_geometry(&c, s, &r, &ws, &sh);
	}
	embed_vit_config_free(&labels);
	return err;
}

static int
t_preproc(const uint8_t *data, size_t size)
{
	embed_vit_config *c = NULL;
	embed_preproc pp;
	int err, w, h;

	quiet();
	err = embed_vit_config_parse("config.json", "{}", 2, &c);
	if (err)
		return err;
	err = embed_preproc_parse("preprocessor_config.json", (const char *)data, size, c, &pp);
	if (!err)
		(void)embed_preproc_out_size(&pp, &w, &h);
	embed_vit_config_free(&c);
	return err;
}

static int
loss(const char *kind, const uint8_t *data, size_t size)
{
	analysis_loss_log *l = NULL;
	int err;

	err = analysis_loss_parse("fuzz.log", kind, (const char *)data, size, &l);
	if (!err && l->n) {
		(void)analysis_loss_at(l, l->pt[l->n / 2].step, ANALYSIS_LOSS_HAS_LOSS);
		(void)analysis_loss_find(l, l->pt[0].step);
	}
	analysis_loss_free(&l);
	return err;
}

static int
t_trainer_state(const uint8_t *data, size_t size)
{
	quiet();
	(void)loss(NULL, data, size);
	return loss("trainer_state", data, size);
}

static int
t_args_yaml(const uint8_t *data, size_t size)
{
	embed_timm_args a;
	int err;

	quiet();
	embed_timm_args_init(&a);
	err = embed_timm_args_parse("args.yaml", (const char *)data, size, &a);
	embed_timm_args_reset(&a);
	return err;
}

/* timm's summary.csv, a user step,loss CSV, and the CSV reader itself. */
static int
t_summary_csv(const uint8_t *data, size_t size)
{
	vv_csv *c = NULL;

	quiet();
	if (!vv_csv_parse("fuzz.csv", (const char *)data, size, &c))
		(void)vv_csv_col(c, "loss");
	vv_csv_free(&c);
	(void)loss("csv", data, size);
	return loss("timm_summary", data, size);
}

/*
 * A CIFAR batch file: the first byte picks the name (and so CIFAR-10 or
 * -100), the rest is the file.  Decodes the first few records.
 */
static int
t_cifar(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "test_batch.bin", "test.bin", "batch.bin" };
	embed_dataset_opts o = { .per_class = 2 };
	embed_dataset *d = NULL;
	const char *p;
	size_t i;
	int err;

	quiet();
	if (!size)
		return VV_EINVAL;
	p = put_file(names[data[0] % 3], data + 1, size - 1);
	if (!p)
		return VV_EIO;
	err = embed_dataset_open(p, &o, &d);
	for (i = 0; !err && i < d->n && i < 4; i++) {
		embed_image *img = NULL;

		err = embed_dataset_load(d, i, &img);
		embed_image_free(&img);
	}
	embed_dataset_free(&d);
	unlink(p);
	return err;
}

static int
t_jpeg(const uint8_t *data, size_t size)
{
	embed_image *img = NULL;
	int err;

	quiet();
	err = embed_decode_jpeg("fuzz.jpg", data, size, &img);
	embed_image_free(&img);
	/* the sniffing front end too */
	if (!embed_image_decode("fuzz.img", data, size, &img))
		embed_image_free(&img);
	return err;
}

static int
t_png(const uint8_t *data, size_t size)
{
	embed_image *img = NULL;
	int err;

	quiet();
	err = embed_decode_png("fuzz.png", data, size, &img);
	embed_image_free(&img);
	return err;
}

static int
t_npy(const uint8_t *data, size_t size)
{
	vv_array *a = NULL;
	int err;

	quiet();
	err = vv_npy_parse("fuzz.npy", data, size, &a);
	if (!err)
		(void)vv_array_numel(a);
	vv_array_free(&a);
	return err;
}

/*
 * A shard's part manifest as `vitviz merge` reads it: the input becomes
 * <work>/embeddings/<checkpoint>.part-K-of-P.json (names from the input
 * when they are plain, so the fields match; else a fixed name) beside a
 * one-row samples.csv, then embed_merge() in its if-complete mode.
 */
static int
t_shard_part(const uint8_t *data, size_t size)
{
	char dir[128], path[320], ck[72] = "checkpoint-1", *name = NULL;
	cJSON *j;
	int err, k = 0, n = 1, state;
	size_t i;

	quiet();
	if (!put_file("shard_probe", data, 0))
		return VV_EIO;
	snprintf(dir, sizeof(dir), "%s/shardw", tmpdir);
	snprintf(path, sizeof(path), "%s/embeddings", dir);
	if (vv_mkdir_p(path))
		return VV_EIO;
	j = cJSON_ParseWithLength((const char *)data, size);
	if (j) {
		const char *c = vv_json_get_string(j, "checkpoint", "");
		long long kk = vv_json_get_int(j, "part", -1), nn = vv_json_get_int(j, "parts", -1);

		for (i = 0; c[i] && i < 64 && (isalnum((unsigned char)c[i]) || c[i] == '-' || c[i] == '_'); i++)
			;
		if (i > 0 && !c[i] && i < 64)
			snprintf(ck, sizeof(ck), "%s", c);
		if (kk >= 0 && nn > kk && nn <= 9999) {
			k = (int)kk;
			n = (int)nn;
		}
		cJSON_Delete(j);
	}
	name = embed_shard_part_name(ck, k, n, ".json");
	snprintf(path, sizeof(path), "%s/samples.csv", dir);
	{
		static const char csv[] = "index,path,label,label_name\n0,a.png,0,a\n";

		err = vv_write_file_atomic(path, csv, sizeof(csv) - 1);
	}
	if (!err && name) {
		snprintf(path, sizeof(path), "%s/embeddings/%s", dir, name);
		err = vv_write_file_atomic(path, data, size);
		if (!err)
			err = embed_merge(dir, &(embed_merge_opts){ .if_complete = 1, .wait_s = 1 }, &state);
		unlink(path);
	}
	free(name);
	return err;
}

/* The input as <tmpdir>/<sub>/<name>; the folder's path (static buffer) or NULL. */
static const char *
put_in_folder(const char *sub, const char *name, const uint8_t *data, size_t size)
{
	static char dir[128];
	char rel[160];

	if (!put_file("probe", data, 0))
		return NULL;
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	if (vv_mkdir_p(dir))
		return NULL;
	snprintf(rel, sizeof(rel), "%s/%s", sub, name);
	return put_file(rel, data, size) ? dir : NULL;
}

/* A work folder's manifest.json as analyze / render / report read it. */
static int
t_manifest(const uint8_t *data, size_t size)
{
	const char *dir = put_in_folder("mwork", "manifest.json", data, size);
	vv_manifest *m = NULL;
	int err;

	quiet();
	if (!dir)
		return VV_EIO;
	err = vv_manifest_load(dir, &m);
	vv_manifest_free(&m);
	return err;
}

/* A work folder's samples.csv. */
static int
t_samples(const uint8_t *data, size_t size)
{
	const char *dir = put_in_folder("swork", "samples.csv", data, size);
	vv_samples *s = NULL;
	int err;

	quiet();
	if (!dir)
		return VV_EIO;
	err = vv_samples_load(dir, &s);
	vv_samples_free(&s);
	return err;
}

/* A --label-map CSV (data_class,model_class) matched against fixed class lists. */
static int
t_label_map(const uint8_t *data, size_t size)
{
	static const char *const dn[] = { "cat", "dog", "\xe7\x8c\xab", "bird" };
	static const char *const mn[] = { "Cat", "dog", "airplane", "bird", "frog" };
	const char *p = put_file("labels.csv", data, size);
	embed_label_opts o = { .map_path = p };
	int col[4], mode;

	quiet();
	if (!p)
		return VV_EIO;
	return embed_labels_match(dn, 4, "data", mn, 5, "config.json", &o, col, &mode);
}

/*
 * Every harness: adding one is this one line (plus its function above);
 * the Makefile's FUZZ_TARGETS is read from this table, and
 * scripts/fuzz.sh seeds it from tests/fixtures/fuzz/<name>/ when that
 * exists.
 */
const fuzz_target fuzz_targets[] = {
	{ "safetensors", t_safetensors },
	{ "st_index", t_st_index },
	{ "pt", t_pt },
	{ "pickle", t_pickle },
	{ "json", t_json },
	{ "config", t_config },
	{ "swin_config", t_swin_config },
	{ "preproc", t_preproc },
	{ "trainer_state", t_trainer_state },
	{ "args_yaml", t_args_yaml },
	{ "summary_csv", t_summary_csv },
	{ "cifar", t_cifar },
	{ "jpeg", t_jpeg },
	{ "png", t_png },
	{ "npy", t_npy },
	{ "shard_part", t_shard_part },
	{ "manifest", t_manifest },
	{ "samples", t_samples },
	{ "label_map", t_label_map },
	{ NULL, NULL },
};

const fuzz_target *
fuzz_target_find(const char *name)
{
	const fuzz_target *t;

	for (t = fuzz_targets; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}
