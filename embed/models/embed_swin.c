/* embed_swin.c - the Swin Transformer: weights by layout, forward pass. */
#include "embed/models/embed_swin.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"
#include "embed/models/embed_kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Images per group: 1, so that an image's output does not depend on the
 * batch it came in nor on the thread count (OpenBLAS's small-matrix sgemm
 * sums in another order for other row counts). */
#define SWIN_GROUP 1
#define SWIN_MAX_BATCH 65536
/* shifted-window mask value (transformers and timm) */
#define SWIN_MASK_NEG (-100.0f)

/* One block's weights (Linear weights [out, in]). */
typedef struct swin_block {
	float *ln1_w, *ln1_b;   /* LayerNorm before attention [C] */
	float *qkv_w, *qkv_b;   /* query|key|value [3C, C], [3C] (zeros without bias) */
	float *proj_w, *proj_b; /* attention output [C, C], [C] */
	float *ln2_w, *ln2_b;   /* LayerNorm before the MLP [C] */
	float *fc1_w, *fc1_b;   /* MLP in [M, C], [M] */
	float *fc2_w, *fc2_b;   /* MLP out [C, M], [C] */
	float *bias;            /* relative position bias, dense [heads][N][N] */
	int shifted;            /* odd block of a stage whose map exceeds the window */
} swin_block;

/* One stage: geometry, window maps, blocks, the merge that follows it. */
typedef struct swin_stage {
	int res;          /* map side (res x res tokens) */
	int ws, shift;    /* window side, shift of the odd blocks (0: none) */
	int hp;           /* padded side: res rounded up to a multiple of ws */
	int n;            /* tokens per window ws * ws */
	int nwin;         /* windows per image (hp / ws)^2 */
	int c, heads;     /* channels, heads */
	int hidden;       /* MLP width */
	int depth;        /* blocks */
	int *map[2];      /* window row (hp * hp per image) -> token index or
			   * -1 (padding): [0] unshifted, [1] shifted */
	float *mask;      /* [nwin][n][n]: 0 or -100, for shifted blocks */
	swin_block *blk;  /* depth blocks */
	float *down_ln_w, *down_ln_b; /* merge LayerNorm [4C] (not the last stage) */
	float *down_w;    /* merge reduction [2C, 4C] */
} swin_stage;

/* One worker's scratch for SWIN_GROUP images. */
typedef struct swin_ws {
	float *x;      /* tokens [G * L, C] */
	float *y;      /* LayerNorm output / windows / merge concat */
	float *qkv;    /* [G * hp^2, 3C], then the projection output */
	float *ctx;    /* attention context [G * hp^2, C] */
	float *h;      /* MLP hidden [G * L, M]; patch columns */
	float *s;      /* scores [n, n] */
	float *pool;   /* pooled [G, dim] */
} swin_ws;

struct embed_swin {
	embed_swin_config cfg;       /* shape */
	int dim;                     /* output width */
	int num_labels;              /* classifier outputs, 0 without */
	float *patch_w, *patch_b;    /* [C, 3 * p * p], [C] */
	float *pn_w, *pn_b;          /* patch LayerNorm [C] */
	float *ape;                  /* [L0, C] or NULL */
	float *norm_w, *norm_b;      /* final LayerNorm [dim] */
	float *head_w, *head_b;      /* [L, dim], [L] or NULL */
	swin_stage st[EMBED_SWIN_MAX_STAGES]; /* the stages */
	size_t cap_x, cap_y, cap_qkv, cap_ctx, cap_h, cap_s; /* floats per image
				      * (cap_s: per worker) */
	swin_ws ws[VV_MAX_THREADS];  /* worker scratch, allocated on first use */
	int nws;                     /* workers with scratch */
};

/* Names of one layout: printf formats taking (stage, block) or (stage). */
typedef struct swin_names {
	const char *patch_w, *patch_b, *pn_w, *pn_b, *ape;
	const char *blk;                  /* "%d", "%d": block prefix */
	const char *ln1, *q, *k, *v, *qkv, *table, *proj, *ln2, *fc1, *fc2; /* after blk */
	const char *down;                 /* "%d": merge prefix */
	int down_next;                    /* 1: the merge after stage s is under s + 1 */
	const char *norm, *head;          /* final norm, classifier (no prefix) */
	int head_root;                    /* the head is not under the model prefix */
} swin_names;

static const swin_names names_hf = {
	"embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias",
	"embeddings.norm.weight", "embeddings.norm.bias", "embeddings.position_embeddings",
	"encoder.layers.%d.blocks.%d.",
	"layernorm_before", "attention.self.query", "attention.self.key", "attention.self.value",
	NULL, "attention.self.relative_position_bias_table", "attention.output.dense",
	"layernorm_after", "intermediate.dense", "output.dense",
	"encoder.layers.%d.downsample.", 0, "layernorm", "classifier", 1,
};

