// Package series measures a run of checkpoints of one model: every
// statistic of every parameter's states at every step, and the change of
// each fp32 master weight from one checkpoint to the next, as long-format
// rows (one per checkpoint, parameter and state) ready for a data frame.
//
// A run is found with [Find] (a Hugging Face Trainer output_dir holding
// checkpoint-N/ folders, a DeepSpeed save folder holding global_stepN tag
// folders, or checkpoints given one by one), opened and ordered by step
// with [Open] (which refuses to mix checkpoints of different models, see
// ckpt.SameModel), and measured by [Series.Run]: one pass per checkpoint,
// reading the checkpoint's states in full together with the fp32 master
// weights of its predecessor (ckpt.ScanOptions.Prev), so that a run of N
// checkpoints is read about once, in bounded memory, two checkpoints open
// at a time. With Options.Effective the rows of state [EffectiveState]
// add the effective weights (WeSaR scale factors and the config's
// multipliers applied), measured in the same pass.
//
// With Options.CacheDir, each checkpoint's figures are kept in a cache
// keyed by the sizes and modification times of its files: a run measured
// again after a new checkpoint has landed reads only the new checkpoint
// (and its predecessor's fp32 weights, for the change between them).
//
// [Aggregate] adds rows up per step, decoder layer and kind of parameter
// (yulan.Kind) for charts against step.
//
// Numbers follow package ckpt and tensor: float64 accumulation over the
// finite elements; a figure that is undefined (no finite element; no
// predecessor; an update that cannot be computed) is NaN in a [Row].
package series
