/*
 * embed_pickle.h - a restricted, data-only unpickler.
 *
 * It turns a Python pickle (protocols 2 to 5, the subset torch.save writes)
 * into an inert tree of values.  Nothing is ever looked up or called: a
 * GLOBAL becomes a name, REDUCE / NEWOBJ an inert record of the callable and
 * its arguments, BINPERSID a record of its payload.  The one constructor it
 * knows is collections.OrderedDict() (REDUCE with no arguments), which
 * becomes an ordered dict so that SETITEMS can fill it.
 *
 * Every count is bounded: pickle length, stack size, open MARKs, memo index,
 * nesting depth, string length and node count.  All nodes belong to the
 * document (an arena), so memo references may be shared, even cyclic, and
 * freeing is one flat walk: no double free, no recursion.
 */
#ifndef EMBED_PICKLE_H
#define EMBED_PICKLE_H

#include <stddef.h>
#include <stdint.h>

/* Largest data.pkl accepted, in bytes. */
#define EMBED_PKL_MAX_LEN ((size_t)256 << 20)
/* Deepest nesting of containers and of open MARKs. */
#define EMBED_PKL_MAX_DEPTH 512
/* Most values on the stack at once. */
#define EMBED_PKL_MAX_STACK ((size_t)1 << 20)
/* Most nodes in one document. */
#define EMBED_PKL_MAX_NODES ((size_t)1 << 23)

typedef enum embed_pkl_type {
	EMBED_PKL_NONE = 0,
	EMBED_PKL_BOOL,    /* i is 0 or 1 */
	EMBED_PKL_INT,     /* i */
	EMBED_PKL_FLOAT,   /* f */
	EMBED_PKL_STR,     /* s, len bytes (NUL-terminated; may hold NULs) */
	EMBED_PKL_BYTES,   /* s, len bytes */
	EMBED_PKL_TUPLE,   /* items[0..n) */
	EMBED_PKL_LIST,    /* items[0..n) */
	EMBED_PKL_SET,     /* items[0..n) (set or frozenset) */
	EMBED_PKL_DICT,    /* items[2k] key, items[2k+1] value, k < n/2, in order */
	EMBED_PKL_GLOBAL,  /* s = module, name = attribute: an inert name */
	EMBED_PKL_OBJECT,  /* items[EMBED_PKL_OBJ_*], see below */
	EMBED_PKL_PERSID,  /* items[0] = the persistent id value */
} embed_pkl_type;

/* Slots of an EMBED_PKL_OBJECT (any may be NULL except CALLABLE and ARGS). */
enum {
	EMBED_PKL_OBJ_CALLABLE = 0, /* what REDUCE / NEWOBJ would have called */
	EMBED_PKL_OBJ_ARGS,         /* its argument tuple */
	EMBED_PKL_OBJ_STATE,        /* the BUILD state, if any */
	EMBED_PKL_OBJ_DICTITEMS,    /* a DICT of SETITEM(S) applied to it */
	EMBED_PKL_OBJ_LISTITEMS,    /* a LIST of APPEND(S) applied to it */
	EMBED_PKL_OBJ_NSLOTS
};

typedef struct embed_pkl embed_pkl;
struct embed_pkl {
	embed_pkl_type type; /* what this node is */
	int newobj;          /* OBJECT: made by NEWOBJ(_EX) rather than REDUCE */
	int depth;           /* containers: 1 + deepest child seen when added */
	int64_t i;           /* BOOL / INT value */
	double f;            /* FLOAT value */
	char *s;             /* STR / BYTES data, GLOBAL module */
	size_t len;          /* length of s in bytes */
	char *name;          /* GLOBAL attribute name */
	embed_pkl **items;   /* children (see the types) */
	size_t n;            /* number of children */
	size_t cap;          /* allocated slots in items */
	embed_pkl *next;     /* next node of the document (arena list) */
};

typedef struct embed_pkl_doc {
	embed_pkl *root;  /* the value STOP returned */
	embed_pkl *nodes; /* every node, for freeing */
	size_t nnodes;    /* number of nodes */
} embed_pkl_doc;

/*
 * Unpickle `len` bytes into *pd.  `name` (the file) starts every error
 * message, e.g. "x.pth: data.pkl: unsupported pickle opcode 0x69 at byte 12".
 * VV_EFORMAT for malformed input, VV_EUNSUPPORTED for opcodes outside the
 * subset, VV_ENOMEM when a bound is hit or memory runs out.
 */
int embed_pickle_load(const char *name, const void *buf, size_t len,
		      embed_pkl_doc **pd);

/*
 * Like embed_pickle_load() for a pickle followed by more data (the legacy
 * torch.save format is several pickles in a row): *used is the number of
 * bytes up to and including STOP.
 */
int embed_pickle_load_prefix(const char *name, const void *buf, size_t len,
			     embed_pkl_doc **pd, size_t *used);

/* Free a document and all its nodes; *pd becomes NULL (NULL-safe). */
void embed_pickle_free(embed_pkl_doc **pd);

/* The value stored under string key `key` in a DICT (last one wins), or NULL. */
const embed_pkl *embed_pkl_dict_get(const embed_pkl *d, const char *key);

/* 1 when v is the GLOBAL module.name, else 0. */
int embed_pkl_is_global(const embed_pkl *v, const char *module, const char *name);

/* 1 when v is a STR equal to s (no embedded NUL), else 0. */
int embed_pkl_is_str(const embed_pkl *v, const char *s);

/* "None", "int", "dict", ... */
const char *embed_pkl_type_name(embed_pkl_type t);

#endif
