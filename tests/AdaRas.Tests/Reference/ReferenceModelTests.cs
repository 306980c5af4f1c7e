using AdaRas.Model;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;
using W = AdaRas.Model.Qwen3Weights;

namespace AdaRas.Tests.Reference;

/// <summary>The reference forward checks itself: hand-computed pieces, cache consistency, steering identities.</summary>
internal class ReferenceModelTests
{
    static IEnumerable<CheckpointShape> TinyShapes() => [CheckpointShapes.Tiny, CheckpointShapes.TinyUntied, CheckpointShapes.TinyMqa];

    static ReferenceModel Load(CheckpointShape shape, int seed = 1)
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape, seed));
        return ReferenceModel.Load(checkpoint);
    }

    static Dictionary<string, float[]> ReadAll(CheckpointShape shape, out Qwen3Config config)
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape));
        config = checkpoint.Config;
        return W.Expected(checkpoint.Config).ToDictionary(t => t.Name, t => checkpoint.ReadFloat32(t.Name));
    }

    static int[] Prompt(int length, int seed = 7)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => random.Next(TinyTokenizer.BpeVocabSize)).ToArray();
    }

    /// <summary>Largest |a - b| over all entries, relative to the largest |b| (a scale-free closeness measure).</summary>
    static double RelativeDifference(float[][] a, float[][] b)
    {
        Assert.That(a.Length, Is.EqualTo(b.Length));
        double diff = 0, scale = 0;
        for (int t = 0; t < a.Length; t++)
            for (int i = 0; i < a[t].Length; i++)
            {
                diff = Math.Max(diff, Math.Abs(a[t][i] - b[t][i]));
                scale = Math.Max(scale, Math.Abs(b[t][i]));
            }
        return diff / scale;
    }

    // ---- Hand-computed pieces -------------------------------------------------------------------------------

    [Test]
    public void Rope_RotatesHalvesByPositionTimesInverseFrequency()
    {
        // d = 4, theta = 100: inverse frequencies 1 and 0.1; position 3 gives angles 3 and 0.3 rad.
        // x = (1, 2, 3, 4): pairs (x0, x2) and (x1, x3) rotate, e.g. x0' = 1 cos 3 - 3 sin 3 = -0.98999 - 0.42336.
        double[] x = [1, 2, 3, 4];
        ReferenceMath.Rope(x, position: 3, theta: 100);
        Assert.That(x, Is.EqualTo(new[] { -1.413352520780, 0.728592151606, -2.828857481741, 4.412386369825 }).Within(1e-11));
    }

    [Test]
    public void Rope_AtPositionZeroIsIdentity()
    {
        double[] x = [0.5, -1.5, 2.0, 7.0, -3.0, 1.0];
        ReferenceMath.Rope(x, position: 0, theta: 1e6);
        Assert.That(x, Is.EqualTo(new[] { 0.5, -1.5, 2.0, 7.0, -3.0, 1.0 }));
    }

    [Test]
    public void Rope_DotProductDependsOnlyOnRelativePosition()
    {
        var random = new Random(3);
        var q = Enumerable.Range(0, 16).Select(_ => random.NextDouble() - 0.5).ToArray();
        var k = Enumerable.Range(0, 16).Select(_ => random.NextDouble() - 0.5).ToArray();
        double Dot(int qPos, int kPos)
        {
            var a = (double[])q.Clone(); var b = (double[])k.Clone();
            ReferenceMath.Rope(a, qPos, 10_000); ReferenceMath.Rope(b, kPos, 10_000);
            return a.Zip(b, (x, y) => x * y).Sum();
        }
        Assert.That(Dot(9, 4), Is.EqualTo(Dot(105, 100)).Within(1e-12));
        Assert.That(Dot(9, 4), Is.Not.EqualTo(Dot(9, 5)).Within(1e-6), "the score must change with the offset");
    }

    [Test]
    public void RmsNorm_MatchesHandComputedValues()
    {
        // mean square of (3, -4) is 12.5, so x / sqrt(12.5) = (0.848528, -1.131371), times weights (2, 0.5).
        var y = ReferenceMath.RmsNorm([3.0, -4.0], [2f, 0.5f], 1e-6);
        Assert.That(y, Is.EqualTo(new[] { 1.697056206965467, -0.5656854023218224 }).Within(1e-12));
    }

    [Test]
    public void KvHeadOf_GroupsConsecutiveQueryHeads()
    {
        Assert.That(Enumerable.Range(0, 6).Select(h => ReferenceMath.KvHeadOf(h, 6, 2)), Is.EqualTo(new[] { 0, 0, 0, 1, 1, 1 }));
        Assert.That(Enumerable.Range(0, 4).Select(h => ReferenceMath.KvHeadOf(h, 4, 2)), Is.EqualTo(new[] { 0, 0, 1, 1 }));
        Assert.That(Enumerable.Range(0, 4).Select(h => ReferenceMath.KvHeadOf(h, 4, 1)), Is.EqualTo(new[] { 0, 0, 0, 0 }));
    }

    /// <summary>
    /// Swapping two query heads (their q_proj rows and o_proj columns) leaves the model unchanged exactly when
    /// both heads read the same KV head. So a swap inside a group must not change logits and a swap across
    /// groups must: this pins the grouping to h / (heads / kv_heads), not h % kv_heads.
    /// </summary>
    [TestCase("tiny", 0, 1, true)]
    [TestCase("tiny", 1, 2, false)]
    [TestCase("tiny-untied", 0, 2, true)]
    [TestCase("tiny-untied", 2, 3, false)]
    public void QueryHeadSwap_IsInvisibleOnlyWithinAKvGroup(string shapeName, int a, int b, bool sameGroup)
    {
        var shape = CheckpointShapes.Get(shapeName);
        var tensors = ReadAll(shape, out var config);
        var original = ReferenceModel.FromTensors(config, n => tensors[n]);
        int d = config.HeadDim, hidden = config.HiddenSize, width = config.NumAttentionHeads * d;
        var swapped = new Dictionary<string, float[]>(tensors);
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            var q = (float[])tensors[W.Layer(l, W.QProj)].Clone();   // [heads*d, hidden]: head h is rows h*d..h*d+d
            var o = (float[])tensors[W.Layer(l, W.OProj)].Clone();   // [hidden, heads*d]: head h is columns h*d..
            for (int i = 0; i < d; i++)
            {
                for (int c = 0; c < hidden; c++)
                    (q[(a * d + i) * hidden + c], q[(b * d + i) * hidden + c]) = (q[(b * d + i) * hidden + c], q[(a * d + i) * hidden + c]);
                for (int r = 0; r < hidden; r++)
                    (o[r * width + a * d + i], o[r * width + b * d + i]) = (o[r * width + b * d + i], o[r * width + a * d + i]);
            }
            swapped[W.Layer(l, W.QProj)] = q;
            swapped[W.Layer(l, W.OProj)] = o;
        }
        var edited = ReferenceModel.FromTensors(config, n => swapped[n]);
        var prompt = Prompt(9);
        double difference = RelativeDifference(edited.NewSession().Forward(prompt), original.NewSession().Forward(prompt));
        if (sameGroup) Assert.That(difference, Is.LessThan(1e-6));
        else Assert.That(difference, Is.GreaterThan(1e-3));
    }

    // ---- Cache ------------------------------------------------------------------------------------------------

    [TestCaseSource(nameof(TinyShapes))]
    public void IncrementalDecoding_MatchesRecomputingTheWholeSequence(CheckpointShape shape)
    {
        var model = Load(shape);
        var tokens = Prompt(14);
        var whole = model.NewSession();
        var expected = whole.Forward(tokens);
        var expectedActivations = whole.LastMlpActivations;

        var session = model.NewSession();
        var pieces = new List<float[]>();
        var activations = new List<float[]>[shape.Layers];
        for (int l = 0; l < shape.Layers; l++) activations[l] = new();
        foreach (var (from, count) in new[] { (0, 6), (6, 3), (9, 1), (10, 1), (11, 1), (12, 2) })
        {
            pieces.AddRange(session.Forward(tokens.AsSpan(from, count)));
            Assert.That(session.Length, Is.EqualTo(from + count));
            Assert.That(session.LastMlpActivations[0], Has.Length.EqualTo(count));
            for (int l = 0; l < shape.Layers; l++) activations[l].AddRange(session.LastMlpActivations[l]);
        }
        Assert.That(RelativeDifference(pieces.ToArray(), expected), Is.LessThan(1e-6));
        for (int l = 0; l < shape.Layers; l++)
            Assert.That(RelativeDifference(activations[l].ToArray(), expectedActivations[l]), Is.LessThan(1e-6));
    }

    [Test]
    public void LaterTokensDoNotChangeEarlierLogits()
    {
        var model = Load(CheckpointShapes.Tiny);
        var tokens = Prompt(10);
        var full = model.NewSession().Forward(tokens);
        var prefix = model.NewSession().Forward(tokens.AsSpan(0, 4));
        Assert.That(RelativeDifference(full[..4], prefix), Is.LessThan(1e-6));
    }

    // ---- Steering -----------------------------------------------------------------------------------------------

    [TestCaseSource(nameof(TinyShapes))]
    public void IdentitySteering_ChangesNothing(CheckpointShape shape)
    {
        var model = Load(shape);
        var tokens = Prompt(8);
        var identity = new ReferenceSteering
        {
            From = 0,
            Scale = Enumerable.Range(0, shape.Layers).ToDictionary(l => l, _ => Enumerable.Repeat(1f, shape.Intermediate).ToArray()),
            Shift = Enumerable.Range(0, shape.Layers).ToDictionary(l => l, _ => new float[shape.Intermediate]),
            Residual = Enumerable.Range(0, shape.Layers).ToDictionary(l => l, _ => new float[shape.Hidden]),
        };
        var plain = model.NewSession();
        var steered = model.NewSession();
        Assert.That(steered.Forward(tokens, identity), Is.EqualTo(plain.Forward(tokens)));
        Assert.That(steered.LastMlpActivations, Is.EqualTo(plain.LastMlpActivations));
    }

    /// <summary>
    /// down_proj is linear, so adding s to neuron j of layer l equals adding s * W_down[:, j] to the residual
    /// stream after that layer's MLP (docs/ARCHITECTURE.md, method step 4, "steering as a control vector").
    /// </summary>
    [TestCase("tiny", 0, 5, 3.0f)]
    [TestCase("tiny", 1, 90, -2.5f)]
    [TestCase("tiny-untied", 1, 17, 4.0f)]
    [TestCase("tiny-mqa", 0, 63, 1.5f)]
    public void NeuronShift_EqualsDownProjColumnAddedToResidual(string shapeName, int layer, int neuron, float shift)
    {
        var shape = CheckpointShapes.Get(shapeName);
        var model = Load(shape);
        var tokens = Prompt(7);
        var down = model.DownProj(layer);
        var column = Enumerable.Range(0, shape.Hidden).Select(r => shift * down[r * shape.Intermediate + neuron]).ToArray();

        var byNeuron = ReferenceSteering.ShiftNeuron(layer, neuron, shift, shape.Intermediate);
        var byResidual = new ReferenceSteering { Residual = new Dictionary<int, float[]> { [layer] = column } };
        var viaNeuron = model.NewSession().Forward(tokens, byNeuron);
        var viaResidual = model.NewSession().Forward(tokens, byResidual);
        var plain = model.NewSession().Forward(tokens);

        Assert.That(RelativeDifference(viaNeuron, plain), Is.GreaterThan(1e-3), "the shift must visibly change the logits");
        Assert.That(RelativeDifference(viaNeuron, viaResidual), Is.LessThan(1e-5));
    }

    [Test]
    public void Steering_AppliesFromThePositionItNames()
    {
        var shape = CheckpointShapes.Tiny;
        var model = Load(shape);
        var tokens = Prompt(6);
        var plain = model.NewSession().Forward(tokens);
        bool[] Changed(int from)
        {
            var steering = ReferenceSteering.ShiftNeuron(0, 3, 5f, shape.Intermediate, from);
            var logits = model.NewSession().Forward(tokens, steering);
            return logits.Select((row, t) => RelativeDifference([row], [plain[t]]) > 1e-4).ToArray();
        }
        Assert.Multiple(() =>
        {
            Assert.That(Changed(-1), Is.EqualTo(new[] { false, false, false, false, false, true }));
            Assert.That(Changed(-3), Is.EqualTo(new[] { false, false, false, true, true, true }));
            Assert.That(Changed(2), Is.EqualTo(new[] { false, false, true, true, true, true }));
            Assert.That(Changed(0), Is.EqualTo(new[] { true, true, true, true, true, true }));
        });
    }

    [Test]
    public void Steering_ScaleActsOnActivationsButActivationsAreRecordedBeforeIt()
    {
        var shape = CheckpointShapes.TinyUntied;
        var model = Load(shape);
        var tokens = Prompt(5);
        var plain = model.NewSession();
        var plainLogits = plain.Forward(tokens);
        var zeroLayer1 = new ReferenceSteering { From = 0, Scale = new Dictionary<int, float[]> { [1] = new float[shape.Intermediate] } };
        var steered = model.NewSession();
        var logits = steered.Forward(tokens, zeroLayer1);
        Assert.That(RelativeDifference(logits, plainLogits), Is.GreaterThan(1e-3));
        // Layer 1's own recorded activations are pre-steering; layer 2 sees the steered stream and so differs.
        Assert.That(steered.LastMlpActivations[1], Is.EqualTo(plain.LastMlpActivations[1]));
        Assert.That(RelativeDifference(steered.LastMlpActivations[2], plain.LastMlpActivations[2]), Is.GreaterThan(1e-3));
    }

    [Test]
    public void BadSteering_IsRejectedWithoutTouchingTheCache()
    {
        var shape = CheckpointShapes.Tiny;
        var session = Load(shape).NewSession();
        session.Forward(Prompt(3));
        var wrongLength = new ReferenceSteering { Shift = new Dictionary<int, float[]> { [1] = new float[shape.Intermediate - 1] } };
        var wrongLayer = new ReferenceSteering { Shift = new Dictionary<int, float[]> { [shape.Layers] = new float[shape.Intermediate] } };
        Assert.Throws<ArgumentException>(() => session.Forward([5], wrongLength));
        Assert.Throws<ArgumentException>(() => session.Forward([5], wrongLayer));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Forward([shape.VocabSize]));
        Assert.That(session.Length, Is.EqualTo(3));
    }

    // ---- Generation ---------------------------------------------------------------------------------------------

    [Test]
    public void Greedy_ContinuesWithTheArgmaxOfRecomputedLogits()
    {
        var model = Load(CheckpointShapes.TinyUntied);
        var prompt = Prompt(5);
        var generated = ReferenceGeneration.Greedy(model, prompt, maxNew: 6);
        Assert.That(generated, Has.Length.EqualTo(6));
        // Each new token is the argmax of a fresh full forward over everything before it.
        for (int k = 0; k < generated.Length; k++)
        {
            var context = prompt.Concat(generated.Take(k)).ToArray();
            var logits = model.NewSession().Forward(context);
            Assert.That(generated[k], Is.EqualTo(ReferenceGeneration.ArgMax(logits[^1])), $"token {k}");
        }
    }

    [Test]
    public void Greedy_StopsAtAStopIdAndIncludesIt()
    {
        var model = Load(CheckpointShapes.Tiny);
        var prompt = Prompt(5);
        var free = ReferenceGeneration.Greedy(model, prompt, maxNew: 8);
        var stopped = ReferenceGeneration.Greedy(model, prompt, maxNew: 8, stopIds: [free[2]]);
        int firstStop = Array.IndexOf(free, free[2]);
        Assert.That(stopped, Is.EqualTo(free.Take(firstStop + 1).ToArray()));
    }
}
