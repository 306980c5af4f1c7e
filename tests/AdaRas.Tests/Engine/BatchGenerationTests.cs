using AdaRas.Engine;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Engine;

/// <summary>
/// Batched decoding: B rows in one session must give every row the tokens (and taps) a single-sequence run gives
/// it, whatever the mix of prompt lengths, stops, limits, sampling and per-row steering, also when finished rows
/// are refilled from a queue.
/// </summary>
public class BatchGenerationTests
{
    static int[] PromptOf(int length, int salt) => Enumerable.Range(0, length).Select(i => (i * 31 + salt * 17 + 3) % 250).ToArray();

    sealed record Case(int[] Prompt, GeneratorParams Parameters, int SteeringKind);

    static SteeringTensors Shifted(AdaRas.Engine.LanguageModel model, int layer, float value, int stride)
    {
        var steering = SteeringTensors.Create(model.Manifest);
        var shift = steering.Shift(layer);
        for (int i = 0; i < shift.Length; i += stride) shift[i] = value;
        return steering;
    }

    static int[] Single(AdaRas.Engine.LanguageModel model, Case c, SteeringTensors?[] steerings)
    {
        using var g = new Generator(model, c.Parameters);
        g.Steering = steerings[c.SteeringKind];
        g.AppendTokens(c.Prompt);
        while (!g.IsDone) g.GenerateNextToken();
        return g.Sequence.ToArray();
    }

    static List<Case> Cases(AdaRas.Engine.LanguageModel model, SteeringTensors?[] steerings)
    {
        int[] lengths = [3, 17, 9, 40, 1, 26, 12];
        var cases = new List<Case>();
        for (int i = 0; i < lengths.Length; i++)
        {
            var p = new GeneratorParams { MaxNewTokens = 6 + 5 * (i % 4), StopTokenIds = [] };
            if (i % 3 == 1) p = p with { DoSample = true, Temperature = 1.2, Seed = 100 + i };
            cases.Add(new Case(PromptOf(lengths[i], i), p, i % steerings.Length));
        }
        // Two rows stop on a token their single run produces early, so they finish while others go on.
        foreach (int i in new[] { 2, 5 })
        {
            var tokens = Single(model, cases[i], steerings);
            cases[i] = cases[i] with { Parameters = cases[i].Parameters with { StopTokenIds = [tokens[cases[i].Prompt.Length + 2]] } };
        }
        return cases;
    }