static const swin_names names_timm = {
	"patch_embed.proj.weight", "patch_embed.proj.bias", "patch_embed.norm.weight",
	"patch_embed.norm.bias", "absolute_pos_embed", "layers.%d.blocks.%d.",
	"norm1", NULL, NULL, NULL, "attn.qkv", "attn.relative_position_bias_table", "attn.proj",
	"norm2", "mlp.fc1", "mlp.fc2", "layers.%d.downsample.", 1, "norm", "head.fc", 0,
};

static const swin_names names_ms = {
	"patch_embed.proj.weight", "patch_embed.proj.bias", "patch_embed.norm.weight",
	"patch_embed.norm.bias", "absolute_pos_embed", "layers.%d.blocks.%d.",
	"norm1", NULL, NULL, NULL, "attn.qkv", "attn.relative_position_bias_table", "attn.proj",
	"norm2", "mlp.fc1", "mlp.fc2", "layers.%d.downsample.", 0, "norm", "head", 0,
};

static const swin_names *
names_of(int layout)
{
	return layout == EMBED_SWIN_HF ? &names_hf : layout == EMBED_SWIN_TIMM ? &names_timm
									 : &names_ms;
}

/* ---- geometry ---------------------------------------------------------- */

void
embed_swin_stage_geometry(const embed_swin_config *c, int s, int *res, int *ws, int *shift)
{
	int r = c->image / c->patch, fl = r, i;

	for (i = 0; i < s; i++) {
		r = (r + 1) / 2; /* PatchMerging pads odd maps */
		fl /= 2;
	}
	*res = r;
	/* transformers decides on the map itself; timm and the Microsoft code
	 * on the stage's nominal resolution, grid // 2^s */
	if (c->layout != EMBED_SWIN_HF)
		r = fl;
	if (r <= c->window) {
		*ws = r > 0 ? r : 1;
		*shift = 0;
	} else {
		*ws = c->window;
		*shift = c->window / 2;
	}
}

/* Region of coordinate r on a padded side hp (the three slices of the mask). */
static int
region(int r, int hp, int ws, int shift)
{
	return r < hp - ws ? 0 : r < hp - shift ? 1 : 2;
}

/*
 * Window maps and mask of stage `st`: row (window w, token t) of the
 * windowed matrix holds the map position (r, c) of the shifted padded
 * map; which token that is depends on the order of padding and shift.
 */
static int
stage_maps(swin_stage *st, int pad_first)
{
	const int hp = st->hp, ws = st->ws, res = st->res, nw1 = hp / ws, n = st->n;
	int k, r, c;

	for (k = 0; k < 2; k++) {
		int s = k ? st->shift : 0;

		if (k && !s)
			break;
		st->map[k] = malloc((size_t)hp * hp * sizeof(int));
		if (!st->map[k])
			return VV_ENOMEM;
		for (r = 0; r < hp; r++)
			for (c = 0; c < hp; c++) {
				int row = ((r / ws) * nw1 + c / ws) * n + (r % ws) * ws + c % ws, tok = -1;

				if (pad_first) {
					/* transformers: pad to hp, then roll by -s on hp */
					int pr = (r + s) % hp, pc = (c + s) % hp;

					if (pr < res && pc < res)
						tok = pr * res + pc;
				} else if (r < res && c < res) {
					/* timm: roll by -s on res, then pad */
					tok = ((r + s) % res) * res + (c + s) % res;
				}
				st->map[k][row] = tok;
			}
	}
	if (!st->shift)
		return 0;
	st->mask = malloc((size_t)st->nwin * n * n * sizeof(float));
	if (!st->mask)
		return VV_ENOMEM;
	for (k = 0; k < st->nwin; k++) {
		int wr = (k / nw1) * ws, wc = (k % nw1) * ws, a, b;

		for (a = 0; a < n; a++) {
			int ra = region(wr + a / ws, hp, ws, st->shift) * 3 +
				 region(wc + a % ws, hp, ws, st->shift);

			for (b = 0; b < n; b++) {
				int rb = region(wr + b / ws, hp, ws, st->shift) * 3 +
					 region(wc + b % ws, hp, ws, st->shift);

				st->mask[((size_t)k * n + a) * n + b] = ra == rb ? 0.0f : SWIN_MASK_NEG;
			}
		}
	}
	return 0;
}

/* ---- weights ------------------------------------------------------------ */

/* Loading context: the tensors, the layout's names and prefix, messages. */
typedef struct loader {
	embed_tensors *t;
	const swin_names *nm;
	const char *prefix;   /* model prefix of HF names ("swin." or "") */
	const char *source;   /* file, for messages */
} loader;

static void
shape_str(char *buf, size_t size, int nd, const int64_t *sh)
{
	size_t o = 0;
	int i;

	o += (size_t)snprintf(buf, size, "[");
	for (i = 0; i < nd && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "", (long long)sh[i]);
	if (o < size)
		snprintf(buf + o, size - o, "]");
}

