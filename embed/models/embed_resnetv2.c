/* embed_resnetv2.c - ResNetV2 (BiT) backbone of the hybrid ViTs, on OpenBLAS. */
#include "embed/models/embed_resnetv2.h"
#include "common/vv_error.h"
#include "common/vv_thread.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GroupNorm groups of both reference codes (except jeonsworld's gn_proj). */
#define RN_GROUPS 32

/* A weight-standardized convolution at the geometry of this backbone. */
typedef struct rn_conv {
	int cin, cout;        /* input / output channels */
	int k, stride;        /* square kernel, stride */
	int in_h, in_w;       /* input size */
	int out_h, out_w;     /* output size */
	int pad_t, pad_l;     /* zero rows / columns before the input */
	float *w;             /* standardized weight [cout, cin * k * k] */
} rn_conv;

/* A GroupNorm (affine). */
typedef struct rn_norm {
	int c;                /* channels */
	int groups;           /* groups (divide c) */
	double eps;           /* variance epsilon */
	float *w, *b;         /* per-channel scale and shift [c] */
} rn_norm;

/* One bottleneck unit. */
typedef struct rn_unit {
	rn_conv c1, c2, c3;   /* 1x1 reduce, 3x3 (stride), 1x1 expand */
	rn_norm n1, n2, n3;   /* after each (n1, n2 with ReLU) */
	int has_proj;         /* shortcut through proj / nproj */
	rn_conv proj;         /* 1x1 (stride) shortcut projection */
	rn_norm nproj;        /* its norm (no ReLU) */
} rn_unit;

struct embed_resnetv2 {
	embed_resnetv2_spec s; /* the shape */
	int in_h, in_w;        /* input image size */
	rn_conv stem;          /* 7x7/2 */
	rn_norm stem_n;        /* + ReLU */
	int pool_h, pool_w;    /* max pool 3x3/2 output size */
	int pool_t, pool_l;    /* its padding before (ignored positions) */
	rn_unit *u;            /* nunits units, stage by stage */
	int nunits;            /* total units */
	int out_c, out_h, out_w; /* output feature map */
	size_t act_max;        /* largest activation (floats) */
	size_t col_max;        /* largest im2col buffer (floats) */
	double macs;           /* convolution multiply-adds per image */
};

/* ------------------------------------------------------------------ */
/* Geometry                                                            */

/*
 * Output size and leading padding of a k x k / stride window over `in`:
 * timm's TF "SAME" (out = ceil(in / s), padding split with the smaller
 * half first), or a symmetric explicit padding `pad` (PyTorch's
 * floor((in + 2 pad - k) / s) + 1).
 */
static void
geom(int flavor, int in, int k, int s, int pad, int *out, int *before)
{
	if (flavor == EMBED_RESNETV2_TIMM) {
		int o = (in + s - 1) / s, tot = (o - 1) * s + k - in;

		*out = o;
		*before = tot > 0 ? tot / 2 : 0;
	} else {
		*out = in + 2 * pad >= k ? (in + 2 * pad - k) / s + 1 : 0;
		*before = pad;
	}
}

