package resume

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
)

// Schedules whose learning rate decays to an end at the total step count.
var decaying = map[string]bool{
	"linear": true, "cosine": true, "cosine_with_restarts": true, "polynomial": true,
	"cosine_with_min_lr": true, "WarmupDecayLR": true, "WarmupCosineLR": true,
}

// hfLambda is the multiplier of transformers' schedule typ at step, or
// false when ckptinspect does not compute that schedule.
func hfLambda(typ string, step, warmup, total int64) (float64, bool) {
	s, w, n := float64(step), float64(warmup), float64(total)
	switch typ {
	case "constant":
		return 1, true
	case "constant_with_warmup":
		if step < warmup {
			return s / math.Max(1, w), true
		}
		return 1, true
	case "linear":
		if step < warmup {
			return s / math.Max(1, w), true
		}
		return math.Max(0, (n-s)/math.Max(1, n-w)), true
	case "cosine":
		if step < warmup {
			return s / math.Max(1, w), true
		}
		progress := (s - w) / math.Max(1, n-w)
		return math.Max(0, 0.5*(1+math.Cos(math.Pi*0.5*2*progress))), true
	}
	return 0, false
}

// dsGamma is DeepSpeed's WarmupLR / WarmupDecayLR multiplier at iteration
// it (lr = min + (max - min) * gamma).
func dsGamma(typ, warmupType string, it, warmup, total int64) (float64, bool) {
	warmup = max(warmup, 2)
	if it < warmup {
		if warmupType == "linear" {
			return float64(it) / float64(warmup), true
		}
		return math.Log(float64(it+1)) / math.Log(float64(warmup)), true
	}
	switch typ {
	case "WarmupLR":
		return 1, true
	case "WarmupDecayLR":
		return math.Max(0, float64(total-it)/math.Max(1, float64(total-warmup))), true
	}
	return 0, false
}

func floats(v any) []float64 {
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]float64, 0, len(l))
	for _, x := range l {
		f, ok := asFloat(x)
		if !ok {
			return nil
		}
		out = append(out, f)
	}
	return out
}

func (b *builder) scheduler() {
	f, S, args := b.f, &b.p.Scheduler, b.f.args
	var a TrainingArgs
	if args != nil {
		a = *args
	}
	if f.schedError != nil {
		b.add(ckpt.CheckScheduler, ckpt.Error, filepath.Join(f.dir, "scheduler.pt"), "scheduler.pt unreadable: %v", f.schedError).
			fix("replace scheduler.pt with a readable copy")
	}
	// What the checkpoint saved. The Trainer loads scheduler.pt after
	// DeepSpeed loaded the model states' lr_scheduler, so it wins.
	var state map[string]any
	switch {
	case f.sched != nil:
		state, S.CheckpointFrom, S.SchedulerPT = f.sched.raw, b.rel(f.sched.file), true
	case f.ms != nil && f.ms.lrScheduler != nil:
		state, S.CheckpointFrom = f.ms.lrScheduler, b.rel(f.ms.file)+" lr_scheduler"
	}
	if _, ok := state["last_batch_iteration"]; ok {
		S.Checkpoint = "deepspeed"
		if it, ok := asInt(state["last_batch_iteration"]); ok {
			n := it + 1
			S.Step = &n
		}
	} else if state != nil {
		S.Checkpoint = "torch"
		if e, ok := asInt(state["last_epoch"]); ok {
			S.Step = &e
		}
		S.BaseLRs = floats(state["base_lrs"])
		S.LastLRs = floats(state["_last_lr"])
	}
	// What the resumed run builds.
	cfgSched := b.cfg.get("scheduler")
	if cfgSched.present {
		S.Resume = "deepspeed"
		S.Type, _ = b.cfg.get("scheduler.type").text()
		S.TypeFrom = b.cfgKey("scheduler.type")
	} else {
		S.Resume = "trainer"
		S.Type, S.TypeFrom = a.LRSchedulerType, "training_args.bin lr_scheduler_type"
		if S.Type == "" {
			S.Type, S.TypeFrom = "linear", "transformers' default lr_scheduler_type"
		}
	}
	step := S.Step
	switch {
	case S.Resume == "deepspeed" && S.Checkpoint == "torch":
		b.add(ckpt.CheckScheduler, ckpt.Error, b.cfgFile, "the configuration's scheduler section makes DeepSpeed build %s, which restores its position from the saved lr_scheduler's last_batch_iteration; the checkpoint saved a torch scheduler's state (base_lrs, last_epoch: %s), so loading fails with KeyError: 'last_batch_iteration'",
			S.Type, S.CheckpointFrom).
			fix("remove the scheduler section to keep the Trainer's scheduler (%s), as the checkpoint was trained", orUnknown(a.LRSchedulerType))
		return
	case S.Resume == "trainer" && S.Checkpoint == "deepspeed":
		b.add(ckpt.CheckScheduler, ckpt.Error, b.cfgFile, "without a scheduler section the Trainer builds its own scheduler (%s) and loads the checkpoint's lr_scheduler into it, but the checkpoint was trained with DeepSpeed's scheduler (last_batch_iteration in %s) and has no scheduler.pt: loading fails",
			S.Type, S.CheckpointFrom).
			fix("add the scheduler section the checkpoint was trained with%s", b.savedSchedulerHint())
		return
	case S.Resume == "trainer" && S.Checkpoint == "torch" && !S.SchedulerPT && b.p.DSConfig.From != "none" && (f.trainer != nil || f.args != nil):
		// A Trainer folder (trainer_state.json or training_args.bin): the
		// Trainer, not DeepSpeed alone, resumes from it.
		b.add(ckpt.CheckScheduler, ckpt.Error, filepath.Join(f.dir, "scheduler.pt"), "with DeepSpeed and its own scheduler the Trainer loads scheduler.pt on resume (after DeepSpeed restored the model states' lr_scheduler); %s has none, so the resume stops with FileNotFoundError",
			f.dir).
			fix("copy scheduler.pt of this checkpoint from the training run")
	}
	if step == nil {
		return
	}
	if S.Resume == "deepspeed" {
		b.dsSchedule(*step)
		return
	}
	b.hfSchedule(*step, a)
}

