using AdaRas.Model;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Features;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Probing;

/// <summary>Question features read from the graph taps against the managed reference forward.</summary>
public class QuestionFeaturesTests
{
    const string Question = "Find the sum of all positive integers n for which n^2 - 19n + 99 is a perfect square.";

    [Test]
    public void PooledLastTokenAndPerTokenFeatures_EqualTheReferenceActivations()
    {
        var shape = CheckpointShapes.TinyUntied; // 3 layers: features span several layers
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape));
        var session = ReferenceModel.Load(checkpoint).NewSession();
        var ids = model.Tokenizer.Encode(Question);
        session.Forward(ids);
        var reference = session.LastMlpActivations; // [layer][token][index]
        int layers = shape.Layers, inter = shape.Intermediate, tokens = ids.Length;

        int[] featureIds = [0, 7, inter - 1, inter, inter + 41, 2 * inter + 3, layers * inter - 1];
        var result = new QuestionFeatures(model, featureIds).Extract(Question);

        Assert.That(result.TokenCount, Is.EqualTo(tokens));
        var mean = new float[layers * inter];
        var last = new float[layers * inter];
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < inter; i++)
            {
                double sum = 0;
                for (int t = 0; t < tokens; t++) sum += reference[l][t][i];
                mean[l * inter + i] = (float)(sum / tokens);
                last[l * inter + i] = reference[l][tokens - 1][i];
            }
        Assert.That(Compare.RelativeError(result.MeanPooled, mean), Is.LessThan(1e-4), "token-mean pooling over all neurons");
        Assert.That(Compare.RelativeError(result.LastToken, last), Is.LessThan(1e-4), "last-token activations");

        var expected = new float[tokens * featureIds.Length];
        for (int t = 0; t < tokens; t++)
            for (int k = 0; k < featureIds.Length; k++)
                expected[t * featureIds.Length + k] = reference[featureIds[k] / inter][t][featureIds[k] % inter];
        Assert.That(result.Tokens!.Rows, Is.EqualTo(tokens));
        Assert.That(result.Tokens.Columns, Is.EqualTo(featureIds.Length));
        Assert.That(Compare.RelativeError(result.Tokens.Values, expected), Is.LessThan(1e-4), "per-token features at the ids");
        Assert.That(expected.Distinct().Count(), Is.GreaterThan(tokens), "the compared values are not degenerate");
    }

    [Test]
    public void FeatureIdsOutsideTheModelOrUnsorted_AreRefused()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        int neurons = CheckpointShapes.Tiny.Layers * CheckpointShapes.Tiny.Intermediate;
        var e = Assert.Throws<ArgumentException>(() => new QuestionFeatures(model, [3, neurons]));
        Assert.That(e!.Message, Does.Contain($"feature index {neurons}").And.Contain("outside the model"));
        Assert.Throws<ArgumentException>(() => new QuestionFeatures(model, [5, 3]));
    }

    [Test]
    public void DatasetExtraction_ReportsProgressAndFeedsTheFScore()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        var path = QuestionFiles.Write("dataset.jsonl",
            QuestionFiles.Row(1, "What is 2 + 3?", true),
            QuestionFiles.Row(2, "What is 12 * 12?", false),
            QuestionFiles.Row(3, "Solve x + 4 = 9.", true),
            QuestionFiles.Row(4, "Compute 7 - 10.", false));
        var set = LabelledQuestionFile.Load(path);
        var reports = new List<ExtractionProgress>();
        var scores = QuestionDataset.FScores(model, set, new Collect(reports));

        // Against the pooled vectors fed to the F-score by hand.
        var anova = new AnovaFScore(scores.Length);
        var features = new QuestionFeatures(model);
        foreach (var q in set.Questions) anova.AddQuestion(features.Extract(q.Question).MeanPooled, q.IsGood);
        Assert.That(scores, Is.EqualTo(anova.ComputeScores()));

        Assert.That(reports[0].Done, Is.EqualTo(0));
        Assert.That(reports.Select(r => r.Done), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(reports[^1].Tokens, Is.EqualTo(set.Questions.Sum(q => model.Tokenizer.Encode(q.Question).Length)));
        Assert.That(reports[^1].Eta, Is.EqualTo(TimeSpan.Zero));
        Assert.That(reports[^1].TokensPerSecond, Is.GreaterThan(0));

        var selected = SelectedFeatures.FromScores(ModelShape.FromManifest(model.Manifest), scores, 5, path, 2, 2);
        Assert.That(selected.Features.Select(f => f.FScore), Is.Ordered.Descending);
        Assert.That(selected.Ids, Is.Ordered.Ascending);
        var file = Path.Combine(QuestionFiles.Folder, "features.json");
        selected.Save(file);
        var loaded = SelectedFeatures.Load(file, ModelShape.FromManifest(model.Manifest));
        Assert.That(loaded.Ids, Is.EqualTo(selected.Ids));
        Assert.That(loaded.Features.Select(f => f.FScore), Is.EqualTo(selected.Features.Select(f => f.FScore)).Within(1e-12));
        var other = Assert.Throws<ModelFormatException>(() => SelectedFeatures.Load(file, new ModelShape(2, 96, "another-model")));
        Assert.That(other!.Message, Does.Contain(file).And.Contain("another-model"));
    }

    sealed class Collect(List<ExtractionProgress> list) : IProgress<ExtractionProgress>
    {
        public void Report(ExtractionProgress value) => list.Add(value);
    }
}
