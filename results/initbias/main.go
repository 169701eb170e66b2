// Command initbias measures how far a trained teacher still is from the
// random weights it started from, and what starting there is worth to a
// model distilled from it.
//
// Until BuildSubnet drew a retraining's weights layer by layer, the "teacher
// architecture retrained from scratch" of every `dnas run` was built by
// unet.New with the retraining seed (1 by default), and every committed
// teacher had been trained from unet.New with seed 1 too: the same config and
// seed give the same weights, so that baseline started from the teacher's own
// initial draw. This program shows what that draw is worth:
//
//  1. cosine similarity between each trained weight tensor and the same
//     tensor of unet.New(config, seed), for a few seeds, averaged per part of
//     the network (the draw the teacher started from scores far above 0);
//
//  2. one block distilled alone from several initial draws (the teacher's
//     block inputs, MSE to its block output, Adam, the same batches for every
//     draw): the teacher's own draw against others, and others with some of
//     the teacher's draw's layers copied in (--swap).
//
//     go run ./results/initbias --teachers models/base.safetensors,models/small.safetensors
//     go run ./results/initbias --teachers models/base.safetensors --block mid --draws 1,2,3,4,5,6 --swap mid.1.,mid.0.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"dnas/dnas"
	"dnas/dnas/mnist"
	"dnas/dnas/nn"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

func main() {
	teachers := flag.String("teachers", "models/base.safetensors", "comma-separated teacher files")
	seeds := flag.String("seeds", "1,2,3", "unet.New seeds to compare each teacher with (part 1)")
	block := flag.String("block", "", "block to distil alone from several draws (part 2; e.g. mid); empty skips part 2")
	draws := flag.String("draws", "1,2,3,4,5,6", "unet.New seeds of the draws distilled (part 2)")
	swap := flag.String("swap", "", "comma-separated parameter-name prefixes: also distil each draw after copying these layers from the draw of --from (part 2)")
	from := flag.Uint64("from", 1, "the draw --swap copies from (the teachers' training seed)")
	steps := flag.Int("steps", 300, "distillation steps per draw (part 2)")
	batch := flag.Int("batch", 32, "batch size (part 2)")
	flag.Parse()
	if *steps < 50 || *batch < 1 {
		fmt.Fprintln(os.Stderr, "initbias: --steps must be at least 50 (the loss reported is the mean of the last 50) and --batch at least 1")
		os.Exit(2)
	}
	if err := run(strings.Split(*teachers, ","), *seeds, *block, *draws, *swap, *from, *steps, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "initbias:", err)
		os.Exit(1)
	}
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seed %q: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func run(teachers []string, seedList, block, drawList, swap string, from uint64, steps, batch int) error {
	seeds, err := parseSeeds(seedList)
	if err != nil {
		return err
	}
	fmt.Println("## Cosine similarity of trained weights with a random draw (unet.New(config, seed)), mean per part")
	fmt.Println()
	header := false
	for _, path := range teachers {
		t, err := dnas.LoadTeacher(path)
		if err != nil {
			return err
		}
		for _, seed := range seeds {
			m, parts, err := partCosines(t.Net, seed)
			if err != nil {
				return err
			}
			if !header {
				fmt.Printf("| teacher | draw | %s |\n|---|---|%s\n", strings.Join(parts, " | "), strings.Repeat("---:|", len(parts)))
				header = true
			}
			fmt.Printf("| %s | %d |", path, seed)
			for _, p := range parts {
				fmt.Printf(" %.2f |", m[p])
			}
			fmt.Println()
		}
	}
	if block == "" {
		return nil
	}
	ds, err := parseSeeds(drawList)
	if err != nil {
		return err
	}
	var prefixes []string
	if swap != "" {
		prefixes = strings.Split(swap, ",")
	}
	for _, path := range teachers {
		if err := distilBlock(path, block, ds, prefixes, from, steps, batch); err != nil {
			return err
		}
	}
	return nil
}