static embed_tensor *
find(const loader *ld, const char *name)
{
	return (embed_tensor *)embed_tensors_find(ld->t, name);
}

/*
 * Take the data of tensor `name` (the prefix added unless root) of shape
 * `sh` (nd dims; a leading 1 in the file is accepted for nd + 1).
 * *out NULL when optional and absent.
 */
static int
take(const loader *ld, const char *name, int root, int optional, int nd, const int64_t *sh,
     float **out)
{
	char full[256], a[96], b[96];
	embed_tensor *x;
	int i, fnd, off = 0;

	*out = NULL;
	snprintf(full, sizeof(full), "%s%s", root ? "" : ld->prefix, name);
	x = find(ld, full);
	if (!x)
		return optional ? 0 : vv_error(VV_ENOTFOUND, "%s: tensor %s missing", ld->source, full);
	fnd = x->ndim;
	if (fnd == nd + 1 && x->shape[0] == 1)
		off = 1;
	if (fnd - off != nd)
		goto out_shape;
	for (i = 0; i < nd; i++)
		if (x->shape[i + off] != sh[i])
			goto out_shape;
	if (!x->data)
		return vv_error(VV_EFORMAT, "%s: tensor %s used twice", ld->source, full);
	*out = x->data;
	x->data = NULL;
	return 0;
out_shape:
	shape_str(a, sizeof(a), x->ndim, x->shape);
	shape_str(b, sizeof(b), nd, sh);
	return vv_error(VV_EMISMATCH, "%s: tensor %s has shape %s, expected %s", ld->source, full,
			a, b);
}

/* take() of "<fmt with stage, block>.<part>.<suffix>" */
static int
take_blk(const loader *ld, int s, int j, const char *part, const char *suffix, int optional,
	 int nd, const int64_t *sh, float **out)
{
	char name[200], pre[96];

	snprintf(pre, sizeof(pre), ld->nm->blk, s, j);
	snprintf(name, sizeof(name), "%s%s.%s", pre, part, suffix);
	return take(ld, name, 0, optional, nd, sh, out);
}

/* The block's query|key|value weight and bias, fused. */
static int
take_qkv(const loader *ld, int s, int j, int c, int bias, swin_block *b)
{
	const int64_t w2[2] = { 3 * c, c }, w1[1] = { 3 * c }, p2[2] = { c, c }, p1[1] = { c };
	const char *parts[3] = { ld->nm->q, ld->nm->k, ld->nm->v };
	float *p;
	int err, k;

	if (ld->nm->qkv) {
		err = take_blk(ld, s, j, ld->nm->qkv, "weight", 0, 2, w2, &b->qkv_w);
		if (!err)
			err = take_blk(ld, s, j, ld->nm->qkv, "bias", !bias, 1, w1, &b->qkv_b);
		if (!err && !b->qkv_b)
			b->qkv_b = calloc((size_t)3 * c, sizeof(float));
		return err ? err : b->qkv_b ? 0 : VV_ENOMEM;
	}
	b->qkv_w = malloc((size_t)3 * c * c * sizeof(float));
	b->qkv_b = calloc((size_t)3 * c, sizeof(float));
	if (!b->qkv_w || !b->qkv_b)
		return vv_error(VV_ENOMEM, "out of memory");
	for (k = 0; k < 3; k++) {
		err = take_blk(ld, s, j, parts[k], "weight", 0, 2, p2, &p);
		if (err)
			return err;
		memcpy(b->qkv_w + (size_t)k * c * c, p, (size_t)c * c * sizeof(float));
		free(p);
		err = take_blk(ld, s, j, parts[k], "bias", !bias, 1, p1, &p);
		if (err)
			return err;
		if (p)
			memcpy(b->qkv_b + (size_t)k * c, p, (size_t)c * sizeof(float));
		free(p);
	}
	return 0;
}

/* Dense [heads][n][n] bias from the (2ws-1)^2 x heads table. */
static float *
dense_bias(const float *table, int ws, int heads)
{
	const int n = ws * ws, side = 2 * ws - 1;
	float *b = malloc((size_t)heads * n * n * sizeof(float));
	int a, c, h;

	if (!b)
		return NULL;
	for (a = 0; a < n; a++)
		for (c = 0; c < n; c++) {
			int idx = (a / ws - c / ws + ws - 1) * side + (a % ws - c % ws + ws - 1);

			for (h = 0; h < heads; h++)
				b[((size_t)h * n + a) * n + c] = table[(size_t)idx * heads + h];
		}
	return b;
}

