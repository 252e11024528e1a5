/* embed_timm_args.c - the keys of timm's args.yaml that vitviz needs. */
#include "embed/formats/embed_timm_args.h"
#include "common/vv_error.h"
#include "common/vv_fs.h"
#include "embed/images/embed_image.h"
#include "embed/embed_pool.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Most values kept from one sequence (input_size, mean, std). */
#define MAX_SEQ 8
/* Longest model name accepted. */
#define MAX_MODEL 200

/* One parse: the libyaml parser, the current event and the limits. */
typedef struct reader {
	const char *name;   /* for messages */
	yaml_parser_t p;    /* libyaml's event parser */
	yaml_event_t ev;    /* the current event (valid when have_ev) */
	int have_ev;        /* ev must be deleted */
	size_t events;      /* events read so far */
	int depth;          /* open mappings and sequences */
} reader;

/* A scalar or a short sequence of scalars, as read for a known key. */
typedef struct value {
	int kind;              /* V_NULL, V_SCALAR, V_SEQ, V_OTHER */
	int line;              /* 1-based line of the value */
	char *s[MAX_SEQ];      /* the scalar(s), malloc'd */
	int n;                 /* number of scalars in s */
	int quoted;            /* the (first) scalar was quoted */
} value;

enum { V_NULL, V_SCALAR, V_SEQ, V_OTHER };

void
embed_timm_args_init(embed_timm_args *a)
{
	memset(a, 0, sizeof(*a));
	a->interpolation = -1;
	a->global_pool = -1;
}

void
embed_timm_args_reset(embed_timm_args *a)
{
	free(a->model);
	free(a->class_map);
	embed_timm_args_init(a);
}

static void
value_free(value *v)
{
	int i;

	for (i = 0; i < v->n; i++)
		free(v->s[i]);
	memset(v, 0, sizeof(*v));
}

/* Next event into r->ev, enforcing the limits. */
static int
next(reader *r)
{
	if (r->have_ev) {
		yaml_event_delete(&r->ev);
		r->have_ev = 0;
	}
	if (!yaml_parser_parse(&r->p, &r->ev))
		return vv_error(VV_EFORMAT, "%s:%lu: not valid YAML: %s%s%s", r->name,
				(unsigned long)r->p.problem_mark.line + 1,
				r->p.problem ? r->p.problem : "parse error",
				r->p.context ? " " : "", r->p.context ? r->p.context : "");
	r->have_ev = 1;
	if (++r->events > EMBED_TIMM_ARGS_MAX_EVENTS)
		return vv_error(VV_EFORMAT, "%s: more than %d YAML events (not an args.yaml)",
				r->name, EMBED_TIMM_ARGS_MAX_EVENTS);
	switch (r->ev.type) {
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (++r->depth > EMBED_TIMM_ARGS_MAX_DEPTH)
			return vv_error(VV_EFORMAT, "%s:%lu: nested deeper than %d levels "
					"(not an args.yaml)", r->name,
					(unsigned long)r->ev.start_mark.line + 1,
					EMBED_TIMM_ARGS_MAX_DEPTH);
		break;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		r->depth--;
		break;
	default:
		break;
	}
	return 0;
}

static int
line_of(const reader *r)
{
	return (int)r->ev.start_mark.line + 1;
}

/* Skip the value whose first event is current (a whole collection). */
static int
skip_value(reader *r)
{
	int base = r->depth, err;

	if (r->ev.type != YAML_MAPPING_START_EVENT && r->ev.type != YAML_SEQUENCE_START_EVENT)
		return 0;
	base--; /* depth before the collection opened */
	while (r->depth > base) {
		err = next(r);
		if (err)
			return err;
	}
	return 0;
}

