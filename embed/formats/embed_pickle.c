/* embed_pickle.c - a restricted, data-only unpickler (see embed_pickle.h). */
#include "embed/formats/embed_pickle.h"
#include "common/vv_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest module or attribute name of a GLOBAL opcode. */
#define PKL_MAX_NAME 1024

typedef struct unpickler {
	const char *name;      /* file name for messages */
	const uint8_t *p;      /* the pickle */
	size_t len;            /* its length */
	size_t pos;            /* read position */
	size_t op;             /* offset of the opcode being run */
	embed_pkl_doc *doc;    /* the document being built */
	embed_pkl **stack;     /* value stack */
	size_t sp;             /* values on the stack */
	size_t scap;           /* allocated stack slots */
	size_t marks[EMBED_PKL_MAX_DEPTH]; /* stack heights at open MARKs */
	size_t nmarks;         /* open MARKs */
	embed_pkl **memo;      /* memo slots, NULL where unset */
	size_t mlen;           /* allocated memo slots */
	size_t mset;           /* distinct memo slots set (MEMOIZE index) */
} unpickler;

static int
perr(unpickler *u, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(unpickler *u, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vv_error(code, "%s: %s at byte %zu", u->name, msg, u->op);
}

static int
new_node(unpickler *u, embed_pkl_type type, embed_pkl **out)
{
	embed_pkl *v = NULL;

	*out = NULL;
	if (u->doc->nnodes >= EMBED_PKL_MAX_NODES)
		return perr(u, VV_ENOMEM, "more than %zu pickle values", EMBED_PKL_MAX_NODES);
	v = calloc(1, sizeof(*v));
	if (!v)
		return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
	v->type = type;
	v->next = u->doc->nodes;
	u->doc->nodes = v;
	u->doc->nnodes++;
	*out = v;
	return 0;
}

/* Record that `child` now sits inside `parent`; bounds the nesting depth. */
static int
bump_depth(unpickler *u, embed_pkl *parent, const embed_pkl *child)
{
	int d = child ? child->depth + 1 : 1;

	if (d > EMBED_PKL_MAX_DEPTH)
		return perr(u, VV_EFORMAT, "values nested deeper than %d levels",
			    EMBED_PKL_MAX_DEPTH);
	if (d > parent->depth)
		parent->depth = d;
	return 0;
}

static int
reserve_items(unpickler *u, embed_pkl *c, size_t extra)
{
	size_t need, nc;
	embed_pkl **ni;

	if (c->n > SIZE_MAX / sizeof(*ni) - extra)
		return perr(u, VV_ENOMEM, "container too large");
	need = c->n + extra;
	if (need <= c->cap)
		return 0;
	nc = c->cap ? c->cap : 4;
	while (nc < need)
		nc = nc > SIZE_MAX / (2 * sizeof(*ni)) ? need : nc * 2;
	ni = realloc(c->items, nc * sizeof(*ni));
	if (!ni)
		return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
	c->items = ni;
	c->cap = nc;
	return 0;
}

static int
add_item(unpickler *u, embed_pkl *c, embed_pkl *child)
{
	int err = bump_depth(u, c, child);

	if (!err)
		err = reserve_items(u, c, 1);
	if (err)
		return err;
	c->items[c->n++] = child;
	return 0;
}

static int
push(unpickler *u, embed_pkl *v)
{
	if (u->sp == u->scap) {
		size_t nc = u->scap ? u->scap * 2 : 64;
		embed_pkl **ns;

		if (u->sp >= EMBED_PKL_MAX_STACK)
			return perr(u, VV_ENOMEM, "more than %zu values on the pickle stack",
				    EMBED_PKL_MAX_STACK);
		ns = realloc(u->stack, nc * sizeof(*ns));
		if (!ns)
			return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
		u->stack = ns;
		u->scap = nc;
	}
	u->stack[u->sp++] = v;
	return 0;
}

/* Height of the stack at the innermost open MARK (0 when none). */
static size_t
base(const unpickler *u)
{
	return u->nmarks ? u->marks[u->nmarks - 1] : 0;
}

static int
pop(unpickler *u, embed_pkl **v)
{
	if (u->sp <= base(u))
		return perr(u, VV_EFORMAT, "pickle stack underflow");
	*v = u->stack[--u->sp];
	return 0;
}

static int
top(unpickler *u, embed_pkl **v)
{
	if (u->sp <= base(u))
		return perr(u, VV_EFORMAT, "pickle stack underflow");
	*v = u->stack[u->sp - 1];
	return 0;
}

/* Close the innermost MARK: the values above it are stack[*start .. sp). */
static int
pop_mark(unpickler *u, size_t *start)
{
	if (!u->nmarks)
		return perr(u, VV_EFORMAT, "no MARK on the pickle stack");
	*start = u->marks[--u->nmarks];
	return 0;
}

static int
need(unpickler *u, size_t n)
{
	if (u->len - u->pos < n)
		return perr(u, VV_EFORMAT, "pickle truncated (%zu more bytes needed)",
			    n - (u->len - u->pos));
	return 0;
}

static uint64_t
rd_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
read_uint(unpickler *u, int n, uint64_t *v)
{
	int err = need(u, (size_t)n);

	if (err)
		return err;
	*v = rd_le(u->p + u->pos, n);
	u->pos += (size_t)n;
	return 0;
}

/* STR / BYTES of `n` bytes at the read position. */
static int
push_string(unpickler *u, embed_pkl_type type, uint64_t n)
{
	embed_pkl *v = NULL;
	int err;

	if (n > u->len - u->pos)
		return perr(u, VV_EFORMAT, "string of %llu bytes runs past the end of the pickle",
			    (unsigned long long)n);
	err = new_node(u, type, &v);
	if (err)
		return err;
	v->s = malloc((size_t)n + 1);
	if (!v->s)
		return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
	memcpy(v->s, u->p + u->pos, (size_t)n);
	v->s[n] = '\0';
	v->len = (size_t)n;
	u->pos += (size_t)n;
	return push(u, v);
}

static int
push_int(unpickler *u, embed_pkl_type type, int64_t i)
{
	embed_pkl *v = NULL;
	int err = new_node(u, type, &v);

	if (err)
		return err;
	v->i = i;
	return push(u, v);
}

static int
push_new(unpickler *u, embed_pkl_type type)
{
	embed_pkl *v = NULL;
	int err = new_node(u, type, &v);

	return err ? err : push(u, v);
}

static int
read_line(unpickler *u, char **out)
{
	const uint8_t *nl;
	size_t n, avail = u->len - u->pos;

	*out = NULL;
	nl = memchr(u->p + u->pos, '\n', avail < PKL_MAX_NAME + 1 ? avail : PKL_MAX_NAME + 1);
	if (!nl)
		return perr(u, VV_EFORMAT, "GLOBAL name unterminated or longer than %d bytes",
			    PKL_MAX_NAME);
	n = (size_t)(nl - (u->p + u->pos));
	*out = malloc(n + 1);
	if (!*out)
		return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
	memcpy(*out, u->p + u->pos, n);
	(*out)[n] = '\0';
	u->pos += n + 1;
	return 0;
}

static int
push_global(unpickler *u, char *module, char *name)
{
	embed_pkl *v = NULL;
	int err = new_node(u, EMBED_PKL_GLOBAL, &v);

	if (err) {
		free(module);
		free(name);
		return err;
	}
	v->s = module;
	v->len = strlen(module);
	v->name = name;
	return push(u, v);
}

static int
op_global(unpickler *u)
{
	char *module, *name;
	int err = read_line(u, &module);

	if (err)
		return err;
	err = read_line(u, &name);
	if (err) {
		free(module);
		return err;
	}
	return push_global(u, module, name);
}

static int
op_stack_global(unpickler *u)
{
	embed_pkl *m = NULL, *n = NULL;
	char *module, *name;
	int err;

	if ((err = pop(u, &n)) || (err = pop(u, &m)))
		return err;
	if (m->type != EMBED_PKL_STR || n->type != EMBED_PKL_STR ||
	    m->len > PKL_MAX_NAME || n->len > PKL_MAX_NAME)
		return perr(u, VV_EFORMAT, "STACK_GLOBAL needs two short strings");
	module = strdup(m->s);
	name = strdup(n->s);
	if (!module || !name) {
		free(module);
		free(name);
		return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
	}
	return push_global(u, module, name);
}

static int
memo_put(unpickler *u, uint64_t idx)
{
	embed_pkl *v = NULL;
	int err = top(u, &v);

	if (err)
		return err;
	/* a pickler numbers memo slots from 0, one per PUT, each >= 2 bytes */
	if (idx >= (uint64_t)u->pos + 256)
		return perr(u, VV_EFORMAT, "memo index %llu out of range",
			    (unsigned long long)idx);
	if (idx >= u->mlen) {
		size_t nl = u->mlen ? u->mlen : 64;
		embed_pkl **nm;

		while (nl <= idx)
			nl *= 2;
		nm = realloc(u->memo, nl * sizeof(*nm));
		if (!nm)
			return vv_error(VV_ENOMEM, "%s: out of memory", u->name);
		memset(nm + u->mlen, 0, (nl - u->mlen) * sizeof(*nm));
		u->memo = nm;
		u->mlen = nl;
	}
	if (!u->memo[idx])
		u->mset++;
	u->memo[idx] = v;
	return 0;
}

static int
memo_get(unpickler *u, uint64_t idx)
{
	if (idx >= u->mlen || !u->memo[idx])
		return perr(u, VV_EFORMAT, "memo index %llu out of range",
			    (unsigned long long)idx);
	return push(u, u->memo[idx]);
}

/* Build a TUPLE / LIST / SET from the values stack[start .. sp). */
static int
collect(unpickler *u, embed_pkl_type type, size_t start)
{
	embed_pkl *v = NULL;
	size_t i, n = u->sp - start;
	int err = new_node(u, type, &v);

	if (!err)
		err = reserve_items(u, v, n);
	for (i = 0; !err && i < n; i++)
		err = add_item(u, v, u->stack[start + i]);
	if (err)
		return err;
	u->sp = start;
	return push(u, v);
}

static int
op_tuple_n(unpickler *u, size_t n)
{
	if (u->sp - base(u) < n)
		return perr(u, VV_EFORMAT, "pickle stack underflow");
	return collect(u, EMBED_PKL_TUPLE, u->sp - n);
}


/*
 * The container SETITEM(S) (want DICT), APPEND(S) (want LIST) or ADDITEMS
 * (want SET) on target `t` fills: t itself, or the item record of an
 * inert object.
 */
static int
fill_target(unpickler *u, embed_pkl *t, embed_pkl_type want, embed_pkl **out)
{
	int slot = want == EMBED_PKL_DICT ? EMBED_PKL_OBJ_DICTITEMS : EMBED_PKL_OBJ_LISTITEMS;
	int err;

	if (t->type == want) {
		*out = t;
		return 0;
	}
	if (t->type != EMBED_PKL_OBJECT || want == EMBED_PKL_SET)
		return perr(u, VV_EFORMAT, "%s on a %s",
			    want == EMBED_PKL_DICT ? "SETITEM" :
			    want == EMBED_PKL_LIST ? "APPEND" : "ADDITEMS",
			    embed_pkl_type_name(t->type));
	if (!t->items[slot]) {
		err = new_node(u, want, &t->items[slot]);
		if (err)
			return err;
	}
	*out = t->items[slot];
	return 0;
}

/* Add the values stack[start .. sp) to the container below them. */
static int
fill(unpickler *u, embed_pkl_type want, size_t start)
{
	embed_pkl *t = NULL, *c = NULL;
	size_t i, n = u->sp - start;
	int err;

	if (want == EMBED_PKL_DICT && n % 2)
		return perr(u, VV_EFORMAT, "SETITEMS with an odd number of values");
	u->sp = start;
	err = top(u, &t);
	if (err)
		return err;
	err = fill_target(u, t, want, &c);
	if (!err)
		err = reserve_items(u, c, n);
	for (i = 0; !err && i < n; i++)
		err = add_item(u, c, u->stack[start + i]);
	if (!err && c != t)
		err = bump_depth(u, t, c);
	return err;
}

static int
op_reduce(unpickler *u, int newobj)
{
	embed_pkl *args = NULL, *fn = NULL, *v = NULL;
	int err, i;

	if ((err = pop(u, &args)) || (err = pop(u, &fn)))
		return err;
	/* the one constructor known: collections.OrderedDict() */
	if (embed_pkl_is_global(fn, "collections", "OrderedDict") &&
	    args->type == EMBED_PKL_TUPLE && args->n == 0)
		return push_new(u, EMBED_PKL_DICT);
	err = new_node(u, EMBED_PKL_OBJECT, &v);
	if (!err)
		err = reserve_items(u, v, EMBED_PKL_OBJ_NSLOTS);
	if (err)
		return err;
	for (i = 0; i < EMBED_PKL_OBJ_NSLOTS; i++)
		v->items[i] = NULL;
	v->n = EMBED_PKL_OBJ_NSLOTS;
	v->newobj = newobj;
	v->items[EMBED_PKL_OBJ_CALLABLE] = fn;
	v->items[EMBED_PKL_OBJ_ARGS] = args;
	if ((err = bump_depth(u, v, fn)) || (err = bump_depth(u, v, args)))
		return err;
	return push(u, v);
}

static int
op_build(unpickler *u)
{
	embed_pkl *state = NULL, *t = NULL;
	int err;

	if ((err = pop(u, &state)) || (err = top(u, &t)))
		return err;
	if (t->type == EMBED_PKL_DICT)
		return 0; /* OrderedDict attributes such as _metadata */
	if (t->type != EMBED_PKL_OBJECT)
		return perr(u, VV_EFORMAT, "BUILD on a %s", embed_pkl_type_name(t->type));
	t->items[EMBED_PKL_OBJ_STATE] = state;
	return bump_depth(u, t, state);
}

static int
op_binfloat(unpickler *u)
{
	uint64_t bits = 0;
	embed_pkl *v = NULL;
	int i, err = need(u, 8);

	if (err)
		return err;
	for (i = 0; i < 8; i++)
		bits = bits << 8 | u->p[u->pos + i];
	u->pos += 8;
	err = new_node(u, EMBED_PKL_FLOAT, &v);
	if (err)
		return err;
	memcpy(&v->f, &bits, 8);
	return push(u, v);
}

static int
op_long1(unpickler *u)
{
	uint64_t n, x;
	int err = read_uint(u, 1, &n);

	if (err)
		return err;
	if (n > 8)
		return perr(u, VV_EUNSUPPORTED, "integer of %llu bytes is too large",
			    (unsigned long long)n);
	if ((err = need(u, n)))
		return err;
	x = rd_le(u->p + u->pos, (int)n);
	if (n && n < 8 && (u->p[u->pos + n - 1] & 0x80))
		x |= ~(uint64_t)0 << (8 * n); /* sign-extend */
	u->pos += n;
	return push_int(u, EMBED_PKL_INT, (int64_t)x);
}

static int
op_binpersid(unpickler *u)
{
	embed_pkl *pid = NULL, *v = NULL;
	int err = pop(u, &pid);

	if (!err)
		err = new_node(u, EMBED_PKL_PERSID, &v);
	if (!err)
		err = add_item(u, v, pid);
	return err ? err : push(u, v);
}

/* The value stack[sp - n] sits in the current MARK frame, or an error. */
static int
have(unpickler *u, size_t n)
{
	if (u->sp - base(u) < n)
		return perr(u, VV_EFORMAT, "pickle stack underflow");
	return 0;
}

/* BINPUT / LONG_BINPUT with an n-byte index. */
static int
op_put(unpickler *u, int n)
{
	uint64_t x = 0;
	int err = read_uint(u, n, &x);

	return err ? err : memo_put(u, x);
}

/* BINGET / LONG_BINGET with an n-byte index. */
static int
op_get(unpickler *u, int n)
{
	uint64_t x = 0;
	int err = read_uint(u, n, &x);

	return err ? err : memo_get(u, x);
}

/* A string or bytes opcode with an n-byte length. */
static int
op_string(unpickler *u, embed_pkl_type type, int n)
{
	uint64_t x = 0;
	int err = read_uint(u, n, &x);

	return err ? err : push_string(u, type, x);
}

/* BININT (signed, 4 bytes), BININT1, BININT2 (unsigned). */
static int
op_int(unpickler *u, int n)
{
	uint64_t x = 0;
	int err = read_uint(u, n, &x);

	if (err)
		return err;
	return push_int(u, EMBED_PKL_INT, n == 4 ? (int64_t)(int32_t)(uint32_t)x : (int64_t)x);
}

/* DICT, LIST, TUPLE, FROZENSET: a container of the values since MARK. */
static int
op_collect(unpickler *u, embed_pkl_type type)
{
	size_t start = 0;
	int err = pop_mark(u, &start);

	if (err)
		return err;
	if (type == EMBED_PKL_DICT && (u->sp - start) % 2)
		return perr(u, VV_EFORMAT, "DICT with an odd number of values");
	return collect(u, type, start);
}

/* SETITEMS, APPENDS, ADDITEMS: fill the container below the MARK. */
static int
op_fill_mark(unpickler *u, embed_pkl_type want)
{
	size_t start = 0;
	int err = pop_mark(u, &start);

	return err ? err : fill(u, want, start);
}

/* SETITEM (n = 2) and APPEND (n = 1). */
static int
op_fill(unpickler *u, embed_pkl_type want, size_t n)
{
	int err = have(u, n);

	return err ? err : fill(u, want, u->sp - n);
}

static int
op_proto(unpickler *u)
{
	uint64_t x = 0;
	int err = read_uint(u, 1, &x);

	if (err)
		return err;
	if (x > 5)
		return perr(u, VV_EUNSUPPORTED, "pickle protocol %llu", (unsigned long long)x);
	return 0;
}

static int
op_pop(unpickler *u)
{
	embed_pkl *v = NULL;

	if (u->sp == base(u) && u->nmarks) {
		u->nmarks--; /* POP of an empty frame drops its MARK */
		return 0;
	}
	return pop(u, &v);
}

static int
op_dup(unpickler *u)
{
	embed_pkl *v = NULL;
	int err = top(u, &v);

	return err ? err : push(u, v);
}

static int
op_mark(unpickler *u)
{
	if (u->nmarks >= EMBED_PKL_MAX_DEPTH)
		return perr(u, VV_EFORMAT, "more than %d nested MARKs", EMBED_PKL_MAX_DEPTH);
	u->marks[u->nmarks++] = u->sp;
	return 0;
}

static int
op_pop_mark(unpickler *u)
{
	size_t start = 0;
	int err = pop_mark(u, &start);

	if (!err)
		u->sp = start;
	return err;
}

static int
op_binstring(unpickler *u)
{
	uint64_t x = 0;
	int err = read_uint(u, 4, &x);

	if (err)
		return err;
	if (x & 0x80000000u)
		return perr(u, VV_EFORMAT, "BINSTRING with a negative length");
	return push_string(u, EMBED_PKL_STR, x);
}

static int
op_newobj_ex(unpickler *u)
{
	embed_pkl *kwargs = NULL;
	int err = pop(u, &kwargs); /* kept nowhere: nothing is called */

	return err ? err : op_reduce(u, 1);
}

/* Run one opcode; *stop is set by STOP. */
static int
step(unpickler *u, int *stop)
{
	uint64_t x = 0;
	int err;
	uint8_t c;

	u->op = u->pos;
	c = u->p[u->pos++];
	switch (c) {
	case 0x80: return op_proto(u);                          /* PROTO */
	case 0x95: return read_uint(u, 8, &x);                  /* FRAME */
	case '.':                                               /* STOP */
		err = pop(u, &u->doc->root);
		*stop = !err;
		return err;
	case '(': return op_mark(u);                            /* MARK */
	case '0': return op_pop(u);                             /* POP */
	case '1': return op_pop_mark(u);                        /* POP_MARK */
	case '2': return op_dup(u);                             /* DUP */
	case 'c': return op_global(u);                          /* GLOBAL */
	case 0x93: return op_stack_global(u);                   /* STACK_GLOBAL */
	case 'q': return op_put(u, 1);                          /* BINPUT */
	case 'r': return op_put(u, 4);                          /* LONG_BINPUT */
	case 0x94: return memo_put(u, u->mset);                 /* MEMOIZE */
	case 'h': return op_get(u, 1);                          /* BINGET */
	case 'j': return op_get(u, 4);                          /* LONG_BINGET */
	case '}': return push_new(u, EMBED_PKL_DICT);           /* EMPTY_DICT */
	case ']': return push_new(u, EMBED_PKL_LIST);           /* EMPTY_LIST */
	case ')': return push_new(u, EMBED_PKL_TUPLE);          /* EMPTY_TUPLE */
	case 0x8f: return push_new(u, EMBED_PKL_SET);           /* EMPTY_SET */
	case 'd': return op_collect(u, EMBED_PKL_DICT);         /* DICT */
	case 'l': return op_collect(u, EMBED_PKL_LIST);         /* LIST */
	case 't': return op_collect(u, EMBED_PKL_TUPLE);        /* TUPLE */
	case 0x91: return op_collect(u, EMBED_PKL_SET);         /* FROZENSET */
	case 0x85: return op_tuple_n(u, 1);                     /* TUPLE1 */
	case 0x86: return op_tuple_n(u, 2);                     /* TUPLE2 */
	case 0x87: return op_tuple_n(u, 3);                     /* TUPLE3 */
	case 's': return op_fill(u, EMBED_PKL_DICT, 2);         /* SETITEM */
	case 'u': return op_fill_mark(u, EMBED_PKL_DICT);       /* SETITEMS */
	case 'a': return op_fill(u, EMBED_PKL_LIST, 1);         /* APPEND */
	case 'e': return op_fill_mark(u, EMBED_PKL_LIST);       /* APPENDS */
	case 0x90: return op_fill_mark(u, EMBED_PKL_SET);       /* ADDITEMS */
	case 'X': return op_string(u, EMBED_PKL_STR, 4);        /* BINUNICODE */
	case 0x8c: return op_string(u, EMBED_PKL_STR, 1);       /* SHORT_BINUNICODE */
	case 0x8d: return op_string(u, EMBED_PKL_STR, 8);       /* BINUNICODE8 */
	case 'T': return op_binstring(u);                       /* BINSTRING */
	case 'U': return op_string(u, EMBED_PKL_STR, 1);        /* SHORT_BINSTRING */
	case 'B': return op_string(u, EMBED_PKL_BYTES, 4);      /* BINBYTES */
	case 'C': return op_string(u, EMBED_PKL_BYTES, 1);      /* SHORT_BINBYTES */
	case 0x8e: return op_string(u, EMBED_PKL_BYTES, 8);     /* BINBYTES8 */
	case 0x96: return op_string(u, EMBED_PKL_BYTES, 8);     /* BYTEARRAY8 */
	case 'J': return op_int(u, 4);                          /* BININT */
	case 'K': return op_int(u, 1);                          /* BININT1 */
	case 'M': return op_int(u, 2);                          /* BININT2 */
	case 0x8a: return op_long1(u);                          /* LONG1 */
	case 'G': return op_binfloat(u);                        /* BINFLOAT */
	case 0x88: return push_int(u, EMBED_PKL_BOOL, 1);       /* NEWTRUE */
	case 0x89: return push_int(u, EMBED_PKL_BOOL, 0);       /* NEWFALSE */
	case 'N': return push_new(u, EMBED_PKL_NONE);           /* NONE */
	case 'Q': return op_binpersid(u);                       /* BINPERSID */
	case 'R': return op_reduce(u, 0);                       /* REDUCE */
	case 0x81: return op_reduce(u, 1);                      /* NEWOBJ */
	case 0x92: return op_newobj_ex(u);                      /* NEWOBJ_EX */
	case 'b': return op_build(u);                           /* BUILD */
	default:
		return perr(u, VV_EUNSUPPORTED, "unsupported pickle opcode 0x%02x", c);
	}
}

int
embed_pickle_load(const char *name, const void *buf, size_t len, embed_pkl_doc **pd)
{
	return embed_pickle_load_prefix(name, buf, len, pd, NULL);
}

int
embed_pickle_load_prefix(const char *name, const void *buf, size_t len,
			 embed_pkl_doc **pd, size_t *used)
{
	unpickler u;
	int err = 0, stop = 0;

	*pd = NULL;
	memset(&u, 0, sizeof(u));
	u.name = name;
	u.p = buf;
	u.len = len > EMBED_PKL_MAX_LEN && used ? EMBED_PKL_MAX_LEN : len;
	if (u.len > EMBED_PKL_MAX_LEN)
		return vv_error(VV_EUNSUPPORTED, "%s: pickle of %zu bytes is larger than %zu",
				name, len, EMBED_PKL_MAX_LEN);
	u.doc = calloc(1, sizeof(*u.doc));
	if (!u.doc)
		return vv_error(VV_ENOMEM, "%s: out of memory", name);
	while (!err && !stop) {
		if (u.pos >= u.len) {
			u.op = u.pos;
			err = perr(&u, VV_EFORMAT, "pickle ends without STOP");
			break;
		}
		err = step(&u, &stop);
	}
	free(u.stack);
	free(u.memo);
	if (err < 0) {
		embed_pickle_free(&u.doc);
		return err;
	}
	*pd = u.doc;
	if (used)
		*used = u.pos;
	return 0;
}

void
embed_pickle_free(embed_pkl_doc **pd)
{
	embed_pkl *v, *next;

	if (!*pd)
		return;
	for (v = (*pd)->nodes; v; v = next) {
		next = v->next;
		free(v->s);
		free(v->name);
		free(v->items);
		free(v);
	}
	free(*pd);
	*pd = NULL;
}

int
embed_pkl_is_str(const embed_pkl *v, const char *s)
{
	return v && v->type == EMBED_PKL_STR && v->len == strlen(s) && !memcmp(v->s, s, v->len);
}

const embed_pkl *
embed_pkl_dict_get(const embed_pkl *d, const char *key)
{
	const embed_pkl *found = NULL;
	size_t i;

	if (!d || d->type != EMBED_PKL_DICT)
		return NULL;
	for (i = 0; i + 1 < d->n; i += 2)
		if (embed_pkl_is_str(d->items[i], key))
			found = d->items[i + 1];
	return found;
}

int
embed_pkl_is_global(const embed_pkl *v, const char *module, const char *name)
{
	return v && v->type == EMBED_PKL_GLOBAL && !strcmp(v->s, module) &&
	       !strcmp(v->name, name);
}

const char *
embed_pkl_type_name(embed_pkl_type t)
{
	static const char *const names[] = {
		"None", "bool", "int", "float", "str", "bytes", "tuple", "list",
		"set", "dict", "global", "object", "persistent id",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}