    [Test]
    public void MixedRowsWithRefills_GiveEachRowItsSingleRunTokens()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.TinyUntied));
        using var a = Shifted(model, 0, 2.5f, 3);
        using var b = Shifted(model, 2, -3f, 5);
        var steerings = new SteeringTensors?[] { null, a, b };
        var cases = Cases(model, steerings);
        var expected = cases.Select(c => Single(model, c, steerings)).ToArray();
        Assert.That(expected.Select(e => string.Join(",", e)).Distinct().Count(), Is.EqualTo(cases.Count), "the cases differ from each other");
        Assert.That(expected[1], Is.Not.EqualTo(Single(model, cases[1], [null, null, null])), "steering changes a row's tokens");

        // Three rows for seven sequences: finished rows are refilled while the others are mid-generation.
        using var batch = new BatchGenerator(model, rows: 3, capacity: 80);
        var actual = new int[cases.Count][];
        var rowCase = new int[3];
        int next = 0;
        void Admit(int row)
        {
            var c = cases[next];
            batch.Start(row, c.Parameters);
            batch[row].Steering = steerings[c.SteeringKind];
            batch.AppendTokens(row, c.Prompt);
            rowCase[row] = next++;
        }
        for (int r = 0; r < 3; r++) Admit(r);
        int steps = 0;
        while (batch.Step())
        {
            steps++;
            for (int r = 0; r < 3; r++)
            {
                if (!batch[r].IsDone || actual[rowCase[r]] is not null) continue;
                actual[rowCase[r]] = batch[r].Sequence.ToArray();
                if (next < cases.Count) Admit(r);
            }
        }
        for (int i = 0; i < cases.Count; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]), $"sequence {i} (prompt {cases[i].Prompt.Length} tokens, steering {cases[i].SteeringKind})");
        Assert.That(steps, Is.LessThan(cases.Sum(c => c.Parameters.MaxNewTokens)), "rows shared steps");
    }

    [Test]
    public void BatchedGeneration_EqualsTextGeneration_WithConfigureAndPerStepSteeringSwitches()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var steering = Shifted(model, 1, 3f, 4);
        string[] texts = ["hello world", "a much longer prompt with quite a few more words in it than the others", "x", "one two three four five"];
        var jobs = new List<GenerationJob>();
        var expected = new List<int[]>();
        for (int i = 0; i < texts.Length; i++)
        {
            var request = new ChatRequest(texts[i]) { Raw = true };
            var parameters = new GeneratorParams { MaxNewTokens = 10 + 4 * i, StopTokenIds = [], DoSample = i % 2 == 0, Temperature = 0.9, Seed = i };
            bool steerFirst = i % 2 == 1;
            // Per-token switch: steering flips every third generated token, as the per-token probe does.
            Action<GenerationStep> onStep = s => { if (!s.IsDone && s.GeneratedCount % 3 == 0) s.Steering = s.Steering is null ? steering : null; };
            Action<GenerationStep> configure = s => s.Steering = steerFirst ? steering : null;
            jobs.Add(new GenerationJob(request, parameters) { Configure = configure, OnStep = onStep });
            expected.Add(TextGeneration.Generate(model, request, parameters, configure: g => configure(g.Step), onStep: onStep).TokenIds);
        }
        var results = BatchedGeneration.Run(model, jobs, batchSize: 3).ToList();
        Assert.That(results.Select(r => r.Index).Order(), Is.EqualTo(Enumerable.Range(0, texts.Length)));
        foreach (var (index, result) in results)
            Assert.That(result.TokenIds, Is.EqualTo(expected[index]), $"job {index}");
        var unswitched = TextGeneration.Generate(model, jobs[1].Request, jobs[1].Parameters).TokenIds;
        Assert.That(expected[1], Is.Not.EqualTo(unswitched), "the steering switches change the tokens");
    }

    [Test]
    public void BatchedGeneration_AJobThatCannotFit_ComesBackFailedWithItsReason_TheOthersRun()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        var parameters = new GeneratorParams { MaxNewTokens = 5, StopTokenIds = [] };
        var tooLong = new ChatRequest(string.Concat(Enumerable.Repeat("word ", model.Manifest.ContextLength + 10))) { Raw = true };
        var jobs = new List<GenerationJob>
        {
            new(new ChatRequest("hello world") { Raw = true }, parameters),
            new(tooLong, parameters),
            new(new ChatRequest("one two three") { Raw = true }, parameters),
            new(new ChatRequest("x y") { Raw = true }, parameters with { MaxLength = 1 }),   // longer than its own max length
        };
        var results = BatchedGeneration.Run(model, jobs, batchSize: 3).ToDictionary(r => r.Index, r => r.Result);
        Assert.That(results.Keys.Order(), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(results[1].Failure, Does.Contain("longer than the model's context"));
        Assert.That(results[1].TokenIds, Is.Empty);
        Assert.That(results[3].Failure, Does.Contain("max length"));
        foreach (int i in new[] { 0, 2 })
        {
            Assert.That(results[i].Failure, Is.Null);
            Assert.That(results[i].TokenIds, Is.EqualTo(TextGeneration.Generate(model, jobs[i].Request, parameters).TokenIds), $"job {i} ran as alone");
        }
        var allFailed = BatchedGeneration.Run(model, [jobs[1]], batchSize: 2).Single();
        Assert.That(allFailed.Result.Failure, Is.Not.Null, "a batch of only unfit jobs answers too");
    }

    [Test]
    public void Step_WithARowFailureHandler_ReleasesTheRowWhoseLogitsAreUnusable_TheOthersGoOn()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var broken = SteeringTensors.Create(model.Manifest);
        for (int layer = 0; layer < model.Manifest.NumLayers; layer++) broken.Shift(layer).Fill(1e30f); // non-finite activations
        var c = new Case(PromptOf(9, 1), new GeneratorParams { MaxNewTokens = 6, StopTokenIds = [] }, 0);
        var expected = Single(model, c, [null]);

        using var batch = new BatchGenerator(model, rows: 2, capacity: 32);
        batch.Start(0, c.Parameters);
        batch[0].Steering = broken;
        batch.AppendTokens(0, PromptOf(5, 2));
        batch.Start(1, c.Parameters);
        batch.AppendTokens(1, c.Prompt);
        Assert.Throws<AdaRas.Model.InvalidLogitsException>(() => batch.Step(), "control: without a handler the step throws");

        batch.Start(0, c.Parameters);
        batch[0].Steering = broken;
        batch.AppendTokens(0, PromptOf(5, 2));
        batch.Start(1, c.Parameters);
        batch.AppendTokens(1, c.Prompt);
        var failed = new List<int>();
        while (batch.Step((row, _) => failed.Add(row))) { }
        Assert.That(failed, Is.EqualTo(new[] { 0 }));
        Assert.That(batch[0].IsGenerating, Is.False, "the failed row was released");
        Assert.That(batch[1].Sequence, Is.EqualTo(expected), "the other row made the tokens it makes alone");
    }

    [Test]
    public void RowTaps_EqualTheSingleRunTaps()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var steering = Shifted(model, 0, 2f, 2);
        long[] features = [3, 50, 96 + 7, 96 + 95];
        int[][] prompts = [PromptOf(5, 1), PromptOf(13, 2)];
        var parameters = new GeneratorParams { MaxNewTokens = 8, StopTokenIds = [] };

        using var batch = new BatchGenerator(model, rows: 2, capacity: 32);
        batch.SetFeatureIndices(features);
        var singles = new Generator[2];
        try
        {
            for (int r = 0; r < 2; r++)
            {
                batch.Start(r, parameters);
                singles[r] = new Generator(model, parameters with { MaxLength = 32 });
                singles[r].SetFeatureIndices(features);
                if (r == 1) { batch[r].Steering = steering; singles[r].Steering = steering; }
                batch.AppendTokens(r, prompts[r]);
                singles[r].AppendTokens(prompts[r]);
            }
            for (int step = 0; step < 4; step++)
            {
                for (int r = 0; r < 2; r++)
                {
                    var (row, single) = (batch[r], singles[r]);
                    string at = $"row {r}, step {step}";
                    Assert.That(row.MlpLast.ToArray(), Is.EqualTo(single.MlpLast.ToArray()).Within(1e-5), at);
                    Assert.That(row.MlpSum.ToArray(), Is.EqualTo(single.MlpSum.ToArray()).Within(1e-4), at);
                    Assert.That(row.MlpSumCount, Is.EqualTo(single.MlpSumCount), at);
                    Assert.That(row.Features.ToArray(), Is.EqualTo(single.Features.ToArray()).Within(1e-5), at);
                    Assert.That(row.Logits.ToArray(), Is.EqualTo(single.Logits.ToArray()).Within(1e-5), at);
                }
                Assert.That(batch[0].MlpLast.ToArray(), Is.Not.EqualTo(batch[1].MlpLast.ToArray()), "rows hold their own taps");
                batch.Step();
                foreach (var s in singles) s.GenerateNextToken();
            }
        }
        finally
        {
            foreach (var s in singles) s?.Dispose();
        }
    }

    [Test]
    public void PromptLongerThanAChunk_IsSteeredOnlyAtItsLastPosition()
    {
        // Issue: each prefill chunk's last position was steered too (positions 4, 9, 14 here under positions: last).
        var shape = CheckpointShapes.Tiny;
        using var checkpoint = AdaRas.Model.Checkpoint.Open(TestCheckpoints.Folder(shape));
        var reference = ReferenceModel.Load(checkpoint);
        var prompt = PromptOf(17, 4);
        var shift = new float[shape.Intermediate];
        for (int i = 0; i < shift.Length; i += 3) shift[i] = 4f;

        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var steering = SteeringTensors.Create(model.Manifest);
        shift.CopyTo(steering.Shift(0));
        foreach (var positions in new[] { SteeringPositions.Last, SteeringPositions.All })
        {
            steering.Positions = positions;
            var expected = reference.NewSession().Forward(prompt, new ReferenceSteering
            {
                From = positions == SteeringPositions.All ? 0 : -1,
                Shift = new Dictionary<int, float[]> { [0] = shift },
            });
            using var chunked = new Generator(model, new GeneratorParams { MaxLength = 32 }) { ChunkSize = 5, Steering = steering };
            chunked.AppendTokens(prompt, LogitsScope.All);
            Assert.That(Compare.RelativeError(chunked.AllLogits, Compare.Flatten(expected)), Is.LessThan(1e-4), $"positions {positions}, chunks of 5");
        }
        var unsteered = reference.NewSession().Forward(prompt);
        steering.Positions = SteeringPositions.Last;
        using var check = new Generator(model, new GeneratorParams { MaxLength = 32 }) { Steering = steering };
        check.AppendTokens(prompt, LogitsScope.All);
        Assert.That(Compare.RelativeError(check.AllLogits[^shape.VocabSize..], unsteered[^1]), Is.GreaterThan(1e-3), "the shift is large enough to see");
    }
}