static int
load_block(const loader *ld, const embed_swin_config *cfg, swin_stage *st, int s, int j)
{
	swin_block *b = &st->blk[j];
	const int c = st->c, m = st->hidden;
	const int64_t v1[1] = { c }, lw[2] = { c, c }, f1[2] = { m, c }, f1b[1] = { m },
		      f2[2] = { c, m };
	/* timm and the Microsoft code size the table for the stage's window,
	 * transformers for the config's (equal whenever it can run) */
	const int tw = cfg->layout == EMBED_SWIN_HF ? cfg->window : st->ws;
	const int64_t tb[2] = { (int64_t)(2 * tw - 1) * (2 * tw - 1), st->heads };
	float *table = NULL;
	int err;

	b->shifted = (j & 1) && st->shift;
	if ((err = take_blk(ld, s, j, ld->nm->ln1, "weight", 0, 1, v1, &b->ln1_w)) ||
	    (err = take_blk(ld, s, j, ld->nm->ln1, "bias", 0, 1, v1, &b->ln1_b)) ||
	    (err = take_qkv(ld, s, j, c, cfg->qkv_bias, b)) ||
	    (err = take_blk(ld, s, j, ld->nm->proj, "weight", 0, 2, lw, &b->proj_w)) ||
	    (err = take_blk(ld, s, j, ld->nm->proj, "bias", 0, 1, v1, &b->proj_b)) ||
	    (err = take_blk(ld, s, j, ld->nm->ln2, "weight", 0, 1, v1, &b->ln2_w)) ||
	    (err = take_blk(ld, s, j, ld->nm->ln2, "bias", 0, 1, v1, &b->ln2_b)) ||
	    (err = take_blk(ld, s, j, ld->nm->fc1, "weight", 0, 2, f1, &b->fc1_w)) ||
	    (err = take_blk(ld, s, j, ld->nm->fc1, "bias", 0, 1, f1b, &b->fc1_b)) ||
	    (err = take_blk(ld, s, j, ld->nm->fc2, "weight", 0, 2, f2, &b->fc2_w)) ||
	    (err = take_blk(ld, s, j, ld->nm->fc2, "bias", 0, 1, v1, &b->fc2_b)))
		return err;
	{
		char name[200], pre[96];

		snprintf(pre, sizeof(pre), ld->nm->blk, s, j);
		snprintf(name, sizeof(name), "%s%s", pre, ld->nm->table);
		err = take(ld, name, 0, 0, 2, tb, &table);
	}
	if (err)
		return err;
	b->bias = dense_bias(table, st->ws, st->heads);
	free(table);
	return b->bias ? 0 : vv_error(VV_ENOMEM, "out of memory");
}

/* The checkpoint has stage s (its first block's first LayerNorm). */
static int
has_stage(const loader *ld, int s)
{
	char name[256], pre[96];

	snprintf(pre, sizeof(pre), ld->nm->blk, s, 0);
	snprintf(name, sizeof(name), "%s%s%s.weight", ld->prefix, pre, ld->nm->ln1);
	return find(ld, name) != NULL;
}

static int
has_block(const loader *ld, int s, int j)
{
	char name[256], pre[96];

	snprintf(pre, sizeof(pre), ld->nm->blk, s, j);
	snprintf(name, sizeof(name), "%s%s%s.weight", ld->prefix, pre, ld->nm->ln1);
	return find(ld, name) != NULL;
}

/* Stages and blocks present agree with the config (clear messages first). */
static int
check_structure(const loader *ld, const embed_swin_config *c)
{
	int s;

	for (s = 0; s < c->stages; s++) {
		if (!has_stage(ld, s))
			return vv_error(VV_ENOTFOUND, "%s: Swin stage %d is missing (no tensors "
					"under %slayers.%d.blocks.0): the checkpoint has %d stage(s), "
					"the architecture %d", ld->source, s,
					c->layout == EMBED_SWIN_HF ? "encoder." : "", s, s, c->stages);
		if (!has_block(ld, s, c->depths[s] - 1) || has_block(ld, s, c->depths[s])) {
			int n = 0;

			while (n < 4096 && has_block(ld, s, n))
				n++;
			return vv_error(VV_EMISMATCH, "%s: Swin stage %d has %d block(s), the "
					"architecture %d", ld->source, s, n, c->depths[s]);
		}
	}
	if (has_stage(ld, c->stages))
		return vv_error(VV_EMISMATCH, "%s: the checkpoint has more than the %d stages of "
				"the architecture", ld->source, c->stages);
	return 0;
}

static int
load_merge(const loader *ld, swin_stage *st, int s)
{
	char pre[96], name[200];
	const int c = st->c;
	const int64_t n4[1] = { 4 * c }, w[2] = { 2 * c, 4 * c };
	int err;

	snprintf(pre, sizeof(pre), ld->nm->down, ld->nm->down_next ? s + 1 : s);
	snprintf(name, sizeof(name), "%snorm.weight", pre);
	err = take(ld, name, 0, 0, 1, n4, &st->down_ln_w);
	if (err)
		return err;
	snprintf(name, sizeof(name), "%snorm.bias", pre);
	err = take(ld, name, 0, 0, 1, n4, &st->down_ln_b);
	if (err)
		return err;
	snprintf(name, sizeof(name), "%sreduction.weight", pre);
	return take(ld, name, 0, 0, 2, w, &st->down_w);
}

