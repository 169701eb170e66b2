package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"dnas/dnas/checkpoint"
	"dnas/dnas/mnist"
	"dnas/dnas/nn"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
)

// FeatureDim is the size of the classifier features FID is computed on.
const FeatureDim = 128

// Classifier is a LeNet-style MNIST digit classifier:
//
//	x [N,1,28,28]
//	conv1 5x5, 1->16, pad 2   -> SiLU -> max-pool 2x2   [N,16,14,14]
//	conv2 5x5, 16->32, pad 2  -> SiLU -> max-pool 2x2   [N,32,7,7]
//	flatten -> fc1 1568->128  -> SiLU                   [N,128]  <- the FID features
//	fc2 128->10                                         [N,10]   logits
//
// SiLU replaces LeNet's tanh/ReLU (it is the activation the dnas engine
// has). Its penultimate activations (after fc1 and SiLU) are the features of
// this project's FID, its softmax the confidence of the confident fraction.
type Classifier struct {
	Conv1, Conv2 *nn.Conv2d
	Act1, Act2   *nn.SiLU
	Pool1, Pool2 *MaxPool2
	FC1, FC2     *nn.Linear
	Act3         *nn.SiLU

	flat, dflat *tensor.Tensor
	feat        *tensor.Tensor
}

// NewClassifier builds a classifier with PyTorch-default random weights
// drawn from a PCG seeded with seed.
func NewClassifier(seed uint64) (*Classifier, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6c656e6574))
	c1, err := nn.NewConv2d("conv1", 1, 16, 5, 1, 2, rng)
	if err != nil {
		return nil, err
	}
	c2, err := nn.NewConv2d("conv2", 16, 32, 5, 1, 2, rng)
	if err != nil {
		return nil, err
	}
	return &Classifier{
		Conv1: c1, Conv2: c2,
		Act1: &nn.SiLU{Name: "act1"}, Act2: &nn.SiLU{Name: "act2"}, Act3: &nn.SiLU{Name: "act3"},
		Pool1: &MaxPool2{Name: "pool1"}, Pool2: &MaxPool2{Name: "pool2"},
		FC1: nn.NewLinear("fc1", 32*7*7, FeatureDim, rng),
		FC2: nn.NewLinear("fc2", FeatureDim, 10, rng),
	}, nil
}

// Params lists every weight of the classifier.
func (c *Classifier) Params() []*nn.Param {
	var ps []*nn.Param
	ps = append(ps, c.Conv1.Params()...)
	ps = append(ps, c.Conv2.Params()...)
	ps = append(ps, c.FC1.Params()...)
	ps = append(ps, c.FC2.Params()...)
	return ps
}

// Forward returns the logits [N,10] for images x [N,1,28,28] in [-1,1]; the
// features of the same call are then available from LastFeatures. Both are
// buffers reused by the next call.
func (c *Classifier) Forward(x *tensor.Tensor) *tensor.Tensor {
	h := c.Pool1.Forward(c.Act1.Forward(c.Conv1.Forward(x)))
	h = c.Pool2.Forward(c.Act2.Forward(c.Conv2.Forward(h)))
	n := h.Shape[0]
	c.flat = tensor.Ensure(c.flat, n, h.Numel()/n)
	copy(c.flat.Data, h.Data)
	c.feat = c.Act3.Forward(c.FC1.Forward(c.flat))
	return c.FC2.Forward(c.feat)
}

// LastFeatures returns the penultimate features [N,128] of the last Forward.
func (c *Classifier) LastFeatures() *tensor.Tensor { return c.feat }

// Backward takes dLoss/dlogits and accumulates the gradients of every weight.
func (c *Classifier) Backward(dlogits *tensor.Tensor) {
	d := c.FC1.Backward(c.Act3.Backward(c.FC2.Backward(dlogits)))
	shape := c.Pool2.out.Shape
	c.dflat = tensor.Ensure(c.dflat, shape...)
	copy(c.dflat.Data, d.Data)
	h := c.Act2.Backward(c.Pool2.Backward(c.dflat))
	h = c.Conv2.Backward(h)
	c.Conv1.Backward(c.Act1.Backward(c.Pool1.Backward(h)))
}

