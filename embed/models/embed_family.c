/* embed_family.c - the table of model families and the lookup in it. */
#include "embed/models/embed_family.h"
#include "common/vv_error.h"
#include "embed/models/embed_swin.h"
#include "embed/models/embed_vit_family.h"

#include <string.h>

/*
 * Every family, asked in this order; the first whose detect() says yes
 * opens the checkpoint.  The ViT family is last: it takes HF folders
 * without a model_type and timm files whose architecture is a ViT (or
 * not named at all, to give its "give --arch" message).
 */
static const embed_family *const families[] = {
	&embed_family_swin,
	&embed_family_vit,
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

const embed_family *
embed_family_find(const embed_family_probe *p)
{
	size_t i;

	for (i = 0; i < NFAMILIES; i++)
		if (families[i]->detect(p))
			return families[i];
	if (p->model_type)
		vv_error(VV_EUNSUPPORTED, "%s: model_type \"%.60s\" is not a model vitviz reads "
			 "(it reads vit, swin)", p->config_path, p->model_type);
	else
		vv_error(VV_EUNSUPPORTED, "%s: no model family reads this checkpoint",
			 p->ck->weights);
	return NULL;
}

const embed_family *
embed_family_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < NFAMILIES; i++)
		if (!strcmp(families[i]->name, name))
			return families[i];
	return NULL;
}
