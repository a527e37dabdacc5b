package resume

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// cfgKey names a key of the configuration: "ds.json zero_optimization.stage".
func (b *builder) cfgKey(key string) string {
	if b.p.DSConfig.From == "file" {
		return filepath.Base(b.cfg.Path) + " " + key
	}
	return b.rel(b.cfg.Path) + " " + key
}

// rel names a file of the checkpoint relative to its folder.
func (b *builder) rel(path string) string {
	if r, err := filepath.Rel(b.f.dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

func tagDesc(tag, file string) string { return fmt.Sprintf("%s (%s)", tag, file) }

func (b *builder) load() {
	f, L := b.f, &b.p.Load
	L.From = "DeepSpeed's default (no checkpoint.load_universal)"
	if s := b.cfg.get("checkpoint.load_universal"); s.present {
		if v, ok := s.boolean(); ok {
			L.LoadUniversal = v
			L.From = b.cfgKey("checkpoint.load_universal")
		} else {
			L.From = b.cfgKey("checkpoint.load_universal") + " (not a boolean: read as false)"
		}
	}
	L.Latest, L.LatestUniversal = f.latest, f.latestUniversal
	// The model states of the tag DeepSpeed reads (both copies normally agree).
	if L.LoadUniversal && f.msUni != nil {
		f.ms = f.msUni
	} else if !L.LoadUniversal && f.msZero != nil {
		f.ms = f.msZero
	}
	L.UniversalAvailable = f.uniTag.hasZero
	L.ShardsAvailable = len(f.zeroTag.shards) > 0
	L.ShardRanks = len(f.zeroTag.shardRanks)
	if ms := f.ms; ms != nil {
		rel := b.rel(ms.file)
		if ms.dp != nil {
			L.CheckpointDP = &Int{*ms.dp, rel + " dp_world_size"}
		}
		if ms.mp != nil {
			L.MPWorldSize = &Int{*ms.mp, rel + " mp_world_size"}
		}
		if ms.globalSteps != nil {
			L.CheckpointStep = &Int{*ms.globalSteps, rel + " global_steps"}
		}
		if ms.globalSamples != nil {
			L.CheckpointSample = &Int{*ms.globalSamples, rel + " global_samples"}
		}
	} else if L.ShardRanks > 0 {
		L.CheckpointDP = &Int{int64(L.ShardRanks), "optimizer shards of " + f.latest}
	}
	uni := ""
	if f.uniTag.hasZero {
		uni = tagDesc(f.latestUniversal, "latest_universal")
	}
	if L.LoadUniversal {
		L.Tag, L.Layout = f.latestUniversal, "universal"
		L.TagFound = f.uniTag.hasZero && len(f.uniTag.states) > 0
		file := filepath.Join(f.dir, "latest_universal")
		switch {
		case !f.hasLatestUniversal:
			r := b.add(ckpt.CheckLoadUniversal, ckpt.Error, file, "with checkpoint.load_universal true DeepSpeed reads the tag from latest_universal, which %s does not have: it stops with \"Invalid for universal checkpoint: latest_universal does not exist\"", f.dir)
			if L.ShardsAvailable {
				r.fix("convert the ZeRO shards of %s with DeepSpeed's ds_to_universal.py (--input_folder %s --output_folder %s_universal) and write the new tag into latest_universal, or set \"checkpoint\": {\"load_universal\": false} to load the shards at their data-parallel size", f.latest, filepath.Join(f.dir, f.latest), filepath.Join(f.dir, f.latest))
			} else {
				r.fix("point latest_universal at the universal tag folder, or set \"checkpoint\": {\"load_universal\": false}")
			}
		case !f.uniTag.exists:
			b.add(ckpt.CheckLoadUniversal, ckpt.Error, file, "latest_universal names %s, which is not a folder of %s", f.latestUniversal, f.dir).
				fix("copy the universal tag folder %s next to latest_universal, or correct latest_universal", f.latestUniversal)
		case !f.uniTag.hasZero:
			b.add(ckpt.CheckLoadUniversal, ckpt.Error, f.uniTag.dir, "latest_universal names %s, which has no zero/optimizer_state.pt: not a universal checkpoint", f.latestUniversal).
				fix("make the universal checkpoint with DeepSpeed's ds_to_universal.py")
		case len(f.uniTag.states) == 0:
			b.add(ckpt.CheckLoadUniversal, ckpt.Error, f.uniTag.dir, "%s has no model states file (mp_rank_00_model_states.pt): DeepSpeed reads global_steps, the scheduler and dp_world_size from it", f.latestUniversal).
				fix("copy the model states of the source tag into %s, as ds_to_universal.py does", f.latestUniversal)
		}
		return
	}
	L.Tag, L.Layout = f.latest, "zero"
	L.TagFound = f.zeroTag.exists && len(f.zeroTag.states) > 0
	file := filepath.Join(f.dir, "latest")
	var r findingRef
	found := false
	switch {
	case !f.hasLatest:
		r = b.add(ckpt.CheckLoadUniversal, ckpt.Error, file, "without checkpoint.load_universal DeepSpeed reads the tag from latest, which %s does not have: it loads nothing and the Trainer stops (\"[deepspeed] failed to resume from checkpoint\")", f.dir)
	case !f.zeroTag.exists:
		r = b.add(ckpt.CheckLoadUniversal, ckpt.Error, file, "without checkpoint.load_universal DeepSpeed reads latest, which names %s, a folder %s does not have", f.latest, f.dir)
	case len(f.zeroTag.states) == 0:
		r = b.add(ckpt.CheckLoadUniversal, ckpt.Error, f.zeroTag.dir, "latest names %s, which has no model states file: DeepSpeed finds nothing to load", f.latest)
	default:
		found = true
	}
	if !found {
		if uni != "" {
			r.fix("set \"checkpoint\": {\"load_universal\": true} in the DeepSpeed configuration: the optimizer state of this checkpoint is the universal checkpoint %s", uni)
		} else {
			r.fix("point latest at the tag folder holding the ZeRO shards")
		}
	}
}

func (b *builder) stage() {
	f, L := b.f, &b.p.Load
	s := b.cfg.get("zero_optimization.stage")
	if v, ok := s.integer(); ok {
		L.ResumeStage = &Int{v, b.cfgKey("zero_optimization.stage")}
	} else if !s.present {
		L.ResumeStage = &Int{0, "DeepSpeed's default (no zero_optimization.stage)"}
	}
	switch {
	case !L.LoadUniversal && f.shardStg != nil:
		L.CheckpointStage = &Int{*f.shardStg, b.rel(f.shardFile) + " zero_stage"}
	case f.uniStage != nil:
		L.CheckpointStage = &Int{*f.uniStage, b.rel(f.uniFile) + " zero_stage"}
	case f.shardStg != nil:
		L.CheckpointStage = &Int{*f.shardStg, b.rel(f.shardFile) + " zero_stage"}
	case f.ms != nil && f.ms.config != nil:
		if v, ok := f.ms.config.get("zero_optimization.stage").integer(); ok {
			L.CheckpointStage = &Int{v, b.rel(f.ms.config.Path) + " zero_optimization.stage"}
		}
	}
	if L.CheckpointStage == nil && (f.zeroTag.zero3 || f.uniTag.zero3) {
		L.CheckpointStage = &Int{3, "zero_pp_rank_<r>_mp_rank_00_model_states.pt files (ZeRO-3)"}
	}
	if L.ResumeStage == nil || L.CheckpointStage == nil || L.ResumeStage.Value == L.CheckpointStage.Value {
		return
	}
	rs, cs := L.ResumeStage.Value, L.CheckpointStage.Value
	file := b.cfgFile
	switch {
	case (rs == 3) != (cs == 3):
		var why string
		switch {
		case rs == 3 && L.LoadUniversal:
			why = fmt.Sprintf("a ZeRO-3 engine loads a universal checkpoint through zero_pp_rank_0_mp_rank_00_model_states.pt, and %s, made from a stage-%d run, holds mp_rank_00_model_states.pt", L.Tag, cs)
		case rs == 3:
			why = fmt.Sprintf("a ZeRO-3 engine reads zero_pp_rank_<r>_mp_rank_00_model_states.pt and per-parameter partitions, and the stage-%d shards of %s are flat partitions of whole parameter groups beside mp_rank_00_model_states.pt", cs, L.Tag)
		case L.LoadUniversal:
			why = fmt.Sprintf("a stage-%d engine loads a universal checkpoint through mp_rank_00_model_states.pt, and %s, made from a ZeRO-3 run, holds zero_pp_rank_<r>_mp_rank_00_model_states.pt", rs, L.Tag)
		default:
			why = fmt.Sprintf("a stage-%d engine reads flat partitions of whole parameter groups and mp_rank_00_model_states.pt, and the ZeRO-3 shards of %s are per-parameter partitions", rs, L.Tag)
		}
		b.add(ckpt.CheckZeroStage, ckpt.Error, file, "the configuration asks for ZeRO stage %d, the checkpoint was written by stage %d (%s): %s, so loading fails", rs, cs, L.CheckpointStage.From, why).
			fix("set \"zero_optimization\": {\"stage\": %d}, as the checkpoint was trained", cs)
	case (rs == 1 && cs == 2) || (rs == 2 && cs == 1):
		b.add(ckpt.CheckZeroStage, ckpt.Info, file, "the configuration asks for ZeRO stage %d, the checkpoint was written by stage %d: the two partition the optimizer state alike, so it loads (only gradient partitioning changes)", rs, cs)
	default:
		b.add(ckpt.CheckZeroStage, ckpt.Warning, file, "the configuration asks for ZeRO stage %d, the checkpoint was written by stage %d (%s): a different optimizer wrapper loads it; ckptinspect does not check that it can", rs, cs, L.CheckpointStage.From).
			fix("set \"zero_optimization\": {\"stage\": %d}, as the checkpoint was trained", cs)
	}
}

func autoSuffix(s setting) string {
	if s.auto {
		return " (\"auto\")"
	}
	return ""
}

func (b *builder) batch() {
	f, B, args := b.f, &b.p.Batch, b.f.args
	ms, ts := f.ms, f.trainer
	// Per device.
	sMicro := b.cfg.get("train_micro_batch_size_per_gpu")
	switch {
	case b.opt.PerDeviceBatch > 0:
		b.micro = &Int{b.opt.PerDeviceBatch, "--per-device-batch"}
	case func() bool { _, ok := sMicro.integer(); return ok }():
		v, _ := sMicro.integer()
		b.micro = &Int{v, b.cfgKey("train_micro_batch_size_per_gpu")}
	case args != nil && args.PerDeviceTrainBatchSize != nil:
		b.micro = &Int{*args.PerDeviceTrainBatchSize, "training_args.bin per_device_train_batch_size" + autoSuffix(sMicro)}
	}
	// Accumulation.
	sAcc := b.cfg.get("gradient_accumulation_steps")
	switch {
	case b.opt.GradAccum > 0:
		b.accum = &Int{b.opt.GradAccum, "--grad-accum"}
	case func() bool { _, ok := sAcc.integer(); return ok }():
		v, _ := sAcc.integer()
		b.accum = &Int{v, b.cfgKey("gradient_accumulation_steps")}
	case args != nil && args.GradientAccumulationSteps != nil:
		b.accum = &Int{*args.GradientAccumulationSteps, "training_args.bin gradient_accumulation_steps" + autoSuffix(sAcc)}
	default:
		b.accum = &Int{1, "default (1)"}
	}
	// World size.
	tbs, tbsOK := b.cfg.get("train_batch_size").integer()
	mp := int64(1)
	if ms != nil && ms.mp != nil && *ms.mp > 0 {
		mp = *ms.mp
	}
	switch {
	case b.opt.WorldSize > 0:
		b.world = &Int{b.opt.WorldSize, "--world-size"}
	case tbsOK && b.micro != nil && b.micro.Value > 0 && b.accum.Value > 0 && tbs%(b.micro.Value*b.accum.Value) == 0:
		b.world = &Int{tbs / (b.micro.Value * b.accum.Value), b.cfgKey("train_batch_size") + " / (per device x accumulation)"}
	case ms != nil && ms.dp != nil:
		b.world = &Int{*ms.dp * mp, "the checkpoint's dp_world_size x mp_world_size (assumed unchanged: give --world-size)"}
	case args != nil && args.WorldSize != nil:
		b.world = &Int{*args.WorldSize, "training_args.bin distributed_state.num_processes (assumed unchanged: give --world-size)"}
	}
	B.WorldSize, B.PerDevice, B.GradAccum = b.world, b.micro, b.accum
	// The checkpoint's.
	if ms != nil && ms.globalSteps != nil && ms.globalSamples != nil && *ms.globalSteps > 0 && *ms.globalSamples%*ms.globalSteps == 0 {
		B.CheckpointAll = append(B.CheckpointAll, Int{*ms.globalSamples / *ms.globalSteps,
			fmt.Sprintf("%s global_samples / global_steps (%d / %d)", b.rel(ms.file), *ms.globalSamples, *ms.globalSteps)})
	}
	if ms != nil && ms.config != nil {
		if v, ok := ms.config.get("train_batch_size").integer(); ok {
			B.CheckpointAll = append(B.CheckpointAll, Int{v, b.rel(ms.config.Path) + " train_batch_size"})
		}
	}
	if args != nil {
		if c := args.DSConfig; c != nil {
			if v, ok := (&DSConfig{raw: c}).get("train_batch_size").integer(); ok {
				B.CheckpointAll = append(B.CheckpointAll, Int{v, "training_args.bin hf_deepspeed_config train_batch_size"})
			}
		} else if args.PerDeviceTrainBatchSize != nil && args.GradientAccumulationSteps != nil && args.WorldSize != nil {
			B.CheckpointAll = append(B.CheckpointAll, Int{*args.PerDeviceTrainBatchSize * *args.GradientAccumulationSteps * *args.WorldSize,
				"training_args.bin per_device_train_batch_size x gradient_accumulation_steps x distributed_state.num_processes"})
		}
	}
	if len(B.CheckpointAll) > 0 {
		c := B.CheckpointAll[0]
		B.Checkpoint = &c
	}
	if ts != nil && ts.TrainBatchSize != nil {
		B.FedPerDevice = &Int{*ts.TrainBatchSize, b.rel(ts.file) + " train_batch_size"}
	} else {
		B.FedPerDevice = b.micro
	}
	if b.micro == nil || b.world == nil {
		b.note("the resumed run's global batch is unknown: give --per-device-batch and --world-size")
		return
	}
	g := b.micro.Value * b.world.Value * b.accum.Value
	B.Global = &Int{g, "per device x world size x accumulation"}
	if tbsOK && tbs != g {
		b.add(ckpt.CheckBatch, ckpt.Error, b.cfgFile, "DeepSpeed refuses to start: train_batch_size %d is not train_micro_batch_size_per_gpu x gradient_accumulation_steps x world size = %d x %d x %d = %d",
			tbs, b.micro.Value, b.accum.Value, b.world.Value, g).
			fix("make train_batch_size = per device x accumulation x world size (or set it to \"auto\")")
		return
	}
	fed := B.FedPerDevice
	override := fed != nil && fed.Value != b.micro.Value
	fedNote := ""
	if override {
		fedNote = fmt.Sprintf("; and on resume the Trainer restores train_batch_size %d from trainer_state.json over the command line and feeds %d per device, so each step really holds %d x %d x %d = %d samples while DeepSpeed counts %d",
			fed.Value, fed.Value, fed.Value, b.world.Value, b.accum.Value, fed.Value*b.world.Value*b.accum.Value, g)
	}
	if B.Checkpoint != nil && B.Checkpoint.Value != g {
		ck := B.Checkpoint
		r := b.add(ckpt.CheckBatch, ckpt.Error, b.cfgFile, "the resumed run's global batch is %d (%d per device from %s x %d ranks from %s x %d accumulation steps from %s), the checkpoint's %d (%s): the training recipe changes (the lr per sample, the tokens per step) and the Trainer, which skips global_step x accumulation batches of the new size to find its place in the data, resumes at another sample%s",
			g, b.micro.Value, b.micro.From, b.world.Value, b.world.From, b.accum.Value, b.accum.From, ck.Value, ck.From, fedNote)
		hint := ""
		if args != nil && args.PerDeviceTrainBatchSize != nil && args.GradientAccumulationSteps != nil && args.WorldSize != nil {
			hint = fmt.Sprintf(" (the checkpoint trained with %d per device x %d ranks x %d)", *args.PerDeviceTrainBatchSize, *args.WorldSize, *args.GradientAccumulationSteps)
		}
		fix := fmt.Sprintf("keep the global batch at %d: per device x world size x accumulation = %d%s", ck.Value, ck.Value, hint)
		if override {
			fix += "; set \"train_batch_size\" in trainer_state.json to the per-device batch"
		}
		r.fix("%s", fix)
		return
	}
	if override {
		b.add(ckpt.CheckTrainerState, ckpt.Error, ts.file, "DeepSpeed is given %d samples per device (%s), but on resume the Trainer restores train_batch_size %d from trainer_state.json over the command line and feeds %d per device: each step really holds %d x %d x %d = %d samples, not %d",
			b.micro.Value, b.micro.From, fed.Value, fed.Value, fed.Value, b.world.Value, b.accum.Value, fed.Value*b.world.Value*b.accum.Value, g).
			fix("set \"train_batch_size\": %d in %s (the YuLan-Mini model card's step 1: the command line cannot override it)", b.micro.Value, b.rel(ts.file))
	}
}

func (b *builder) dp() {
	L := &b.p.Load
	if b.world != nil {
		mp := int64(1)
		if L.MPWorldSize != nil && L.MPWorldSize.Value > 0 {
			mp = L.MPWorldSize.Value
		}
		if b.world.Value%mp == 0 {
			from := b.world.From
			if mp > 1 {
				from += fmt.Sprintf(" / mp_world_size %d", mp)
			}
			L.ResumeDP = &Int{b.world.Value / mp, from}
		}
	}
	if L.LoadUniversal || !L.TagFound || L.ResumeDP == nil || L.CheckpointDP == nil || L.ResumeDP.Value == L.CheckpointDP.Value {
		return
	}
	r := b.add(ckpt.CheckDPSize, ckpt.Error, b.f.zeroTag.dir, "DeepSpeed loads the ZeRO shards of %s, written by %d data-parallel ranks (%s), into %d (%s): it stops with \"The checkpoint being loaded used a DP world size of %d but the current world size is %d\" (shards cannot be re-partitioned)",
		L.Tag, L.CheckpointDP.Value, L.CheckpointDP.From, L.ResumeDP.Value, L.ResumeDP.From, L.CheckpointDP.Value, L.ResumeDP.Value)
	if L.UniversalAvailable {
		r.fix("set \"checkpoint\": {\"load_universal\": true}: the universal checkpoint %s loads at any data-parallel size", tagDesc(b.f.latestUniversal, "latest_universal"))
	} else {
		r.fix("resume on %d data-parallel ranks, or convert %s with DeepSpeed's ds_to_universal.py and set \"checkpoint\": {\"load_universal\": true}", L.CheckpointDP.Value, L.Tag)
	}
}

func close(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// hyper resolves one optimizer setting of the configuration: explicit,
// "auto" (the training arguments), or, without an optimizer section, the
// Trainer's own optimizer built from the training arguments.
func (b *builder) hyper(key string, fromArgs *float64, argName string) *Float {
	s := b.cfg.get("optimizer.params." + key)
	if v, ok := s.number(); ok {
		return &Float{v, b.cfgKey("optimizer.params." + key)}
	}
	if s.auto || !b.cfg.get("optimizer").present {
		if fromArgs != nil {
			from := "training_args.bin " + argName
			if s.auto {
				from += " (\"auto\")"
			} else {
				from += " (no optimizer section: the Trainer's optimizer)"
			}
			return &Float{*fromArgs, from}
		}
	}
	return nil
}

func (b *builder) optimizer() {
	f, O, args := b.f, &b.p.Optimizer, b.f.args
	if b.p.Load.LoadUniversal && f.uniGroups != nil || f.shardGrps == nil {
		O.Groups, O.GroupsFrom = f.uniGroups, b.rel(f.uniFile)+" param_groups"
	} else {
		O.Groups, O.GroupsFrom = f.shardGrps, b.rel(f.shardFile)+" base_optimizer_state.param_groups"
	}
	if O.Groups == nil {
		O.GroupsFrom = ""
		b.note("no optimizer param groups found: betas, eps, weight decay and lr not compared")
		return
	}
	var a TrainingArgs
	if args != nil {
		a = *args
	}
	O.Config.LR = b.hyper("lr", a.LearningRate, "learning_rate")
	O.Config.Eps = b.hyper("eps", a.AdamEpsilon, "adam_epsilon")
	O.Config.WeightDecay = b.hyper("weight_decay", a.WeightDecay, "weight_decay")
	s := b.cfg.get("optimizer.params.betas")
	if v, ok := s.pair(); ok {
		O.Config.Beta1 = &Float{v[0], b.cfgKey("optimizer.params.betas")}
		O.Config.Beta2 = &Float{v[1], b.cfgKey("optimizer.params.betas")}
	} else if (s.auto || !b.cfg.get("optimizer").present) && a.AdamBeta1 != nil && a.AdamBeta2 != nil {
		from := " (\"auto\")"
		if !s.auto {
			from = " (no optimizer section: the Trainer's optimizer)"
		}
		O.Config.Beta1 = &Float{*a.AdamBeta1, "training_args.bin adam_beta1" + from}
		O.Config.Beta2 = &Float{*a.AdamBeta2, "training_args.bin adam_beta2" + from}
	}
	restored := fmt.Sprintf("resuming restores the checkpoint's param groups over the configuration (DeepSpeed loads every value saved in %s)", filepath.Base(O.GroupsFrom[:strings.LastIndex(O.GroupsFrom, " ")]))
	file := O.GroupsFrom[:strings.LastIndex(O.GroupsFrom, " ")]
	if c1, c2 := O.Config.Beta1, O.Config.Beta2; c1 != nil && c2 != nil {
		var saved []string
		bad := false
		for _, g := range O.Groups {
			if g.Betas == nil {
				continue
			}
			saved = append(saved, fmt.Sprintf("(%s, %s)", fmtFloat(g.Betas[0]), fmtFloat(g.Betas[1])))
			if !close(g.Betas[0], c1.Value) || !close(g.Betas[1], c2.Value) {
				bad = true
			}
		}
		if bad {
			b.add(ckpt.CheckBetas, ckpt.Error, b.cfgFile, "the configuration sets betas (%s, %s) (%s), but %s: training continues with betas %s",
				fmtFloat(c1.Value), fmtFloat(c2.Value), c1.From, restored, strings.Join(unique(saved), ", ")).
				fix("set \"betas\": %s to state the recipe the run will follow; to really change betas, edit the param groups saved in %s", "["+strings.Trim(unique(saved)[0], "()")+"]", file)
		}
	}
	if c := O.Config.Eps; c != nil {
		var saved []string
		bad := false
		for _, g := range O.Groups {
			if g.Eps == nil {
				continue
			}
			saved = append(saved, fmtFloat(*g.Eps))
			if !close(*g.Eps, c.Value) {
				bad = true
			}
		}
		if bad {
			b.add(ckpt.CheckEps, ckpt.Error, b.cfgFile, "the configuration sets eps %s (%s), but %s: training continues with eps %s", fmtFloat(c.Value), c.From, restored, strings.Join(unique(saved), ", ")).
				fix("set \"eps\": %s; to really change it, edit the param groups saved in %s", unique(saved)[0], file)
		}
	}
	if c := O.Config.WeightDecay; c != nil {
		var saved []string
		bad, has := false, false
		for _, g := range O.Groups {
			if g.WeightDecay == nil {
				continue
			}
			w := *g.WeightDecay
			saved = append(saved, fmtFloat(w))
			if close(w, c.Value) {
				has = true
			} else if w != 0 {
				bad = true
			}
		}
		if bad || (!has && c.Value != 0 && len(saved) > 0) {
			b.add(ckpt.CheckWeightDecay, ckpt.Error, b.cfgFile, "the configuration sets weight decay %s (%s), but %s: the groups keep weight decay %s", fmtFloat(c.Value), c.From, restored, strings.Join(saved, ", ")).
				fix("set \"weight_decay\" to the checkpoint's (%s); to really change it, edit the param groups saved in %s", strings.Join(unique(saved), " / "), file)
		}
	}
}

func unique(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

func dtypeName(d tensor.DType) string {
	switch d {
	case tensor.BFloat16:
		return "bf16"
	case tensor.Float16:
		return "fp16"
	case tensor.Float32:
		return "fp32"
	}
	return d.String()
}

func (b *builder) precision() {
	P, args := &b.p.Precision, b.f.args
	unknown := false
	resolve := func(key string, fromArgs *bool, argName string) (bool, string, bool) {
		s := b.cfg.get(key)
		if key == "bf16.enabled" {
			s = b.cfg.bf16()
		}
		if v, ok := s.boolean(); ok {
			return v, b.cfgKey(key), true
		}
		if s.auto {
			if fromArgs != nil {
				return *fromArgs, "training_args.bin " + argName + " (\"auto\")", true
			}
			unknown = true
		}
		return false, "", false
	}
	var a TrainingArgs
	if args != nil {
		a = *args
	}
	bf, bfFrom, bfOK := resolve("bf16.enabled", a.BF16, "bf16")
	fp, fpFrom, fpOK := resolve("fp16.enabled", a.FP16, "fp16")
	switch {
	case bfOK && bf:
		P.Config, P.ConfigFrom = "bf16", bfFrom
	case fpOK && fp:
		P.Config, P.ConfigFrom = "fp16", fpFrom
	case unknown:
		P.Config, P.ConfigFrom = "", "\"auto\" without training arguments: unknown"
	case bfOK || fpOK:
		P.Config, P.ConfigFrom = "fp32", strings.Trim(bfFrom+", "+fpFrom, ", ")
	default:
		P.Config, P.ConfigFrom = "fp32", "DeepSpeed's default (no bf16 / fp16 section)"
	}
	if ms := b.f.ms; ms != nil && ms.moduleTensors > 0 {
		P.Checkpoint, P.CheckpointFrom = dtypeName(ms.dtype), b.rel(ms.file)+" module"
	} else if sh := b.f.shardFile; sh != "" {
		P.Checkpoint, P.CheckpointFrom = "fp16 or fp32", sh
		if strings.HasPrefix(filepath.Base(sh), "bf16_") {
			P.Checkpoint = "bf16"
		}
	}
	if P.Config == "" || P.Checkpoint == "" || P.Checkpoint == "fp16 or fp32" || P.Checkpoint == P.Config {
		return
	}
	b.add(ckpt.CheckDType, ckpt.Warning, b.cfgFile, "the checkpoint was trained in %s (%s), the resumed run trains in %s (%s)", P.Checkpoint, P.CheckpointFrom, P.Config, P.ConfigFrom).
		fix("enable %s in the DeepSpeed configuration, as the checkpoint was trained", P.Checkpoint)
}
