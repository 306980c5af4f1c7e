using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaRas.Probing.Metrics;

/// <summary>
/// What a correctness classifier achieved on one set of questions, as the CLI prints and saves it (JSON,
/// snake_case). Positive class = is_good; "steer" = predicted incorrect (p(correct) &lt; threshold).
/// </summary>
internal sealed record ClassifierReport
{
    /// <summary>"attention-gate" or "l1-probe".</summary>
    public required string Classifier { get; init; }
    /// <summary>Which questions: "validation", "cross-validation (out-of-fold)", "test", ...</summary>
    public required string Split { get; init; }
    public required int Questions { get; init; }
    public required int Correct { get; init; }
    public required int Incorrect { get; init; }
    public required double Auroc { get; init; }
    public required double Threshold { get; init; }
    public required double Accuracy { get; init; }
    public double? Precision { get; init; }
    public double? Recall { get; init; }
    public double? Specificity { get; init; }
    /// <summary>Fraction of questions the classifier would steer.</summary>
    public required double SteerRate { get; init; }
    public required int TruePositives { get; init; }
    public required int FalsePositives { get; init; }
    public required int TrueNegatives { get; init; }
    public required int FalseNegatives { get; init; }

    public static ClassifierReport Evaluate(string classifier, string split, ReadOnlySpan<double> pCorrect,
        ReadOnlySpan<bool> isGood, double threshold)
    {
        double auroc = BinaryMetrics.Auroc(pCorrect, isGood);
        var c = BinaryMetrics.Confusion(pCorrect, isGood, threshold);
        return new ClassifierReport
        {
            Classifier = classifier,
            Split = split,
            Questions = c.Total,
            Correct = c.TruePositives + c.FalseNegatives,
            Incorrect = c.TrueNegatives + c.FalsePositives,
            Auroc = auroc,
            Threshold = threshold,
            Accuracy = c.Accuracy,
            Precision = c.Precision,
            Recall = c.Recall,
            Specificity = c.Specificity,
            SteerRate = (double)(c.TrueNegatives + c.FalseNegatives) / c.Total,
            TruePositives = c.TruePositives,
            FalsePositives = c.FalsePositives,
            TrueNegatives = c.TrueNegatives,
            FalseNegatives = c.FalseNegatives,
        };
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