func orUnknown(s string) string {
	if s == "" {
		return "lr_scheduler_type unknown"
	}
	return "lr_scheduler_type " + s
}

func (b *builder) savedSchedulerHint() string {
	if ms := b.f.ms; ms != nil && ms.config != nil {
		if t, ok := ms.config.get("scheduler.type").text(); ok {
			return fmt.Sprintf(" (%s, see %s)", t, b.rel(ms.config.Path))
		}
	}
	return ""
}

// dsSchedule checks DeepSpeed's scheduler against the checkpoint's
// position (step = last_batch_iteration + 1, the resumed run's first
// iteration).
func (b *builder) dsSchedule(step int64) {
	S, a := &b.p.Scheduler, TrainingArgs{}
	if b.f.args != nil {
		a = *b.f.args
	}
	intParam := func(key string, fromArgs *int64, argName string) *Int {
		s := b.cfg.get("scheduler.params." + key)
		if v, ok := s.integer(); ok {
			return &Int{v, b.cfgKey("scheduler.params." + key)}
		}
		if s.auto && fromArgs != nil {
			return &Int{*fromArgs, "training_args.bin " + argName + " (\"auto\")"}
		}
		return nil
	}
	floatParam := func(key string, fromArgs *float64, argName string) *Float {
		s := b.cfg.get("scheduler.params." + key)
		if v, ok := s.number(); ok {
			return &Float{v, b.cfgKey("scheduler.params." + key)}
		}
		if s.auto && fromArgs != nil {
			return &Float{*fromArgs, "training_args.bin " + argName + " (\"auto\")"}
		}
		return nil
	}
	var maxSteps *int64
	if a.MaxSteps != nil && *a.MaxSteps > 0 {
		maxSteps = a.MaxSteps
	}
	S.TotalSteps = intParam("total_num_steps", maxSteps, "max_steps")
	S.Warmup = intParam("warmup_num_steps", a.WarmupSteps, "warmup_steps")
	maxLR := floatParam("warmup_max_lr", a.LearningRate, "learning_rate")
	minLR := floatParam("warmup_min_lr", nil, "")
	wt, _ := b.cfg.get("scheduler.params.warmup_type").text()
	if wt == "" {
		wt = "log"
	}
	if maxLR != nil && S.Warmup != nil {
		lo := 0.0
		if minLR != nil {
			lo = minLR.Value
		}
		total := int64(0)
		if S.TotalSteps != nil {
			total = S.TotalSteps.Value
		}
		if g, ok := dsGamma(S.Type, wt, step, S.Warmup.Value, total); ok && (S.Type != "WarmupDecayLR" || S.TotalSteps != nil) {
			lr := lo + (maxLR.Value-lo)*g
			S.NextLR = &lr
		}
	}
	if decaying[S.Type] && S.TotalSteps != nil && step >= S.TotalSteps.Value {
		lrText := ""
		if S.NextLR != nil {
			lrText = fmt.Sprintf(": the learning rate stays at %s for the rest of the run", fmtFloat(*S.NextLR))
		}
		planned := ""
		if ms := b.f.ms; ms != nil && ms.config != nil {
			if v, ok := ms.config.get("scheduler.params.total_num_steps").integer(); ok {
				planned = fmt.Sprintf(" (the checkpoint's run planned %d: %s)", v, b.rel(ms.config.Path))
			}
		}
		b.add(ckpt.CheckScheduler, ckpt.Error, b.cfgFile, "the schedule has ended: %s ends at total_num_steps %d (%s), and the checkpoint resumes at iteration %d (%s)%s",
			S.Type, S.TotalSteps.Value, S.TotalSteps.From, step, S.CheckpointFrom, lrText).
			fix("set total_num_steps above %d%s", step, planned)
	}
	// The peak lr: DeepSpeed's scheduler takes it from the configuration.
	if ms := b.f.ms; maxLR != nil && ms != nil && ms.config != nil {
		if old, ok := ms.config.get("scheduler.params.warmup_max_lr").number(); ok && !close(old, maxLR.Value) {
			b.add(ckpt.CheckLR, ckpt.Warning, b.cfgFile, "the peak learning rate changes from %s (%s) to %s (%s): DeepSpeed's scheduler applies the new one from the first resumed step",
				fmtFloat(old), b.rel(ms.config.Path), fmtFloat(maxLR.Value), maxLR.From).
				fix("set warmup_max_lr %s to keep the recipe", fmtFloat(old))
		}
		if t, ok := ms.config.get("scheduler.type").text(); ok && S.Type != "" && t != S.Type {
			b.add(ckpt.CheckScheduler, ckpt.Warning, b.cfgFile, "the scheduler changes from %s (%s) to %s", t, b.rel(ms.config.Path), S.Type).
				fix("set \"scheduler\": {\"type\": %q} to keep the recipe", t)
		}
	}
}