// Embed runs the classifier over images x [N,1,28,28] in batches and returns
// their features [N,128] and class probabilities [N,10] (softmax).
func (c *Classifier) Embed(ctx context.Context, x *tensor.Tensor) (features, probs *tensor.Tensor, err error) {
	defer nn.Catch(&err)
	if len(x.Shape) != 4 || x.Shape[1] != 1 || x.Shape[2] != 28 || x.Shape[3] != 28 {
		return nil, nil, fmt.Errorf("eval: the classifier takes MNIST images [N,1,28,28], got %v", x.Shape)
	}
	n := x.Shape[0]
	features = tensor.New(n, FeatureDim)
	probs = tensor.New(n, 10)
	const bs = 500
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		hi := min(lo+bs, n)
		xb := tensor.FromData(x.Data[lo*784:hi*784], hi-lo, 1, 28, 28)
		logits := c.Forward(xb)
		copy(features.Data[lo*FeatureDim:hi*FeatureDim], c.feat.Data)
		softmaxRows(logits.Data, probs.Data[lo*10:hi*10], 10)
	}
	return features, probs, nil
}

// softmaxRows writes the row-wise softmax of logits (rows of k) into out.
func softmaxRows(logits, out []float32, k int) {
	for r := 0; r < len(logits)/k; r++ {
		row, o := logits[r*k:(r+1)*k], out[r*k:(r+1)*k]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for i, v := range row {
			e := math.Exp(float64(v - m))
			o[i] = float32(e)
			s += e
		}
		for i := range o {
			o[i] = float32(float64(o[i]) / s)
		}
	}
}

// CrossEntropy is the mean softmax cross-entropy of logits [N,10] against
// labels; if dlogits is non-nil it receives dLoss/dlogits.
func CrossEntropy(logits *tensor.Tensor, labels []uint8, dlogits *tensor.Tensor) float64 {
	n, k := logits.Shape[0], logits.Shape[1]
	p := make([]float32, len(logits.Data))
	softmaxRows(logits.Data, p, k)
	var loss float64
	for i := 0; i < n; i++ {
		loss -= math.Log(max(float64(p[i*k+int(labels[i])]), 1e-30))
		if dlogits != nil {
			for j := 0; j < k; j++ {
				g := p[i*k+j]
				if j == int(labels[i]) {
					g--
				}
				dlogits.Data[i*k+j] = g / float32(n)
			}
		}
	}
	return loss / float64(n)
}

// Predictions returns the arg-max class and its probability for every row of
// probs [N,10].
func Predictions(probs *tensor.Tensor) (labels []uint8, confidence []float32) {
	n, k := probs.Shape[0], probs.Shape[1]
	labels, confidence = make([]uint8, n), make([]float32, n)
	for i := 0; i < n; i++ {
		best := 0
		for j := 1; j < k; j++ {
			if probs.Data[i*k+j] > probs.Data[i*k+best] {
				best = j
			}
		}
		labels[i], confidence[i] = uint8(best), probs.Data[i*k+best]
	}
	return labels, confidence
}

// ConfidentFraction is the fraction of rows of probs [N,10] whose largest
// probability is at least threshold (0.9 in the project's reports): a
// sample the classifier is sure about looks like a digit.
func ConfidentFraction(probs *tensor.Tensor, threshold float32) float64 {
	_, conf := Predictions(probs)
	k := 0
	for _, c := range conf {
		if c >= threshold {
			k++
		}
	}
	return float64(k) / float64(len(conf))
}

// Accuracy is the fraction of the images of ds the classifier labels right.
func (c *Classifier) Accuracy(ctx context.Context, ds *mnist.Dataset) (float64, error) {
	x, labels := ds.First(ds.N)
	_, probs, err := c.Embed(ctx, x)
	if err != nil {
		return 0, err
	}
	pred, _ := Predictions(probs)
	right := 0
	for i, p := range pred {
		if p == labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(pred)), nil
}

// ClassifierTraining are the settings of TrainClassifier.
type ClassifierTraining struct {
	Epochs    int     // passes over the 60k training images (default 3)
	BatchSize int     // default 64
	LR        float32 // Adam learning rate, decayed linearly to 10% (default 1e-3)
	Seed      uint64  // weight init and shuffling
	Reporter  progress.Reporter
}