// partCosines compares every conv, linear and attention weight (".w") of net
// with the same tensor of unet.New(net's config, seed) and averages the
// cosines per part of the network (the first element of the parameter
// name; "attention": the qkv and output projections wherever they are),
// returned with the parts in network order, "all" first.
func partCosines(net *unet.UNet, seed uint64) (map[string]float64, []string, error) {
	draw, err := unet.New(net.SubnetConfig(), seed)
	if err != nil {
		return nil, nil, err
	}
	parts := []string{"all"}
	trained := map[string]*nn.Param{}
	for _, p := range net.Params() {
		trained[p.Name] = p
	}
	sum, n := map[string]float64{}, map[string]int{}
	for _, p := range draw.Params() {
		q := trained[p.Name]
		if !strings.HasSuffix(p.Name, ".w") || q == nil || len(q.Data) != len(p.Data) {
			continue
		}
		c := cosine(p.Data, q.Data)
		if math.IsNaN(c) {
			continue
		}
		part := strings.SplitN(p.Name, ".", 2)[0]
		if strings.Contains(p.Name, ".qkv.") || strings.Contains(p.Name, ".proj.") {
			part = "attention"
		}
		if n[part] == 0 {
			parts = append(parts, part)
		}
		for _, k := range []string{part, "all"} {
			sum[k] += c
			n[k]++
		}
	}
	out := map[string]float64{}
	for k, s := range sum {
		out[k] = s / float64(n[k])
	}
	return out, parts, nil
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// distilBlock trains the block of each draw alone on the teacher's inputs of
// that block (a fixed pool of 40 batches, the same for every draw) with MSE
// to the teacher's block output and prints the mean loss of the last 50
// steps.
func distilBlock(path, block string, draws []uint64, prefixes []string, from uint64, steps, batch int) error {
	t, err := dnas.LoadTeacher(path)
	if err != nil {
		return err
	}
	bi := -1
	for i, b := range t.Net.Blocks() {
		if b.Name == block {
			bi = i
		}
	}
	if bi < 0 {
		return fmt.Errorf("%s has no block %q", path, block)
	}
	data, err := mnist.LoadTrain()
	if err != nil {
		return err
	}
	type example struct {
		in  unet.BlockInput
		out *tensor.Tensor
	}
	var pool []example
	bt := mnist.NewBatcher(data, batch, 7)
	rng := rand.New(rand.NewPCG(1, 2))
	t.Net.SetTraining(false)
	for range 40 {
		x0, _ := bt.Next()
		nb := t.Schedule.Noisy(x0, rng, true, nil)
		ios, err := t.Net.ForwardCapture(nb.Xt, nb.TF)
		if err != nil {
			return err
		}
		pool = append(pool, example{ios[bi].In, ios[bi].Out.Out})
	}
	cfg := t.Net.SubnetConfig()
	src, err := unet.New(cfg, from)
	if err != nil {
		return err
	}
	srcParams := map[string]*nn.Param{}
	for _, p := range src.Blocks()[bi].Params() {
		srcParams[p.Name] = p
	}
	fmt.Printf("\n## %s: block %s distilled alone, %d steps of %d, Adam 1e-3 (30 warm-up steps), mean MSE of the last 50 steps\n\n", path, block, steps, batch)
	fmt.Println("| draw | layers from draw", from, "| MSE |\n|---|---|---:|")
	variants := []string{""}
	if len(prefixes) > 0 {
		variants = append(variants, prefixes...)
	}
	for _, v := range variants {
		for _, d := range draws {
			if v != "" && d == from {
				continue
			}
			net, err := unet.New(cfg, d)
			if err != nil {
				return err
			}
			net.SetTraining(true)
			params := net.Blocks()[bi].Params()
			for _, p := range params {
				if v != "" && strings.HasPrefix(p.Name, v) {
					copy(p.Data, srcParams[p.Name].Data)
				}
			}
			opt := nn.NewAdam(params, 1e-3)
			var last float64
			for i := range steps {
				ex := pool[i%len(pool)]
				nn.ZeroGrads(params)
				o, err := net.RunBlock(bi, ex.in)
				if err != nil {
					return err
				}
				d := tensor.New(o.Out.Shape...)
				l := nn.MSELoss(o.Out, ex.out, d)
				if _, err := net.BackwardBlock(bi, d); err != nil {
					return err
				}
				opt.LR = 1e-3 * float32(min(1, float64(i+1)/30))
				opt.Update()
				if i >= steps-50 {
					last += float64(l) / 50
				}
			}
			label := "none"
			if v != "" {
				label = v + "*"
			}
			fmt.Printf("| %d | %s | %.4f |\n", d, label, last)
		}
	}
	return nil
}