// hfSchedule checks the Trainer's scheduler (a LambdaLR whose base_lrs and
// position the checkpoint restores).
func (b *builder) hfSchedule(step int64, a TrainingArgs) {
	S := &b.p.Scheduler
	if a.MaxSteps != nil && *a.MaxSteps > 0 {
		S.TotalSteps = &Int{*a.MaxSteps, "training_args.bin max_steps (the resumed run's own --max_steps is not known)"}
	}
	switch {
	case a.WarmupSteps != nil && *a.WarmupSteps > 0:
		S.Warmup = &Int{*a.WarmupSteps, "training_args.bin warmup_steps"}
	case a.WarmupRatio != nil && S.TotalSteps != nil:
		S.Warmup = &Int{int64(math.Ceil(*a.WarmupRatio * float64(S.TotalSteps.Value))), "training_args.bin warmup_ratio x max_steps"}
	}
	if len(S.BaseLRs) > 0 && S.TotalSteps != nil && S.Warmup != nil {
		if l, ok := hfLambda(S.Type, step, S.Warmup.Value, S.TotalSteps.Value); ok {
			lr := S.BaseLRs[0] * l
			S.NextLR = &lr
		}
	}
	// The base lr: restored from the checkpoint whatever the configuration
	// says.
	c := b.p.Optimizer.Config.LR
	if c == nil || len(S.BaseLRs) == 0 {
		return
	}
	var diff []string
	for _, x := range S.BaseLRs {
		if !close(x, c.Value) {
			diff = append(diff, fmtFloat(x))
		}
	}
	if len(diff) == 0 {
		return
	}
	sort.Strings(diff)
	b.add(ckpt.CheckLR, ckpt.Error, b.cfgFile, "the configuration's learning rate %s (%s) is not used: resuming restores the scheduler's base_lrs %s (%s) and the lr follows them times the schedule",
		fmtFloat(c.Value), c.From, strings.Join(unique(diff), ", "), S.CheckpointFrom).
		fix("set the learning rate to %s to state what will happen; to change the peak lr, change base_lrs in scheduler.pt and in the model states' lr_scheduler", unique(diff)[0])
}

