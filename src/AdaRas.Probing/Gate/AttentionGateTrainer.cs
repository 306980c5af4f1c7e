using AdaRas.Model;
using AdaRas.Probing.Metrics;
using AdaRas.Probing.Numerics;

namespace AdaRas.Probing.Gate;

/// <summary>One question for the gate: its per-token features (tokens x N, columns in feature-id order) and label.</summary>
internal sealed record GateExample(ActivationMatrix Tokens, bool IsGood);

/// <summary>The paper's recipe (docs/ARCHITECTURE.md, method step 5); every default is the paper's or PyTorch's.</summary>
internal sealed record AttentionGateOptions
{
    public int HiddenSize { get; init; } = 256;
    public double Dropout { get; init; } = 0.3;
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>L2 added to the gradient (torch.optim.Adam's weight_decay), on every parameter.</summary>
    public double WeightDecay { get; init; } = 1e-5;
    /// <summary>
    /// Questions per optimiser step. 1 is torch DataLoader's default and needs no padding of variable-length
    /// questions; with more, the loss is the batch mean (as BCEWithLogitsLoss with a padded, masked batch).
    /// </summary>
    public int BatchSize { get; init; } = 1;
    public int MaxEpochs { get; init; } = 100;
    /// <summary>Stop after this many epochs without a better validation AUROC; the best epoch's weights are kept.</summary>
    public int Patience { get; init; } = 10;
    public int Seed { get; init; }
    /// <summary>
    /// Standardise each feature with its mean and std over all training tokens (stored in the file). Activations of
    /// different neurons differ in scale by orders of magnitude, and the attention score goes through tanh, so
    /// unscaled inputs can saturate it. The paper's gate trains on the raw activations (false here; <c>adaras gate
    /// train --inputs raw</c>); the file records which, so a gate is always applied as it was trained.
    /// </summary>
    public bool Standardize { get; init; } = true;

    /// <summary>The paper's gate uses 256; far larger sizes only exhaust memory (weights, gradients and Adam moments).</summary>
    public const int MaxHiddenSize = 16384;
    /// <summary>Most weights of the hidden layer (H x N) a gate may have: 2^24 doubles, about 0.5 GB with gradients and Adam state.</summary>
    public const long MaxHiddenWeights = 1L << 24;

    /// <summary>Throws on an option out of range (callers check before spending time on feature extraction).</summary>
    public void Validate()
    {
        if (HiddenSize is <= 0 or > MaxHiddenSize) throw new AdaRas.Files.UsageException($"hidden size must be in [1, {MaxHiddenSize}], got {HiddenSize}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new AdaRas.Files.UsageException($"dropout must be in [0, 1), got {Dropout}");
        if (!(LearningRate > 0)) throw new AdaRas.Files.UsageException($"learning rate must be positive, got {LearningRate}");
        if (!(WeightDecay >= 0)) throw new AdaRas.Files.UsageException($"weight decay must be >= 0, got {WeightDecay}");
        if (BatchSize <= 0) throw new AdaRas.Files.UsageException($"batch size must be positive, got {BatchSize}");
        if (MaxEpochs <= 0) throw new AdaRas.Files.UsageException($"max epochs must be positive, got {MaxEpochs}");
        if (Patience <= 0) throw new AdaRas.Files.UsageException($"patience must be positive, got {Patience}");
    }
}

/// <summary>Training curve entry.</summary>
internal sealed record GateEpoch(int Epoch, double TrainLoss, double ValidationAuroc);

internal sealed record AttentionGateTrainingResult(AttentionGate Gate, IReadOnlyList<GateEpoch> History, ClassifierReport Validation);

/// <summary>
/// Trains the attention gate: BCE with pos_weight = #incorrect/#correct (positive = is_good), Adam, early stopping
/// on validation AUROC, threshold = Youden's J on the validation ROC at the best epoch. Single-threaded and seeded:
/// the same inputs and seed give bit-identical weights on the same machine (initialisation, shuffling and dropout
/// all come from one xoshiro256** stream).
/// </summary>
internal static class AttentionGateTrainer
{
// Long on purpose: the paper's training loop (epochs, shuffled batches, early stopping, best-epoch restore) over one
// seeded random stream; its order of draws is what makes training bit-reproducible, so it stays in one place.
    public static AttentionGateTrainingResult Train(
        ModelShape model,
        IReadOnlyList<int> featureIds,
        IReadOnlyList<GateExample> train,
        IReadOnlyList<GateExample> validation,
        AttentionGateOptions? options = null,
        Action<GateEpoch>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(featureIds);
        options ??= new AttentionGateOptions();
        options.Validate();
        var ids = featureIds.ToArray();
        if (ids.Length == 0) throw new ArgumentException("the gate needs at least one feature");
        model.ValidateNeuronIds(ids, requireAscending: true, "gate features");
        int n = ids.Length, h = options.HiddenSize;
        if ((long)n * h > AttentionGateOptions.MaxHiddenWeights)
            throw new AdaRas.Files.UsageException($"a gate of {n} features x hidden size {h} has {(long)n * h} weights, more than {AttentionGateOptions.MaxHiddenWeights}; use fewer features or a smaller --hidden");
        CheckExamples(train, n, "training");
        CheckExamples(validation, n, "validation");
        int good = train.Count(e => e.IsGood);
        StratifiedFolds.RequireBothClasses(good, train.Count - good, "gate training labels");
        int validGood = validation.Count(e => e.IsGood);
        StratifiedFolds.RequireBothClasses(validGood, validation.Count - validGood, "gate validation labels (AUROC needs both)");
        double posWeight = (double)(train.Count - good) / good;

        var (mean, std) = options.Standardize ? TokenStatistics(train, n) : (new float[n], Enumerable.Repeat(1f, n).ToArray());
        var net = new AttentionGateNetwork<float>(n, h, mean: mean, invStd: std.Select(s => 1 / s).ToArray());
        var rng = new SeededRandom(options.Seed);
        net.Initialise(rng);
        var adam = new AdamOptimizer(net.Parameters.Length, options.LearningRate, options.WeightDecay);
        var grad = new float[net.Parameters.Length];
        var ws = new AttentionGateNetwork<float>.Workspace();
        var dropScale = new float[h];
        float keepScale = (float)(1 / (1 - options.Dropout));
        var order = Enumerable.Range(0, train.Count).ToArray();
        var validLabels = validation.Select(e => e.IsGood).ToArray();
        var validProbs = new double[validation.Count];

        var history = new List<GateEpoch>();
        var bestParameters = (float[])net.Parameters.Clone();
        double bestAuroc = double.NegativeInfinity;
        int bestEpoch = 0, sinceBest = 0;
        for (int epoch = 1; epoch <= options.MaxEpochs; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            double lossSum = 0;
            for (int start = 0; start < order.Length; start += options.BatchSize)
            {
                int count = Math.Min(options.BatchSize, order.Length - start);
                Array.Clear(grad);
                for (int b = 0; b < count; b++)
                {
                    var example = train[order[start + b]];
                    for (int k = 0; k < h; k++) dropScale[k] = rng.NextDouble() < options.Dropout ? 0f : keepScale;
                    float logit = net.Forward(example.Tokens.Values, example.Tokens.Rows, dropScale, ws);
                    var (loss, gradLogit) = AttentionGateNetwork<float>.BceWithLogits(logit, example.IsGood, posWeight);
                    lossSum += loss;
                    net.Backward(example.Tokens.Values, (float)(gradLogit / count), ws, grad);
                }
                adam.Step(net.Parameters, grad);
            }

            Predict(net, validation, validProbs, ws);
            double auroc = BinaryMetrics.Auroc(validProbs, validLabels);
            var record = new GateEpoch(epoch, lossSum / train.Count, auroc);
            history.Add(record);
            onEpoch?.Invoke(record);
            if (auroc > bestAuroc)
            {
                bestAuroc = auroc; bestEpoch = epoch; sinceBest = 0;
                Array.Copy(net.Parameters, bestParameters, bestParameters.Length);
            }
            else if (++sinceBest >= options.Patience) break;
        }

        Array.Copy(bestParameters, net.Parameters, bestParameters.Length);
        Predict(net, validation, validProbs, ws);
        double threshold = BinaryMetrics.YoudenThreshold(validProbs, validLabels).Threshold;
        var report = ClassifierReport.Evaluate(AttentionGate.Kind, "validation", validProbs, validLabels, threshold);
        var info = new GateTrainingInfo(history.Count, bestEpoch, bestAuroc, train.Count, validation.Count, posWeight,
            options.BatchSize, options.LearningRate, options.WeightDecay, options.Seed);
        var gate = new AttentionGate(model, ids, net, std, options.Dropout, threshold, options.Standardize, info);
        return new AttentionGateTrainingResult(gate, history, report);
    }

    static void Predict(AttentionGateNetwork<float> net, IReadOnlyList<GateExample> examples, double[] probs,
        AttentionGateNetwork<float>.Workspace ws)
    {
        for (int i = 0; i < examples.Count; i++)
            probs[i] = AttentionGate.Sigmoid(net.Forward(examples[i].Tokens.Values, examples[i].Tokens.Rows, default, ws));
    }

    static void CheckExamples(IReadOnlyList<GateExample> examples, int n, string what)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException($"no {what} questions");
        for (int i = 0; i < examples.Count; i++)
        {
            var t = examples[i].Tokens;
            if (t.Columns != n) throw new ArgumentException($"{what} question {i}: {t.Columns} features per token, the gate has {n}");
            if (t.Rows == 0) throw new ArgumentException($"{what} question {i}: no tokens");
            t.EnsureFinite($"{what} question {i}");
        }
    }

    /// <summary>Mean and population std of every feature over all training tokens (std 1 for a constant feature).</summary>
    static (float[] Mean, float[] Std) TokenStatistics(IReadOnlyList<GateExample> train, int n)
    {
        var moments = new ColumnMoments(n);
        foreach (var e in train)
            for (int t = 0; t < e.Tokens.Rows; t++) moments.Add(e.Tokens.Row(t));
        var mean = new float[n];
        var std = new float[n];
        for (int j = 0; j < n; j++)
        {
            mean[j] = (float)moments.Mean(j);
            float s = (float)Math.Sqrt(moments.Variance(j));
            std[j] = s > 0 && float.IsFinite(1 / s) ? s : 1f;
        }
        return (mean, std);
    }
}