/* Per-image scratch sizes from the stage geometry. */
static void
size_scratch(embed_swin *m)
{
	const embed_swin_config *c = &m->cfg;
	const int l0 = (c->image / c->patch) * (c->image / c->patch);
	size_t k = (size_t)3 * c->patch * c->patch;
	int s;

	m->cap_x = m->cap_y = m->cap_qkv = m->cap_ctx = m->cap_s = 0;
	m->cap_h = (size_t)l0 * k;
	for (s = 0; s < c->stages; s++) {
		const swin_stage *st = &m->st[s];
		size_t l = (size_t)st->res * st->res, p = (size_t)st->hp * st->hp;

#define GROW(a, v) do { if ((size_t)(v) > (a)) (a) = (size_t)(v); } while (0)
		GROW(m->cap_x, l * st->c);
		GROW(m->cap_y, p * st->c);
		GROW(m->cap_y, l * st->c);
		GROW(m->cap_qkv, p * 3 * st->c);
		GROW(m->cap_ctx, p * st->c);
		GROW(m->cap_h, l * st->hidden);
		GROW(m->cap_s, (size_t)st->n * st->n);
		if (s + 1 < c->stages) {
			size_t l2 = (size_t)((st->res + 1) / 2) * ((st->res + 1) / 2);

			GROW(m->cap_y, l2 * 4 * st->c);
			GROW(m->cap_x, l2 * 2 * st->c);
		}
#undef GROW
	}
}

int
embed_swin_build_consume(const embed_swin_config *c, embed_tensors *t, const char *source,
			 embed_swin **pm)
{
	const swin_names *nm = names_of(c->layout);
	const char *prefix = "";
	embed_swin *m;
	loader ld;
	int err, s, j, ch = c->embed_dim, res;
	int64_t sh[4];

	*pm = NULL;
	err = embed_swin_config_validate(c, source);
	if (err)
		return err;
	if (c->layout == EMBED_SWIN_HF) {
		char probe[200];

		snprintf(probe, sizeof(probe), "swin.%s", nm->patch_w);
		if (embed_tensors_find(t, probe))
			prefix = "swin.";
	}
	ld = (loader){ t, nm, prefix, source };
	err = check_structure(&ld, c);
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return vv_error(VV_ENOMEM, "out of memory");
	m->cfg = *c;
	res = c->image / c->patch;
	sh[0] = ch;
	sh[1] = 3;
	sh[2] = sh[3] = c->patch;
	if ((err = take(&ld, nm->patch_w, 0, 0, 4, sh, &m->patch_w)) ||
	    (err = take(&ld, nm->patch_b, 0, 0, 1, sh, &m->patch_b)) ||
	    (err = take(&ld, nm->pn_w, 0, 0, 1, sh, &m->pn_w)) ||
	    (err = take(&ld, nm->pn_b, 0, 0, 1, sh, &m->pn_b)))
		goto out_free;
	if (c->ape) {
		int64_t a[2] = { (int64_t)res * res, ch };

		if ((err = take(&ld, nm->ape, 0, 0, 2, a, &m->ape)))
			goto out_free;
	}
	for (s = 0; s < c->stages; s++) {
		swin_stage *st = &m->st[s];

		embed_swin_stage_geometry(c, s, &st->res, &st->ws, &st->shift);
		st->hp = (st->res + st->ws - 1) / st->ws * st->ws;
		st->n = st->ws * st->ws;
		st->nwin = (st->hp / st->ws) * (st->hp / st->ws);
		st->c = ch;
		st->heads = c->heads[s];
		st->hidden = c->mlp_hidden[s];
		st->depth = c->depths[s];
		if ((err = stage_maps(st, c->layout != EMBED_SWIN_TIMM))) {
			vv_error(err, "out of memory");
			goto out_free;
		}
		st->blk = calloc((size_t)st->depth, sizeof(*st->blk));
		if (!st->blk) {
			err = vv_error(VV_ENOMEM, "out of memory");
			goto out_free;
		}
		for (j = 0; j < st->depth; j++)
			if ((err = load_block(&ld, c, st, s, j)))
				goto out_free;
		if (s + 1 < c->stages) {
			if ((err = load_merge(&ld, st, s)))
				goto out_free;
			ch *= 2;
		}
	}
	m->dim = ch;
	sh[0] = ch;
	{
		char name[64];

		snprintf(name, sizeof(name), "%s.weight", nm->norm);
		if ((err = take(&ld, name, 0, 0, 1, sh, &m->norm_w)))
			goto out_free;
	}
	{
		char name[64];
		embed_tensor *hw;

		snprintf(name, sizeof(name), "%s%s.weight", nm->head_root ? "" : prefix, nm->head);
		hw = find(&ld, name);
		if (hw) {
			int64_t h2[2] = { hw->ndim == 2 ? hw->shape[0] : -1, ch };

			if (h2[0] <= 0 || h2[0] > 1000000) {
				err = vv_error(VV_EFORMAT, "%s: classifier %s has a bad shape",
					       source, name);
				goto out_free;
			}
			if ((err = take(&ld, name, 1, 0, 2, h2, &m->head_w)))
				goto out_free;
			snprintf(name, sizeof(name), "%s%s.bias", nm->head_root ? "" : prefix,
				 nm->head);
			if ((err = take(&ld, name, 1, 0, 1, h2, &m->head_b)))
				goto out_free;
			m->num_labels = (int)h2[0];
		}
	}
	{
		char name[64];

		snprintf(name, sizeof(name), "%s.bias", nm->norm);
		if ((err = take(&ld, name, 0, 0, 1, sh, &m->norm_b)))
			goto out_free;
	}
	size_scratch(m);
	*pm = m;
	return 0;
out_free:
	embed_swin_free(&m);
	return err;
}

