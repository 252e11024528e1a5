/*
 * embed_labels.h - which classifier output belongs to which class of the
 * data set.
 *
 * A data set numbers its classes in its own order (image folders: folder
 * names sorted; CIFAR: the batch's label bytes), a model in its config's
 * id2label order.  The two are matched by name, ignoring ASCII case and
 * leading, trailing and repeated whitespace.  When the names do not match,
 * the caller must say how: a label map (a CSV file with the header
 * data_class,model_class, one row per data set class) or "by index" (data
 * set class j is model output j).  A model without class names (every
 * label "LABEL_<i>", as transformers names them when a config has no
 * id2label, and timm checkpoints) of the data set's class count is matched
 * by index with a warning.  A model whose classes have other names and
 * another count (an ImageNet head on a 10-class set) is "not comparable":
 * its predictions are kept but not compared with the labels.
 */
#ifndef EMBED_LABELS_H
#define EMBED_LABELS_H

#include <stddef.h>

/* How the classes were matched. */
enum {
	EMBED_LABELS_NONE = 0,     /* not comparable: no column mapping */
	EMBED_LABELS_BY_NAME = 1,  /* names equal (case and spacing aside) */
	EMBED_LABELS_BY_MAP = 2,   /* through the --label-map file */
	EMBED_LABELS_BY_INDEX = 3, /* column j is class j (asked, or no names) */
};

typedef struct embed_label_opts {
	const char *map_path; /* CSV data_class,model_class, or NULL */
	int by_index;         /* 1: column j is class j, whatever the names */
} embed_label_opts;

/*
 * Match the `nd` data set classes `data_names` (named after `data_what` in
 * messages, e.g. the data root) with the `nm` model outputs `model_names`
 * (`model_what`: e.g. the config file).  On success *mode is EMBED_LABELS_*
 * and, unless it is EMBED_LABELS_NONE, col[j] (nd entries) is the model
 * output of data set class j; distinct data set classes get distinct
 * outputs.  Names that do not match without a map or by_index are
 * VV_EMISMATCH with one line listing both sides; a bad map file is
 * VV_EFORMAT / VV_ENOTFOUND naming it; by_index with different counts is
 * VV_EMISMATCH.
 */
int embed_labels_match(const char *const *data_names, int nd, const char *data_what,
		       const char *const *model_names, int nm, const char *model_what,
		       const embed_label_opts *o, int *col, int *mode);

/* "none", "by-name", "by-map" or "by-index". */
const char *embed_labels_mode_name(int mode);

/*
 * A short key of the options (empty for the default, "by-index", or
 * "map:<hash of the file's bytes>"), so that a rerun with another mapping
 * recomputes.  VV_ENOTFOUND / VV_EREAD when the map cannot be read.
 */
int embed_labels_opts_key(const embed_label_opts *o, char out[48]);

/* Lower-case ASCII, trim, collapse whitespace runs: the compared form. */
void embed_labels_normalize(const char *in, char *out, size_t n);

#endif