// TrainClassifier trains a classifier on the MNIST training set with Adam
// and returns it with its accuracy on the test set.
func TrainClassifier(ctx context.Context, o ClassifierTraining) (c *Classifier, testAcc float64, err error) {
	defer nn.Catch(&err)
	if o.Epochs <= 0 {
		o.Epochs = 3
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.LR <= 0 {
		o.LR = 1e-3
	}
	train, err := mnist.LoadTrain()
	if err != nil {
		return nil, 0, err
	}
	test, err := mnist.LoadTest()
	if err != nil {
		return nil, 0, err
	}
	c, err = NewClassifier(o.Seed)
	if err != nil {
		return nil, 0, err
	}
	params := c.Params()
	opt := nn.NewAdam(params, o.LR)
	b := mnist.NewBatcher(train, o.BatchSize, o.Seed)
	steps := o.Epochs * (train.N / o.BatchSize)
	tr := progress.NewTracker("lenet classifier", steps, o.Reporter)
	var dl *tensor.Tensor
	var loss float64
	for s := 1; s <= steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("eval.TrainClassifier: stopped at step %d: %w", s, err)
		}
		x, labels := b.Next()
		nn.ZeroGrads(params)
		logits := c.Forward(x)
		dl = tensor.Ensure(dl, logits.Shape...)
		loss = CrossEntropy(logits, labels, dl)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, 0, fmt.Errorf("eval.TrainClassifier: loss became %v at step %d", loss, s)
		}
		c.Backward(dl)
		opt.LR = o.LR * float32(1-0.9*float64(s-1)/float64(steps))
		opt.Update()
		tr.Step(s, o.BatchSize, loss)
	}
	tr.Done(steps, loss)
	acc, err := c.Accuracy(ctx, test)
	return c, acc, err
}

// Save writes the classifier's weights to a safetensors checkpoint, with
// its test accuracy and the command that trained it in the metadata.
func (c *Classifier) Save(path string, meta map[string]string) error {
	var f checkpoint.File
	f.AddParams("lenet.", c.Params())
	f.SetMeta("model", "lenet")
	for k, v := range meta {
		f.SetMeta(k, v)
	}
	return f.Save(path)
}

// ClassifierFromCheckpoint builds a classifier from a decoded checkpoint.
func ClassifierFromCheckpoint(f *checkpoint.File) (*Classifier, error) {
	if f.Metadata["model"] != "lenet" {
		return nil, fmt.Errorf("eval: this checkpoint is not a LeNet classifier (model=%q)", f.Metadata["model"])
	}
	c, err := NewClassifier(0)
	if err != nil {
		return nil, err
	}
	if err := f.LoadParams("lenet.", c.Params()); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadClassifier reads a classifier saved by Save.
func LoadClassifier(path string) (*Classifier, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	return ClassifierFromCheckpoint(f)
}

// MaxPool2 is 2x2 max pooling with stride 2 on NCHW (odd sizes drop the
// last row/column):
//
//	x [N,C,H,W] -> y [N,C,H/2,W/2],  y = max of each 2x2 window
//	backward: dx = dy routed to the arg-max of each window, 0 elsewhere
type MaxPool2 struct {
	Name string

	arg     []int32 // index into x of each output's maximum
	out, dx *tensor.Tensor
	inShape []int
}

// Forward pools x.
func (p *MaxPool2) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := x.NCHW()
	oh, ow := h/2, w/2
	p.inShape = append(p.inShape[:0], x.Shape...)
	p.out = tensor.Ensure(p.out, n, c, oh, ow)
	if cap(p.arg) < p.out.Numel() {
		p.arg = make([]int32, p.out.Numel())
	}
	p.arg = p.arg[:p.out.Numel()]
	tensor.ParallelFor(n*c, 4*h*w, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			in := pl * h * w
			o := pl * oh * ow
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					best := in + 2*i*w + 2*j
					for _, k := range [3]int{best + 1, best + w, best + w + 1} {
						if x.Data[k] > x.Data[best] {
							best = k
						}
					}
					p.out.Data[o+i*ow+j] = x.Data[best]
					p.arg[o+i*ow+j] = int32(best)
				}
			}
		}
	})
	return p.out
}

// Backward routes dy to the maxima of the last Forward.
func (p *MaxPool2) Backward(dy *tensor.Tensor) *tensor.Tensor {
	p.dx = tensor.Ensure(p.dx, p.inShape...)
	p.dx.Zero()
	for i, a := range p.arg {
		p.dx.Data[a] += dy.Data[i]
	}
	return p.dx
}