/* Set up conv geometry for an in_h x in_w input; explicit padding `pad`. */
static void
conv_geom(rn_conv *c, int flavor, int in_h, int in_w, int pad)
{
	c->in_h = in_h;
	c->in_w = in_w;
	geom(flavor, in_h, c->k, c->stride, pad, &c->out_h, &c->pad_t);
	geom(flavor, in_w, c->k, c->stride, pad, &c->out_w, &c->pad_l);
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

/* Loading context. */
typedef struct rn_load {
	embed_tensors *t;      /* the file's tensors */
	const char *prefix;    /* backbone prefix */
	const char *source;    /* file name for messages */
	int consume;           /* free tensor data once copied */
	unsigned char *used;   /* t->n flags or NULL */
} rn_load;

/* Copy tensor prefix+name of shape dims[0..nd) into a new buffer *dst. */
static int
take(const rn_load *ld, const char *name, int nd, const int64_t *dims, float **dst)
{
	char full[400];
	embed_tensor *x;
	int64_t n = 1;
	int i, ok;

	snprintf(full, sizeof(full), "%s%s", ld->prefix, name);
	x = (embed_tensor *)embed_tensors_find(ld->t, full);
	if (!x)
		return vv_error(VV_ENOTFOUND, "%s: tensor %s is missing (the ResNet backbone "
				"needs it)", ld->source, full);
	ok = x->ndim == nd;
	for (i = 0; ok && i < nd; i++)
		ok = x->shape[i] == dims[i];
	if (!ok) {
		char a[96] = "", b[96] = "";
		size_t oa = 0, ob = 0;

		for (i = 0; i < x->ndim && oa < sizeof(a); i++)
			oa += (size_t)snprintf(a + oa, sizeof(a) - oa, "%s%lld", i ? ", " : "",
					       (long long)x->shape[i]);
		for (i = 0; i < nd && ob < sizeof(b); i++)
			ob += (size_t)snprintf(b + ob, sizeof(b) - ob, "%s%lld", i ? ", " : "",
					       (long long)dims[i]);
		return vv_error(VV_EMISMATCH, "%s: tensor %s has shape [%s], the architecture "
				"expects [%s]", ld->source, full, a, b);
	}
	if (!x->data)
		return vv_error(VV_EINVAL, "%s: tensor %s is used twice", ld->source, full);
	for (i = 0; i < nd; i++)
		n *= dims[i];
	*dst = malloc((size_t)n * sizeof(float));
	if (!*dst)
		return vv_error(VV_ENOMEM, "out of memory");
	memcpy(*dst, x->data, (size_t)n * sizeof(float));
	if (ld->used)
		ld->used[x - ld->t->v] = 1;
	if (ld->consume) {
		free(x->data);
		x->data = NULL;
	}
	return 0;
}

/*
 * Load conv `name`.weight ([cout, cin, k, k]) and standardize it per output
 * channel: (w - mean) / sqrt(var + eps), biased variance (both references),
 * in double.
 */
static int
load_conv(const rn_load *ld, rn_conv *c, const char *name, int cin, int cout, int k,
	  int stride, double eps)
{
	int64_t dims[4] = { cout, cin, k, k };
	size_t kk = (size_t)cin * k * k, o, i;
	char full[300];
	int err;

	c->cin = cin;
	c->cout = cout;
	c->k = k;
	c->stride = stride;
	snprintf(full, sizeof(full), "%s.weight", name);
	err = take(ld, full, 4, dims, &c->w);
	if (err)
		return err;
	for (o = 0; o < (size_t)cout; o++) {
		float *w = c->w + o * kk;
		double m = 0, v = 0, r;

		for (i = 0; i < kk; i++)
			m += w[i];
		m /= (double)kk;
		for (i = 0; i < kk; i++)
			v += ((double)w[i] - m) * ((double)w[i] - m);
		v /= (double)kk;
		r = 1.0 / sqrt(v + eps);
		for (i = 0; i < kk; i++)
			w[i] = (float)(((double)w[i] - m) * r);
	}
	return 0;
}

/* Load a GroupNorm `name`.{weight,bias} of c channels. */
static int
load_norm(const rn_load *ld, rn_norm *n, const char *name, int c, int groups, double eps)
{
	int64_t dims[1] = { c };
	char full[300];
	int err;

	n->c = c;
	n->groups = groups;
	n->eps = eps;
	snprintf(full, sizeof(full), "%s.weight", name);
	err = take(ld, full, 1, dims, &n->w);
	if (err)
		return err;
	snprintf(full, sizeof(full), "%s.bias", name);
	return take(ld, full, 1, dims, &n->b);
}

/*
 * Parse "<prefix><a><S><b><U>." (S, U decimal) from `name`; 1 and *s, *u
 * set when it matches.
 */
static int
parse_unit(const char *name, const char *prefix, const char *a, const char *b, long *s, long *u)
{
	const char *p = name;
	size_t np = strlen(prefix), na = strlen(a), nb = strlen(b);
	long v;

	if (strncmp(p, prefix, np) || strncmp(p + np, a, na))
		return 0;
	p += np + na;
	for (v = 0; *p >= '0' && *p <= '9' && v < 100000; p++)
		v = v * 10 + (*p - '0');
	if (p == name + np + na || strncmp(p, b, nb))
		return 0;
	*s = v;
	p += nb;
	name = p;
	for (v = 0; *p >= '0' && *p <= '9' && v < 100000; p++)
		v = v * 10 + (*p - '0');
	if (p == name || *p != '.')
		return 0;
	*u = v;
	return 1;
}

/* "3, 4, 9" into buf. */
static void
depth_str(char *buf, size_t size, int n, const int *d)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	if (!n)
		snprintf(buf, size, "none: stem only");
	for (i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%d", i ? ", " : "", d[i]);
}

/*
 * Compare the stages / units the file holds with the spec: a different
 * depth is VV_EMISMATCH naming both.
 */
static int
check_depth(const embed_resnetv2_spec *s, const rn_load *ld)
{
	int file[EMBED_RESNETV2_MAX_STAGES + 1] = { 0 }, nfile = 0, i, base;
	char a[96], b[96];
	const char *sa, *sb;
	size_t k;
	long st, un;

	if (s->flavor == EMBED_RESNETV2_TIMM) {
		sa = "stages.";
		sb = ".blocks.";
		base = 0;
	} else {
		sa = "body.block";
		sb = ".unit";
		base = 1;
	}
	for (k = 0; k < ld->t->n; k++) {
		if (!parse_unit(ld->t->v[k].name, ld->prefix, sa, sb, &st, &un))
			continue;
		st -= base;
		un -= base;
		if (st < 0 || un < 0 || st >= EMBED_RESNETV2_MAX_STAGES + 1 || un > 10000) {
			nfile = EMBED_RESNETV2_MAX_STAGES + 1;
			continue;
		}
		if (st + 1 > nfile)
			nfile = (int)st + 1;
		if (un + 1 > file[st])
			file[st] = (int)un + 1;
	}
	if (nfile == s->nstages) {
		for (i = 0; i < nfile; i++)
			if (file[i] != s->depth[i])
				break;
		if (i == nfile)
			return 0;
	}
	depth_str(a, sizeof(a), nfile > EMBED_RESNETV2_MAX_STAGES ? EMBED_RESNETV2_MAX_STAGES :
		  nfile, file);
	depth_str(b, sizeof(b), s->nstages, s->depth);
	return vv_error(VV_EMISMATCH, "%s: the ResNet backbone in the weights has units per "
			"stage (%s)%s but the architecture has (%s)", ld->source, a,
			nfile > EMBED_RESNETV2_MAX_STAGES ? " and more" : "", b);
}

static void
free_conv(rn_conv *c)
{
	free(c->w);
	c->w = NULL;
}

static void
free_norm(rn_norm *n)
{
	free(n->w);
	free(n->b);
	n->w = n->b = NULL;
}

void
embed_resnetv2_free(embed_resnetv2 **pm)
{
	embed_resnetv2 *r = *pm;
	int i;

	if (!r)
		return;
	free_conv(&r->stem);
	free_norm(&r->stem_n);
	for (i = 0; r->u && i < r->nunits; i++) {
		free_conv(&r->u[i].c1);
		free_conv(&r->u[i].c2);
		free_conv(&r->u[i].c3);
		free_conv(&r->u[i].proj);
		free_norm(&r->u[i].n1);
		free_norm(&r->u[i].n2);
		free_norm(&r->u[i].n3);
		free_norm(&r->u[i].nproj);
	}
	free(r->u);
	free(r);
	*pm = NULL;
}

/* Account a conv's activations, im2col buffer and work. */
static void
account(embed_resnetv2 *r, const rn_conv *c)
{
	size_t out = (size_t)c->cout * c->out_h * c->out_w;
	size_t in = (size_t)c->cin * c->in_h * c->in_w;

	if (out > r->act_max)
		r->act_max = out;
	if (in > r->act_max)
		r->act_max = in;
	if (c->k > 1 || c->stride > 1) {
		size_t col = (size_t)c->cin * c->k * c->k * c->out_h * c->out_w;

		if (col > r->col_max)
			r->col_max = col;
	}
	r->macs += (double)c->cout * c->cin * c->k * c->k * c->out_h * c->out_w;
}

/* Check the spec's values. */
static int
check_spec(const embed_resnetv2_spec *s, const char *source)
{
	int i;

	if (s->flavor != EMBED_RESNETV2_TIMM && s->flavor != EMBED_RESNETV2_JEONSWORLD)
		return vv_error(VV_EINVAL, "%s: unknown ResNet flavour %d", source, s->flavor);
	if (s->nstages < 0 || s->nstages > EMBED_RESNETV2_MAX_STAGES)
		return vv_error(VV_EINVAL, "%s: %d ResNet stages (0..%d)", source, s->nstages,
				EMBED_RESNETV2_MAX_STAGES);
	if (s->stem_chs <= 0 || s->stem_chs > 16384 || s->stem_chs % RN_GROUPS)
		return vv_error(VV_EINVAL, "%s: ResNet stem width %d (a multiple of %d)", source,
				s->stem_chs, RN_GROUPS);
	for (i = 0; i < s->nstages; i++)
		if (s->depth[i] <= 0 || s->depth[i] > 1000 || s->chans[i] <= 0 ||
		    s->chans[i] > 65536 || s->chans[i] % (4 * RN_GROUPS))
			return vv_error(VV_EINVAL, "%s: ResNet stage %d: %d units of %d channels "
					"(a multiple of %d)", source, i, s->depth[i], s->chans[i],
					4 * RN_GROUPS);
	return 0;
}

/* Load unit `ui` (stage st, index ui within it) with input cin x h x w. */
static int
load_unit(embed_resnetv2 *r, const rn_load *ld, rn_unit *u, int st, int ui, int cin,
	  int h, int w)
{
	const int tm = r->s.flavor == EMBED_RESNETV2_TIMM;
	const int cout = r->s.chans[st], mid = cout / 4;
	const int stride = (ui == 0 && st > 0) ? 2 : 1;
	const double ws_eps = tm ? 1e-8 : 1e-5, gn_eps = tm ? 1e-5 : 1e-6;
	char base[128], nm[200];
	int err;

	if (tm)
		snprintf(base, sizeof(base), "stages.%d.blocks.%d.", st, ui);
	else
		snprintf(base, sizeof(base), "body.block%d.unit%d.", st + 1, ui + 1);
	/* both references project the shortcut when the shape changes: the
	 * first unit of every stage here */
	u->has_proj = ui == 0 && (stride != 1 || cin != cout);
	if (u->has_proj) {
		snprintf(nm, sizeof(nm), "%s%s", base, tm ? "downsample.conv" : "downsample");
		if ((err = load_conv(ld, &u->proj, nm, cin, cout, 1, stride, ws_eps)))
			return err;
		snprintf(nm, sizeof(nm), "%s%s", base, tm ? "downsample.norm" : "gn_proj");
		/* jeonsworld: nn.GroupNorm(cout, cout), default eps */
		if ((err = load_norm(ld, &u->nproj, nm, cout, tm ? RN_GROUPS : cout, 1e-5)))
			return err;
		conv_geom(&u->proj, r->s.flavor, h, w, 0);
		account(r, &u->proj);
	}
	snprintf(nm, sizeof(nm), "%sconv1", base);
	if ((err = load_conv(ld, &u->c1, nm, cin, mid, 1, 1, ws_eps)))
		return err;
	snprintf(nm, sizeof(nm), "%s%s", base, tm ? "norm1" : "gn1");
	if ((err = load_norm(ld, &u->n1, nm, mid, RN_GROUPS, gn_eps)))
		return err;
	snprintf(nm, sizeof(nm), "%sconv2", base);
	if ((err = load_conv(ld, &u->c2, nm, mid, mid, 3, stride, ws_eps)))
		return err;
	snprintf(nm, sizeof(nm), "%s%s", base, tm ? "norm2" : "gn2");
	if ((err = load_norm(ld, &u->n2, nm, mid, RN_GROUPS, gn_eps)))
		return err;
	snprintf(nm, sizeof(nm), "%sconv3", base);
	if ((err = load_conv(ld, &u->c3, nm, mid, cout, 1, 1, ws_eps)))
		return err;
	snprintf(nm, sizeof(nm), "%s%s", base, tm ? "norm3" : "gn3");
	if ((err = load_norm(ld, &u->n3, nm, cout, RN_GROUPS, gn_eps)))
		return err;
	conv_geom(&u->c1, r->s.flavor, h, w, 0);
	conv_geom(&u->c2, r->s.flavor, h, w, 1);
	conv_geom(&u->c3, r->s.flavor, u->c2.out_h, u->c2.out_w, 0);
	account(r, &u->c1);
	account(r, &u->c2);
	account(r, &u->c3);
	return 0;
}

int
embed_resnetv2_build(const embed_resnetv2_spec *s, embed_tensors *t, const char *prefix,
		     int consume, unsigned char *used, int in_h, int in_w, const char *source,
		     embed_resnetv2 **pm)
{
	rn_load ld = { t, prefix, source, consume, used };
	const int tm = s->flavor == EMBED_RESNETV2_TIMM;
	embed_resnetv2 *r;
	int err, st, ui, k, c, h, w;

	*pm = NULL;
	err = check_spec(s, source);
	if (err)
		return err;
	if (in_h <= 0 || in_w <= 0 || in_h > 65536 || in_w > 65536)
		return vv_error(VV_EINVAL, "%s: image size %dx%d", source, in_w, in_h);
	err = check_depth(s, &ld);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return vv_error(VV_ENOMEM, "out of memory");
	r->s = *s;
	r->in_h = in_h;
	r->in_w = in_w;
	for (st = 0; st < s->nstages; st++)
		r->nunits += s->depth[st];
	r->u = calloc(r->nunits ? (size_t)r->nunits : 1, sizeof(*r->u));
	if (!r->u) {
		err = vv_error(VV_ENOMEM, "out of memory");
		goto out_free;
	}
	/* stem: conv 7x7/2, GN + ReLU, max pool 3x3/2 */
	err = load_conv(&ld, &r->stem, tm ? (s->nstages ? "stem.conv" : "conv") : "root.conv", 3,
			s->stem_chs, 7, 2, tm ? 1e-8 : 1e-5);
	if (err)
		goto out_free;
	err = load_norm(&ld, &r->stem_n, tm ? (s->nstages ? "stem.norm" : "norm") : "root.gn",
			s->stem_chs, RN_GROUPS, tm ? 1e-5 : 1e-6);
	if (err)
		goto out_free;
	conv_geom(&r->stem, s->flavor, in_h, in_w, 3);
	account(r, &r->stem);
	geom(s->flavor, r->stem.out_h, 3, 2, 0, &r->pool_h, &r->pool_t);
	geom(s->flavor, r->stem.out_w, 3, 2, 0, &r->pool_w, &r->pool_l);
	c = s->stem_chs;
	h = r->pool_h;
	w = r->pool_w;
	if (h <= 0 || w <= 0 || r->stem.out_h <= 0 || r->stem.out_w <= 0) {
		err = vv_error(VV_EINVAL, "%s: %dx%d images are too small for the ResNet stem",
			       source, in_w, in_h);
		goto out_free;
	}
	for (st = 0, k = 0; st < s->nstages; st++)
		for (ui = 0; ui < s->depth[st]; ui++, k++) {
			rn_unit *u = &r->u[k];

			err = load_unit(r, &ld, u, st, ui, c, h, w);
			if (err)
				goto out_free;
			c = s->chans[st];
			h = u->c3.out_h;
			w = u->c3.out_w;
			if (h <= 0 || w <= 0) {
				err = vv_error(VV_EINVAL, "%s: %dx%d images are too small for the "
					       "ResNet backbone", source, in_w, in_h);
				goto out_free;
			}
		}
	r->out_c = c;
	r->out_h = h;
	r->out_w = w;
	if ((size_t)c * h * w > r->act_max)
		r->act_max = (size_t)c * h * w;
	*pm = r;
	return 0;
out_free:
	embed_resnetv2_free(&r);
	return err;
}

void
embed_resnetv2_out_shape(const embed_resnetv2 *r, int *c, int *h, int *w)
{
	*c = r->out_c;
	*h = r->out_h;
	*w = r->out_w;
}

const embed_resnetv2_spec *
embed_resnetv2_spec_of(const embed_resnetv2 *r)
{
	return &r->s;
}

double
embed_resnetv2_macs(const embed_resnetv2 *r)
{
	return r->macs;
}

/* Round a float count up to whole 64-byte lines. */
static size_t
lines(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

size_t
embed_resnetv2_scratch_floats(const embed_resnetv2 *r)
{
	/* cur, t1, t2, shortcut, im2col */
	return 4 * lines(r->act_max) + lines(r->col_max ? r->col_max : 1);
}

/* ------------------------------------------------------------------ */
/* Forward pass                                                        */

/*
 * im2col of `in` (cin x in_h x in_w) for conv c: rows (channel, ky, kx) as
 * the weight flattens, columns the output positions; zeros outside.
 */
static void
im2col(const rn_conv *c, const float *in, float *col)
{
	const int oh = c->out_h, ow = c->out_w, k = c->k, s = c->stride;
	int ch, ky, kx, oy, ox;

	for (ch = 0; ch < c->cin; ch++) {
		const float *plane = in + (size_t)ch * c->in_h * c->in_w;

		for (ky = 0; ky < k; ky++)
			for (kx = 0; kx < k; kx++) {
				/* output columns ox whose input column is inside: [x0, x1) */
				int x0 = 0, x1 = ow;

				while (x0 < ow && x0 * s - c->pad_l + kx < 0)
					x0++;
				while (x1 > x0 && (x1 - 1) * s - c->pad_l + kx >= c->in_w)
					x1--;
				for (oy = 0; oy < oh; oy++, col += ow) {
					int iy = oy * s - c->pad_t + ky;
					const float *src;

					if (iy < 0 || iy >= c->in_h) {
						memset(col, 0, (size_t)ow * sizeof(float));
						continue;
					}
					src = plane + (size_t)iy * c->in_w - c->pad_l + kx;
					for (ox = 0; ox < x0; ox++)
						col[ox] = 0.0f;
					if (s == 1)
						memcpy(col + x0, src + x0, (size_t)(x1 - x0) * sizeof(float));
					else
						for (ox = x0; ox < x1; ox++)
							col[ox] = src[(size_t)ox * s];
					for (ox = x1; ox < ow; ox++)
						col[ox] = 0.0f;
				}
			}
	}
}

/* out (cout x out_h x out_w) = conv c of in; `col` im2col scratch. */
static void
conv_run(const rn_conv *c, const float *in, float *col, float *out)
{
	const int n = c->out_h * c->out_w, kk = c->cin * c->k * c->k;
	const float *b = in;

	if (c->k > 1 || c->stride > 1 || c->pad_t || c->pad_l) {
		im2col(c, in, col);
		b = col;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, n, kk, 1.0f, c->w, kk,
		    b, n, 0.0f, out, n);
}

/*
 * Mean and biased variance of n floats in one pass: sums of (x - s) and
 * (x - s)^2 around the first value s (so that a large mean does not cancel
 * the variance away), four independent double accumulators each.
 */
static void
moments(const float *p, size_t n, double *mean, double *var)
{
	const double s = p[0];
	double a0 = 0, a1 = 0, a2 = 0, a3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0, d, m;
	size_t i;

	for (i = 0; i + 4 <= n; i += 4) {
		double d0 = p[i] - s, d1 = p[i + 1] - s, d2 = p[i + 2] - s, d3 = p[i + 3] - s;

		a0 += d0;
		a1 += d1;
		a2 += d2;
		a3 += d3;
		q0 += d0 * d0;
		q1 += d1 * d1;
		q2 += d2 * d2;
		q3 += d3 * d3;
	}
	for (; i < n; i++) {
		d = p[i] - s;
		a0 += d;
		q0 += d * d;
	}
	m = (a0 + a1 + a2 + a3) / (double)n;
	*mean = s + m;
	*var = (q0 + q1 + q2 + q3) / (double)n - m * m;
	if (*var < 0)
		*var = 0;
}

/*
 * GroupNorm of x (c x hw), in place, then ReLU when `relu`: each group's
 * channels are contiguous; mean and biased variance in double.
 */
static void
group_norm(const rn_norm *g, float *x, size_t hw, int relu)
{
	const int cpg = g->c / g->groups;
	const size_t n = (size_t)cpg * hw;
	int gi, ch;
	size_t i;

	for (gi = 0; gi < g->groups; gi++) {
		float *p = x + (size_t)gi * n;
		double m, v, rstd;

		moments(p, n, &m, &v);
		rstd = 1.0 / sqrt(v + g->eps);
		for (ch = gi * cpg; ch < (gi + 1) * cpg; ch++, p += hw) {
			const float sc = (float)(g->w[ch] * rstd);
			const float sh = (float)(g->b[ch] - m * rstd * g->w[ch]);

			if (relu)
				for (i = 0; i < hw; i++) {
					float y = p[i] * sc + sh;

					p[i] = y > 0.0f ? y : 0.0f;
				}
			else
				for (i = 0; i < hw; i++)
					p[i] = p[i] * sc + sh;
		}
	}
}

/* 3x3/2 max pool of the stem output (padding positions ignored). */
static void
max_pool(const embed_resnetv2 *r, const float *in, float *out)
{
	const int ih = r->stem.out_h, iw = r->stem.out_w;
	int ch, oy, ox, ky, kx;

	for (ch = 0; ch < r->s.stem_chs; ch++) {
		const float *p = in + (size_t)ch * ih * iw;

		for (oy = 0; oy < r->pool_h; oy++)
			for (ox = 0; ox < r->pool_w; ox++) {
				float m = -FLT_MAX;

				for (ky = 0; ky < 3; ky++) {
					int iy = oy * 2 - r->pool_t + ky;

					if (iy < 0 || iy >= ih)
						continue;
					for (kx = 0; kx < 3; kx++) {
						int ix = ox * 2 - r->pool_l + kx;

						if (ix >= 0 && ix < iw && p[(size_t)iy * iw + ix] > m)
							m = p[(size_t)iy * iw + ix];
					}
				}
				*out++ = m;
			}
	}
}

void
embed_resnetv2_forward(const embed_resnetv2 *r, const float *img, float *scratch, float *out)
{
	const size_t a = lines(r->act_max);
	float *cur = scratch, *t1 = cur + a, *t2 = t1 + a, *sc = t2 + a, *col = sc + a;
	int k, blas;

	/* OpenBLAS's threaded sgemm does not give the single-threaded bytes
	 * (seen with its Haswell kernels): one thread, whatever the caller's
	 * count, so that the output never depends on it.  The ViT's workers
	 * already run one thread each; only a lone caller changes the count. */
	blas = vv_blas_serial_begin();

	conv_run(&r->stem, img, col, t1);
	group_norm(&r->stem_n, t1, (size_t)r->stem.out_h * r->stem.out_w, 1);
	max_pool(r, t1, r->nunits ? cur : out);
	for (k = 0; k < r->nunits; k++) {
		const rn_unit *u = &r->u[k];
		const size_t hw = (size_t)u->c3.out_h * u->c3.out_w, n = (size_t)u->c3.cout * hw;
		const float *s = cur;
		float *dst = k == r->nunits - 1 ? out : cur;
		size_t i;

		if (u->has_proj) {
			conv_run(&u->proj, cur, col, sc);
			group_norm(&u->nproj, sc, hw, 0);
			s = sc;
		}
		conv_run(&u->c1, cur, col, t1);
		group_norm(&u->n1, t1, (size_t)u->c1.out_h * u->c1.out_w, 1);
		conv_run(&u->c2, t1, col, t2);
		group_norm(&u->n2, t2, hw, 1);
		conv_run(&u->c3, t2, col, t1);
		group_norm(&u->n3, t1, hw, 0);
		/* out = relu(branch + shortcut); in place over cur is safe (same index) */
		for (i = 0; i < n; i++) {
			float y = t1[i] + s[i];

			dst[i] = y > 0.0f ? y : 0.0f;
		}
	}
	vv_blas_serial_end(blas);
}