int
embed_swin_num_labels(const embed_swin *m)
{
	return m->num_labels;
}

int
embed_swin_dim(const embed_swin *m)
{
	return m->dim;
}

size_t
embed_swin_scratch_bytes(const embed_swin *m)
{
	return (size_t)m->nws * sizeof(float) *
	       (SWIN_GROUP * (m->cap_x + m->cap_y + m->cap_qkv + m->cap_ctx + m->cap_h +
			      (size_t)m->dim) + m->cap_s);
}

static void
free_ws(swin_ws *w)
{
	free(w->x);
	free(w->y);
	free(w->qkv);
	free(w->ctx);
	free(w->h);
	free(w->s);
	free(w->pool);
	memset(w, 0, sizeof(*w));
}

void
embed_swin_free(embed_swin **pm)
{
	embed_swin *m = *pm;
	int s, j;

	if (!m)
		return;
	for (s = 0; s < EMBED_SWIN_MAX_STAGES; s++) {
		swin_stage *st = &m->st[s];

		for (j = 0; st->blk && j < st->depth; j++) {
			swin_block *b = &st->blk[j];

			free(b->ln1_w); free(b->ln1_b); free(b->qkv_w); free(b->qkv_b);
			free(b->proj_w); free(b->proj_b); free(b->ln2_w); free(b->ln2_b);
			free(b->fc1_w); free(b->fc1_b); free(b->fc2_w); free(b->fc2_b);
			free(b->bias);
		}
		free(st->blk);
		free(st->map[0]);
		free(st->map[1]);
		free(st->mask);
		free(st->down_ln_w);
		free(st->down_ln_b);
		free(st->down_w);
	}
	for (s = 0; s < m->nws; s++)
		free_ws(&m->ws[s]);
	free(m->patch_w); free(m->patch_b); free(m->pn_w); free(m->pn_b); free(m->ape);
	free(m->norm_w); free(m->norm_b); free(m->head_w); free(m->head_b);
	free(m);
	*pm = NULL;
}

/* ---- forward ------------------------------------------------------------ */

/* out[rows, n] = in[rows, k] w[n, k]^T + beta out */
static void
linear(const float *in, size_t rows, int k, const float *w, int n, float beta, float *out)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, n, k, 1.0f, in, k, w, k,
		    beta, out, n);
}

/* Patch partition + LayerNorm (+ position embedding) of `g` images into x. */
static void
patch_embed(const embed_swin *m, swin_ws *w, const float *pixels, int g)
{
	const embed_swin_config *c = &m->cfg;
	const int p = c->patch, side = c->image / p, k = 3 * p * p, ch = c->embed_dim;
	const size_t l0 = (size_t)side * side, img = (size_t)3 * c->image * c->image;
	int b, py, px, ci, ky;

	for (b = 0; b < g; b++) {
		const float *src = pixels + (size_t)b * img;
		float *col = w->h;

		for (py = 0; py < side; py++)
			for (px = 0; px < side; px++) {
				float *r = col + ((size_t)py * side + px) * k;

				for (ci = 0; ci < 3; ci++)
					for (ky = 0; ky < p; ky++)
						memcpy(r + (ci * p + ky) * p,
						       src + ((size_t)ci * c->image + py * p + ky) *
							       c->image + (size_t)px * p,
						       (size_t)p * sizeof(float));
			}
		linear(col, l0, k, m->patch_w, ch, 0.0f, w->x + (size_t)b * l0 * ch);
	}
	embed_kernels_add_bias(w->x, (size_t)g * l0, ch, m->patch_b);
	embed_kernels_layernorm(w->x, ch, w->x, ch, (size_t)g * l0, ch, m->pn_w, m->pn_b,
				c->ln_eps);
	if (m->ape)
		for (b = 0; b < g; b++)
			embed_kernels_add_bias(w->x + (size_t)b * l0 * ch, 1, (int)(l0 * ch), m->ape);
}

