using AdaRas.Model;
using System.Diagnostics;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Gate;

namespace AdaRas.Probing.Features;

/// <summary>Where a pass over a question file stands (reported after every question).</summary>
internal readonly record struct ExtractionProgress(string Stage, int Done, int Total, long Tokens, TimeSpan Elapsed)
{
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? Tokens / Elapsed.TotalSeconds : 0;
    /// <summary>Time left at the rate so far; null before the first question.</summary>
    public TimeSpan? Eta => Done == 0 ? null : Elapsed * ((double)(Total - Done) / Done);
}

/// <summary>
/// Runs every question of a labelled file through the model and collects what each classifier trains on:
/// token-mean-pooled vectors streamed into the ANOVA F-score, per-token matrices at the gate's features, or
/// last-token vectors for the L1 probe. One forward pass per question (no chat template, raw text).
/// </summary>
internal static class QuestionDataset
{
    /// <summary>Runs each question and hands its taps to <paramref name="consume"/>, in file order.</summary>
    public static void Extract(QuestionFeatures features, LabelledQuestionSet set, string stage, Action<int, QuestionFeatures.Result> consume,
        bool withTrajectory = false, IProgress<ExtractionProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (withTrajectory && !set.HasThinking)
        {
            var missing = set.Questions.First(q => q.Thinking is null);
            throw new JsonLinesException(set.Path, missing.Line, "no 'thinking' field: a trajectory probe needs question plus thinking on every row");
        }
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        progress?.Report(new ExtractionProgress(stage, 0, set.Count, 0, TimeSpan.Zero));
        for (int i = 0; i < set.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var q = set.Questions[i];
            QuestionFeatures.Result result;
            try { result = features.Extract(q.Text(withTrajectory)); }
            catch (Exception e) when (e is ArgumentException or AdaRas.Files.InputException)
            {
                // Name the row: a NaN activation or an over-long question is a property of this line.
                throw new JsonLinesException(set.Path, q.Line, $"question {q.Id}: {e.Message}");
            }
            tokens += result.TokenCount;
            consume(i, result);
            progress?.Report(new ExtractionProgress(stage, i + 1, set.Count, tokens, clock.Elapsed));
        }
    }

    /// <summary>ANOVA F-score of every neuron over the token-mean-pooled questions.</summary>
    public static double[] FScores(AdaRas.Engine.LanguageModel model, LabelledQuestionSet set,
        IProgress<ExtractionProgress>? progress = null, CancellationToken cancellation = default)
    {
        var features = new QuestionFeatures(model);
        set.RequireBothClasses();
        // Checked here, before any question runs, so the error names the file (ANOVA F has n - 2 degrees of freedom).
        if (set.Count < 3) throw new InputException(set.Path, null, $"ANOVA F-score feature selection needs at least 3 questions, got {set.Count}");
        var anova = new AnovaFScore(features.Shape.NeuronCount);
        Extract(features, set, "pooling " + set.Name, (i, r) => anova.AddQuestion(r.MeanPooled, set.Questions[i].IsGood),
            progress: progress, cancellation: cancellation);
        return anova.ComputeScores();
    }

    /// <summary>Per-token features at <paramref name="featureIds"/> (ascending global ids) for every question, with its label.</summary>
    public static List<GateExample> GateExamples(AdaRas.Engine.LanguageModel model, LabelledQuestionSet set, IReadOnlyCollection<int> featureIds,
        IProgress<ExtractionProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (featureIds.Count == 0) throw new ArgumentException("the gate needs at least one feature id");
        var features = new QuestionFeatures(model, featureIds);
        var examples = new List<GateExample>(set.Count);
        Extract(features, set, "features " + set.Name, (i, r) => examples.Add(new GateExample(r.Tokens!, set.Questions[i].IsGood)),
            progress: progress, cancellation: cancellation);
        return examples;
    }

    /// <summary>Last-token activations of every neuron, questions x (layers * I), for the L1 probe.</summary>
    public static ActivationMatrix LastTokenMatrix(AdaRas.Engine.LanguageModel model, LabelledQuestionSet set, bool withTrajectory,
        IProgress<ExtractionProgress>? progress = null, CancellationToken cancellation = default)
    {
        var features = new QuestionFeatures(model);
        int n = features.Shape.NeuronCount;
        if ((long)set.Count * n > Array.MaxLength)
            throw new ArgumentException($"{set.Count} questions x {n} neurons do not fit one activation matrix");
        var values = new float[set.Count * n];
        Extract(features, set, "last tokens " + set.Name, (i, r) => r.LastToken.CopyTo(values, i * n),
            withTrajectory, progress, cancellation);
        return new ActivationMatrix(values, set.Count, n);
    }
}
