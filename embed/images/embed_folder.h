/*
 * embed_folder.h - image folders root/<class>/<image> behind
 * embed_dataset.h, ordered as torchvision's ImageFolder orders them.
 */
#ifndef EMBED_FOLDER_H
#define EMBED_FOLDER_H

#include "embed/images/embed_dataset.h"

/*
 * Fill d->samples and class names from the folder d->root.  Classes are
 * the subfolders, sorted by name in byte order; within a class the files
 * of every folder below it (symbolic links followed, at most 16 deep) in
 * the order of Python's sorted(os.walk(...)) then sorted(files), as
 * ImageFolder does.  Kept: .jpg .jpeg .png in any case.  Names starting
 * with "." are skipped (ImageFolder would keep them).  No class folder,
 * or no image at all, is VV_ENOTFOUND naming the folder.
 */
int embed_folder_open(embed_dataset *d);

/* 1 when `name` ends in .jpg, .jpeg or .png, any case. */
int embed_folder_is_image_name(const char *name);

#endif