func (b *builder) trainerState() {
	f, T, args := b.f, &b.p.Trainer, b.f.args
	ts := f.trainer
	if args != nil {
		T.ArgsMaxSteps = args.MaxSteps
	}
	if ts == nil {
		b.note("no trainer_state.json: the Trainer starts its state (global_step, save_steps, logging_steps) afresh")
		return
	}
	T.File = ts.file
	T.GlobalStep, T.MaxSteps, T.SaveSteps, T.LoggingSteps, T.EvalSteps, T.TrainBatchSize =
		ts.GlobalStep, ts.MaxSteps, ts.SaveSteps, ts.LoggingSteps, ts.EvalSteps, ts.TrainBatchSize
	var kept []string
	for _, kv := range []struct {
		name string
		v    *float64
	}{{"save_steps", ts.SaveSteps}, {"logging_steps", ts.LoggingSteps}, {"eval_steps", ts.EvalSteps}} {
		if kv.v != nil {
			kept = append(kept, kv.name+" "+fmtFloat(*kv.v))
		}
	}
	if len(kept) > 0 {
		b.note("the resumed Trainer keeps %s from %s whatever its command line says; edit the file to change them (the YuLan-Mini model card, step 1)", strings.Join(kept, ", "), b.rel(ts.file))
	}
	if ms := f.ms; ms != nil && ms.globalSteps != nil && ts.GlobalStep != nil && *ms.globalSteps != *ts.GlobalStep {
		b.add(ckpt.CheckTrainerState, ckpt.Warning, ts.file, "trainer_state.json says global_step %d, the model states (%s) %d: the Trainer finds its place in the data by its global_step, DeepSpeed continues its own count",
			*ts.GlobalStep, b.rel(ms.file), *ms.globalSteps).
			fix("use the trainer_state.json saved with %s", b.p.Load.Tag)
	}
	maxSteps, from := int64(0), ""
	switch {
	case args != nil && args.MaxSteps != nil && *args.MaxSteps > 0:
		maxSteps, from = *args.MaxSteps, "training_args.bin max_steps"
	case ts.MaxSteps != nil && *ts.MaxSteps > 0:
		maxSteps, from = *ts.MaxSteps, b.rel(ts.file)+" max_steps"
	}
	if ts.GlobalStep != nil && maxSteps > 0 && *ts.GlobalStep >= maxSteps {
		lr := ""
		if S := b.p.Scheduler; S.NextLR != nil && S.Resume == "trainer" {
			lr = fmt.Sprintf(", and its %s schedule is at lr %s", S.Type, fmtFloat(*S.NextLR))
		}
		b.add(ckpt.CheckMaxSteps, ckpt.Warning, ts.file, "global_step %d has reached max_steps %d (%s): resumed with these training arguments the Trainer stops at once%s",
			*ts.GlobalStep, maxSteps, from, lr).
			fix("pass --max_steps above %d to the resumed run (the Trainer recomputes max_steps from its arguments)", *ts.GlobalStep)
	}
}

func (b *builder) rng() {
	f, R := b.f, &b.p.RNG
	R.Files, R.Missing = len(f.rngFiles), []string{}
	if b.world == nil {
		return
	}
	w := b.world.Value
	var expected []int
	if w <= 1 {
		expected = []int{-1}
	} else {
		for r := 0; r < int(min(w, 1<<20)); r++ {
			expected = append(expected, r)
		}
	}
	R.Expected = len(expected)
	var unreadable []string
	for _, r := range expected {
		name := "rng_state.pth"
		if r >= 0 {
			name = fmt.Sprintf("rng_state_%d.pth", r)
		}
		p, ok := f.rngFiles[r]
		if !ok {
			R.Missing = append(R.Missing, name)
			continue
		}
		if err := checkRNG(p, b.opt); err != nil {
			unreadable = append(unreadable, err.Error())
		}
	}
	if len(R.Missing) > 0 {
		list := R.Missing
		if len(list) > 4 {
			list = append(append([]string{}, list[:4]...), fmt.Sprintf("... %d more", len(R.Missing)-4))
		}
		b.add(ckpt.CheckRNG, ckpt.Info, f.dir, "%d of the %d resumed ranks find no random-number state (%s; the checkpoint has %d): those ranks draw a different data order and dropout than an uninterrupted run",
			len(R.Missing), len(expected), strings.Join(list, ", "), len(f.rngFiles)).
			fix("resume on the checkpoint's %d ranks to reproduce the run exactly; otherwise nothing to do", len(f.rngFiles))
	}
	for _, u := range unreadable {
		b.add(ckpt.CheckRNG, ckpt.Warning, "", "random-number state unreadable: %s", u).
			fix("replace the file with a readable copy; the Trainer fails to load it")
	}
	if extra := len(f.rngFiles) - (len(expected) - len(R.Missing)); extra > 0 && b.world.Value > 1 {
		b.note("%d rng_state files are for ranks the resumed run does not have", extra)
	}
}
