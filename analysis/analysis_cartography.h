/*
 * analysis_cartography.h - export a work folder's logits the way Dataset
 * Cartography (allenai/cartography) logs training dynamics, so that its
 * scripts (cartography.selection.train_dy_filtering --plot, read with
 * read_training_dynamics) and their forks run on a vitviz work folder.
 *
 * One file per checkpoint, in step order: <dir>/dynamics_epoch_<i>.jsonl
 * (i = 0 for the first checkpoint), one JSON object per sample and line:
 *   {"guid": <sample index>, "logits_epoch_<i>": [<C logits>], "gold": <label>}
 * Logits are written with 9 significant digits (float32 round-trips).
 */
#ifndef ANALYSIS_CARTOGRAPHY_H
#define ANALYSIS_CARTOGRAPHY_H

/*
 * Write the files for every checkpoint of `workdir` into `dir` (created if
 * needed), each atomically.  Checkpoints without logits, or whose head's
 * classes are not the dataset's: VV_EUNSUPPORTED naming one, before
 * anything is written; NaN/Inf logits VV_EFORMAT naming file and row.
 */
int analysis_cartography_export(const char *workdir, const char *dir);

#endif