/* A plain scalar that YAML 1.1 (PyYAML) resolves to null. */
static int
is_null(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static char *
scalar_dup(const yaml_event_t *ev)
{
	return vv_strdup((const char *)ev->data.scalar.value);
}

/* Read the value whose first event is current into v. */
static int
read_value(reader *r, value *v)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->line = line_of(r);
	switch (r->ev.type) {
	case YAML_SCALAR_EVENT:
		if (is_null(&r->ev)) {
			v->kind = V_NULL;
			return 0;
		}
		v->kind = V_SCALAR;
		v->quoted = r->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		v->s[0] = scalar_dup(&r->ev);
		if (!v->s[0])
			return VV_ENOMEM;
		v->n = 1;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		v->kind = V_SEQ;
		for (;;) {
			err = next(r);
			if (err)
				return err;
			if (r->ev.type == YAML_SEQUENCE_END_EVENT)
				return 0;
			if (r->ev.type != YAML_SCALAR_EVENT || v->n == MAX_SEQ) {
				v->kind = V_OTHER;
				err = skip_value(r);
				if (err)
					return err;
				continue;
			}
			if (v->kind == V_SEQ) {
				v->s[v->n] = scalar_dup(&r->ev);
				if (!v->s[v->n])
					return VV_ENOMEM;
				v->n++;
			}
		}
	default:
		v->kind = V_OTHER; /* a mapping or an alias */
		return skip_value(r);
	}
}

static int
bad_type(const reader *r, const char *key, const value *v, const char *want)
{
	return vv_error(VV_EFORMAT, "%s:%d: %s must be %s", r->name, v->line, key, want);
}

/* A finite number from a whole scalar. */
static int
to_double(const char *s, double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(x))
		return -1;
	*out = x;
	return 0;
}

static int
to_int(const char *s, int *out, int lo, int hi)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (end == s || *end || errno || x < lo || x > hi)
		return -1;
	*out = (int)x;
	return 0;
}

static int
set_model(reader *r, const value *v, embed_timm_args *a)
{
	const char *s;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SCALAR)
		return bad_type(r, "model", v, "a model name");
	s = v->s[0];
	if (!*s || strlen(s) > MAX_MODEL)
		return bad_type(r, "model", v, "a model name of 1..200 characters");
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-./:", *s))
			return bad_type(r, "model", v, "a model name (letters, digits, _ - . / :)");
	free(a->model);
	a->model = vv_strdup(v->s[0]);
	return a->model ? 0 : VV_ENOMEM;
}

/* class_map: a path (any text of 1..4096 bytes), '' or null for none. */
static int
set_class_map(reader *r, const value *v, embed_timm_args *a)
{
	if (v->kind == V_NULL || (v->kind == V_SCALAR && !*v->s[0]))
		return 0;
	if (v->kind != V_SCALAR || strlen(v->s[0]) > 4096)
		return bad_type(r, "class_map", v, "a file path");
	free(a->class_map);
	a->class_map = vv_strdup(v->s[0]);
	return a->class_map ? 0 : VV_ENOMEM;
}

static int
set_img_size(reader *r, const char *key, const value *v, embed_timm_args *a)
{
	int x;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SCALAR || v->quoted || to_int(v->s[0], &x, 1, 8192))
		return bad_type(r, key, v, "an integer 1..8192 or null");
	a->img_size = x;
	return 0;
}

static int
set_input_size(reader *r, const value *v, embed_timm_args *a)
{
	int c, h, w;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SEQ || v->n != 3 || to_int(v->s[0], &c, 1, 16) ||
	    to_int(v->s[1], &h, 1, 8192) || to_int(v->s[2], &w, 1, 8192))
		return bad_type(r, "input_size", v, "[channels, height, width] or null");
	if (c != 3)
		return vv_error(VV_EUNSUPPORTED, "%s:%d: input_size has %d channels (images are "
				"RGB)", r->name, v->line, c);
	if (h != w)
		return vv_error(VV_EUNSUPPORTED, "%s:%d: input_size %dx%d is not square", r->name,
				v->line, w, h);
	a->img_size = h; /* input_size wins over img_size in timm */
	return 0;
}

static int
set_crop_pct(reader *r, const value *v, embed_timm_args *a)
{
	double x;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SCALAR || v->quoted || to_double(v->s[0], &x) || !(x > 0 && x <= 2))
		return bad_type(r, "crop_pct", v, "a number in (0, 2] or null");
	a->crop_pct = x;
	return 0;
}