/* (Shifted) window attention of block `b`, residual added to x. */
static void
window_attention(const embed_swin *m, const swin_stage *st, const swin_block *blk, swin_ws *w,
		 int g)
{
	const int c = st->c, n = st->n, heads = st->heads, hd = c / heads;
	const size_t l = (size_t)st->res * st->res, p = (size_t)st->hp * st->hp;
	const int *map = st->map[blk->shifted];
	const float scale = 1.0f / sqrtf((float)hd);
	int b, win, h;
	size_t r;

	/* LayerNorm straight into the windowed rows; padding rows are zero */
	for (b = 0; b < g; b++)
		for (r = 0; r < p; r++) {
			float *dst = w->y + ((size_t)b * p + r) * c;

			if (map[r] < 0)
				memset(dst, 0, (size_t)c * sizeof(float));
			else
				embed_kernels_layernorm(w->x + ((size_t)b * l + map[r]) * c, c, dst, c,
							1, c, blk->ln1_w, blk->ln1_b, m->cfg.ln_eps);
		}
	linear(w->y, (size_t)g * p, c, blk->qkv_w, 3 * c, 0.0f, w->qkv);
	embed_kernels_add_bias(w->qkv, (size_t)g * p, 3 * c, blk->qkv_b);
	for (b = 0; b < g; b++)
		for (win = 0; win < st->nwin; win++) {
			const size_t row0 = (size_t)b * p + (size_t)win * n;
			const float *q = w->qkv + row0 * 3 * c;
			const float *mask = blk->shifted ? st->mask + (size_t)win * n * n : NULL;

			for (h = 0; h < heads; h++) {
				const float *bias = blk->bias + (size_t)h * n * n;
				int i;

				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, hd, scale,
					    q + h * hd, 3 * c, q + c + h * hd, 3 * c, 0.0f, w->s, n);
				for (i = 0; i < n * n; i++)
					w->s[i] += bias[i];
				if (mask)
					for (i = 0; i < n * n; i++)
						w->s[i] += mask[i];
				embed_kernels_softmax(w->s, (size_t)n, n, (size_t)n);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, n, 1.0f,
					    w->s, n, q + 2 * c + h * hd, 3 * c, 0.0f,
					    w->ctx + row0 * c + h * hd, c);
			}
		}
	/* output projection, scattered back to the token order, plus residual */
	linear(w->ctx, (size_t)g * p, c, blk->proj_w, c, 0.0f, w->qkv);
	for (b = 0; b < g; b++)
		for (r = 0; r < p; r++)
			if (map[r] >= 0)
				embed_kernels_residual(w->x + ((size_t)b * l + map[r]) * c,
						       w->qkv + ((size_t)b * p + r) * c, 1, c,
						       blk->proj_b, NULL);
}

static void
mlp(const embed_swin *m, const swin_stage *st, const swin_block *blk, swin_ws *w, int g)
{
	const size_t rows = (size_t)g * st->res * st->res;
	const int c = st->c;

	embed_kernels_layernorm(w->x, c, w->y, c, rows, c, blk->ln2_w, blk->ln2_b, m->cfg.ln_eps);
	linear(w->y, rows, c, blk->fc1_w, st->hidden, 0.0f, w->h);
	embed_kernels_bias_gelu(w->h, rows, st->hidden, blk->fc1_b);
	linear(w->h, rows, st->hidden, blk->fc2_w, c, 0.0f, w->y);
	embed_kernels_residual(w->x, w->y, rows, c, blk->fc2_b, NULL);
}

/* PatchMerging after stage st: x (res^2, C) -> x (ceil(res/2)^2, 2C). */
static void
merge(const embed_swin *m, const swin_stage *st, swin_ws *w, int g)
{
	const int c = st->c, res = st->res, r2 = (res + 1) / 2;
	const size_t l = (size_t)res * res, l2 = (size_t)r2 * r2;
	/* x00, x10, x01, x11: (row, column) offsets of the 4 parts */
	static const int dr[4] = { 0, 1, 0, 1 }, dc[4] = { 0, 0, 1, 1 };
	int b, i, j, k;

	for (b = 0; b < g; b++)
		for (i = 0; i < r2; i++)
			for (j = 0; j < r2; j++) {
				float *dst = w->y + (((size_t)b * l2) + (size_t)i * r2 + j) * 4 * c;

				for (k = 0; k < 4; k++) {
					int y = 2 * i + dr[k], x = 2 * j + dc[k];

					if (y < res && x < res)
						memcpy(dst + k * c,
						       w->x + ((size_t)b * l + (size_t)y * res + x) * c,
						       (size_t)c * sizeof(float));
					else
						memset(dst + k * c, 0, (size_t)c * sizeof(float));
				}
			}
	embed_kernels_layernorm(w->y, 4 * c, w->y, 4 * c, (size_t)g * l2, 4 * c, st->down_ln_w,
				st->down_ln_b, m->cfg.ln_eps);
	linear(w->y, (size_t)g * l2, 4 * c, st->down_w, 2 * c, 0.0f, w->x);
}