static int
set_triple(reader *r, const char *key, const value *v, int *has, float out[3], int positive)
{
	double x[3];
	int i;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SEQ || (v->n != 1 && v->n != 3))
		return bad_type(r, key, v, "a list of 1 or 3 numbers or null");
	for (i = 0; i < v->n; i++)
		if (to_double(v->s[i], &x[i]) || (positive && !(x[i] > 0)))
			return bad_type(r, key, v, positive ? "a list of positive numbers" :
					"a list of numbers");
	for (i = 0; i < 3; i++)
		out[i] = (float)x[v->n == 1 ? 0 : i];
	*has = 1;
	return 0;
}

static int
set_interpolation(reader *r, const value *v, embed_timm_args *a)
{
	static const struct {
		const char *name;
		int mode;
	} modes[] = {
		{ "bilinear", EMBED_RESAMPLE_BILINEAR }, { "bicubic", EMBED_RESAMPLE_BICUBIC },
		{ "nearest", EMBED_RESAMPLE_NEAREST }, { "lanczos", EMBED_RESAMPLE_LANCZOS },
		{ "box", EMBED_RESAMPLE_BOX }, { "hamming", EMBED_RESAMPLE_HAMMING },
	};
	size_t i;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SCALAR)
		return bad_type(r, "interpolation", v, "a name");
	if (!*v->s[0])
		return 0; /* '' = the model's */
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(v->s[0], modes[i].name)) {
			a->interpolation = modes[i].mode;
			return 0;
		}
	return vv_error(VV_EUNSUPPORTED, "%s:%d: interpolation \"%.40s\" (vitviz follows "
			"bilinear, bicubic, nearest, lanczos, box, hamming)", r->name, v->line,
			v->s[0]);
}

static int
set_gp(reader *r, const value *v, embed_timm_args *a)
{
	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SCALAR)
		return bad_type(r, "gp", v, "a pooling name or null");
	if (!strcmp(v->s[0], "token"))
		a->global_pool = EMBED_POOL_CLS;
	else if (!strcmp(v->s[0], "avg"))
		a->global_pool = EMBED_POOL_MEAN;
	else if (*v->s[0])
		return vv_error(VV_EUNSUPPORTED, "%s:%d: gp \"%.40s\" (vitviz follows token and "
				"avg pooling)", r->name, v->line, v->s[0]);
	return 0;
}

static int
set_num_classes(reader *r, const value *v, embed_timm_args *a)
{
	int x;

	if (v->kind == V_NULL)
		return 0;
	if (v->kind != V_SCALAR || v->quoted || to_int(v->s[0], &x, 0, 1000000))
		return bad_type(r, "num_classes", v, "an integer or null");
	a->num_classes = x;
	return 0;
}