/* The network on `g` images with scratch w. */
static void
forward_group(const embed_swin *m, swin_ws *w, const float *pixels, int g, float *emb,
	      float *logits)
{
	const embed_swin_config *c = &m->cfg;
	const swin_stage *last = &m->st[c->stages - 1];
	const size_t l = (size_t)last->res * last->res;
	const int d = m->dim;
	int s, j, b;
	size_t t;

	patch_embed(m, w, pixels, g);
	for (s = 0; s < c->stages; s++) {
		const swin_stage *st = &m->st[s];

		for (j = 0; j < st->depth; j++) {
			window_attention(m, st, &st->blk[j], w, g);
			mlp(m, st, &st->blk[j], w, g);
		}
		if (s + 1 < c->stages)
			merge(m, st, w, g);
	}
	embed_kernels_layernorm(w->x, d, w->y, d, (size_t)g * l, d, m->norm_w, m->norm_b,
				c->ln_eps);
	for (b = 0; b < g; b++) {
		double acc;
		int i;

		for (i = 0; i < d; i++) {
			acc = 0.0;
			for (t = 0; t < l; t++)
				acc += w->y[((size_t)b * l + t) * d + i];
			emb[(size_t)b * d + i] = (float)(acc / (double)l);
		}
	}
	if (logits && m->num_labels) {
		linear(emb, (size_t)g, d, m->head_w, m->num_labels, 0.0f, logits);
		embed_kernels_add_bias(logits, (size_t)g, m->num_labels, m->head_b);
	}
}

static int
alloc_ws(const embed_swin *m, swin_ws *w)
{
	const size_t g = SWIN_GROUP;

	w->x = malloc(g * m->cap_x * sizeof(float));
	w->y = malloc(g * m->cap_y * sizeof(float));
	w->qkv = malloc(g * m->cap_qkv * sizeof(float));
	w->ctx = malloc(g * m->cap_ctx * sizeof(float));
	w->h = malloc(g * m->cap_h * sizeof(float));
	w->s = malloc(m->cap_s * sizeof(float));
	w->pool = malloc(g * (size_t)m->dim * sizeof(float));
	if (!w->x || !w->y || !w->qkv || !w->ctx || !w->h || !w->s || !w->pool) {
		free_ws(w);
		return VV_ENOMEM;
	}
	return 0;
}

/* One forward call: what every tile reads. */
typedef struct swin_call {
	embed_swin *m;         /* the model (its workers' scratch) */
	const float *pixels;   /* the batch */
	int batch;             /* its images */
	float *emb, *logits;   /* outputs of the batch (logits may be NULL) */
} swin_call;

/* Tile = SWIN_GROUP images from tile * SWIN_GROUP, on worker w's scratch. */
static void
run_tile(void *ctx, int64_t tile, int worker)
{
	const swin_call *c = ctx;
	embed_swin *m = c->m;
	const size_t img = (size_t)3 * m->cfg.image * m->cfg.image;
	int b0 = (int)tile * SWIN_GROUP, g = c->batch - b0 < SWIN_GROUP ? c->batch - b0 : SWIN_GROUP;

	forward_group(m, &m->ws[worker], c->pixels + (size_t)b0 * img, g,
		      c->emb + (size_t)b0 * m->dim,
		      c->logits ? c->logits + (size_t)b0 * m->num_labels : NULL);
}

int
embed_swin_forward(embed_swin *m, const float *pixels, int batch, float *emb, float *logits)
{
	swin_call c = { m, pixels, batch, emb, m->num_labels ? logits : NULL };
	int groups, nw, i;

	if (batch <= 0 || batch > SWIN_MAX_BATCH)
		return vv_error(VV_EINVAL, "batch %d outside 1..%d", batch, SWIN_MAX_BATCH);
	groups = (batch + SWIN_GROUP - 1) / SWIN_GROUP;
	nw = vv_threads();
	if (nw > groups)
		nw = groups;
	if (nw < 1)
		nw = 1;
	if (nw > VV_MAX_THREADS)
		nw = VV_MAX_THREADS;
	for (i = m->nws; i < nw; i++) {
		if (alloc_ws(m, &m->ws[i]))
			return vv_error(VV_ENOMEM, "out of memory for the Swin scratch");
		m->nws = i + 1;
	}
	/* fixed tiles of one image on single-threaded sgemm: the same bytes
	 * whatever the worker count */
	vv_run_tiles(run_tile, &c, groups, nw);
	return 0;
}