/* `model_kwargs: {img_size: N, ...}`: only img_size is looked at. */
static int
read_model_kwargs(reader *r, embed_timm_args *a)
{
	value v;
	int err;

	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return skip_value(r);
	for (;;) {
		char *key;

		err = next(r);
		if (err)
			return err;
		if (r->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		key = r->ev.type == YAML_SCALAR_EVENT ? scalar_dup(&r->ev) : NULL;
		err = skip_value(r);
		if (!err)
			err = next(r);
		if (!err && key && !strcmp(key, "img_size")) {
			err = read_value(r, &v);
			if (!err)
				err = set_img_size(r, "model_kwargs.img_size", &v, a);
			value_free(&v);
		} else if (!err) {
			err = skip_value(r);
		}
		free(key);
		if (err)
			return err;
	}
}

/* Dispatch one top-level key whose value's first event is current. */
static int
read_key(reader *r, const char *key, embed_timm_args *a, int *input_size_seen)
{
	value v;
	int err;

	if (!strcmp(key, "model_kwargs"))
		return read_model_kwargs(r, a);
	if (strcmp(key, "model") && strcmp(key, "img_size") && strcmp(key, "input_size") &&
	    strcmp(key, "crop_pct") && strcmp(key, "mean") && strcmp(key, "std") &&
	    strcmp(key, "interpolation") && strcmp(key, "gp") && strcmp(key, "num_classes") &&
	    strcmp(key, "class_map"))
		return skip_value(r);
	err = read_value(r, &v);
	if (err)
		goto out;
	if (!strcmp(key, "model"))
		err = set_model(r, &v, a);
	else if (!strcmp(key, "img_size"))
		err = *input_size_seen ? 0 : set_img_size(r, "img_size", &v, a);
	else if (!strcmp(key, "input_size")) {
		err = set_input_size(r, &v, a);
		*input_size_seen = v.kind != V_NULL;
	} else if (!strcmp(key, "crop_pct"))
		err = set_crop_pct(r, &v, a);
	else if (!strcmp(key, "mean"))
		err = set_triple(r, "mean", &v, &a->has_mean, a->mean, 0);
	else if (!strcmp(key, "std"))
		err = set_triple(r, "std", &v, &a->has_std, a->std, 1);
	else if (!strcmp(key, "interpolation"))
		err = set_interpolation(r, &v, a);
	else if (!strcmp(key, "gp"))
		err = set_gp(r, &v, a);
	else if (!strcmp(key, "class_map"))
		err = set_class_map(r, &v, a);
	else
		err = set_num_classes(r, &v, a);
out:
	value_free(&v);
	return err;
}

int
embed_timm_args_parse(const char *name, const char *text, size_t len, embed_timm_args *a)
{
	reader r = { .name = name };
	int err, input_size_seen = 0;

	embed_timm_args_init(a);
	if (len > EMBED_TIMM_ARGS_MAX_BYTES)
		return vv_error(VV_EFORMAT, "%s: %zu bytes, more than an args.yaml has (%zu)",
				name, len, EMBED_TIMM_ARGS_MAX_BYTES);
	if (!yaml_parser_initialize(&r.p))
		return vv_error(VV_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
	/* stream start, document start, the top-level mapping */
	if ((err = next(&r)) || (err = next(&r)))
		goto out;
	if (r.ev.type == YAML_STREAM_END_EVENT) {
		err = vv_error(VV_EFORMAT, "%s: empty (no YAML document)", name);
		goto out;
	}
	if ((err = next(&r)))
		goto out;
	if (r.ev.type != YAML_MAPPING_START_EVENT) {
		err = vv_error(VV_EFORMAT, "%s:%d: the top level is not a mapping of argument "
			       "names (not an args.yaml)", name, line_of(&r));
		goto out;
	}
	for (;;) {
		char *key;

		if ((err = next(&r)))
			goto out;
		if (r.ev.type == YAML_MAPPING_END_EVENT)
			break;
		key = r.ev.type == YAML_SCALAR_EVENT ? scalar_dup(&r.ev) : NULL;
		if (r.ev.type == YAML_SCALAR_EVENT && !key) {
			err = VV_ENOMEM;
			goto out;
		}
		err = skip_value(&r); /* a complex key */
		if (!err)
			err = next(&r);
		if (!err)
			err = key ? read_key(&r, key, a, &input_size_seen) : skip_value(&r);
		free(key);
		if (err)
			goto out;
	}
	/* the rest of the stream must parse too (one document is used) */
	while (r.ev.type != YAML_STREAM_END_EVENT)
		if ((err = next(&r)))
			goto out;
out:
	if (r.have_ev)
		yaml_event_delete(&r.ev);
	yaml_parser_delete(&r.p);
	if (err)
		embed_timm_args_reset(a);
	return err;
}

int
embed_timm_args_load(const char *path, embed_timm_args *a)
{
	char *buf;
	size_t len;
	int err;

	embed_timm_args_init(a);
	err = vv_read_file(path, EMBED_TIMM_ARGS_MAX_BYTES, &buf, &len);
	if (err)
		return err;
	err = embed_timm_args_parse(path, buf, len, a);
	free(buf);
	return err;
}
