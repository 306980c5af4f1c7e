using System.Globalization;
using AdaRas.Evaluation.Reports;

namespace AdaRas.Evaluation.Demo;

/// <summary>
/// The held-out test's verdicts: adaptive (and steered) against the effect bar, the sign control below control,
/// and the random-neuron control's mean within 2 points of control (with its range over seeds).
/// </summary>
internal sealed record Controls(EffectCheck Adaptive, EffectCheck Steered, double ControlAccuracy, double SignAccuracy,
    double RandomMeanAccuracy, double RandomMinAccuracy, double RandomMaxAccuracy, int RandomSeeds, int SteeredBreaksUngated, int Ungated)
{
    public const double RandomTolerancePoints = 2;

    public bool SignBelowControl => SignAccuracy < ControlAccuracy;
    public bool RandomNearControl => Math.Abs(RandomMeanAccuracy - ControlAccuracy) <= RandomTolerancePoints;
    public bool AllHold => Adaptive.Passes && SignBelowControl && RandomNearControl;

    /// <summary>From the test runs, named test-control, test-steered, test-adaptive, test-sign and test-random-N.</summary>
    public static Controls Of(IReadOnlyList<RunResults> runs, EffectCriteria criteria)
    {
        RunResults Get(string name) => runs.Single(r => r.Name == name);
        double Accuracy(RunResults r) => r.Records.Count == 0 ? 0 : 100.0 * r.Records.Count(x => x.Correct) / r.Records.Count;
        var control = Get("test-control");
        var random = runs.Where(r => r.Name.StartsWith("test-random-", StringComparison.Ordinal)).Select(Accuracy).ToList();
        if (random.Count == 0) throw new ArgumentException("no random-neuron control runs");
        // What always-on steering does to the questions the gate leaves alone: that is what the gate is for.
        var before = control.Records.ToDictionary(r => r.Id, r => r.Correct, StringComparer.Ordinal);
        var after = Get("test-steered").Records.ToDictionary(r => r.Id, r => r.Correct, StringComparer.Ordinal);
        var ungated = Get("test-adaptive").Records.Where(r => r.Steered == false).Select(r => r.Id).ToList();
        int breaks = ungated.Count(id => before.TryGetValue(id, out bool was) && was && after.TryGetValue(id, out bool now) && !now);
        return new Controls(EffectCheck.Of(control, Get("test-adaptive"), criteria), EffectCheck.Of(control, Get("test-steered"), criteria),
            Accuracy(control), Accuracy(Get("test-sign")), random.Average(), random.Min(), random.Max(), random.Count, breaks, ungated.Count);
    }

    public IEnumerable<string> Lines()
    {
        var c = CultureInfo.InvariantCulture;
        yield return (Adaptive.Passes ? "PASS " : "FAIL ") + Adaptive;
        yield return "(info) " + Steered;
        yield return string.Create(c, $"(info) on the {Ungated} questions the gate leaves alone, always-on steering turns {SteeredBreaksUngated} right answers wrong ") +
                     (SteeredBreaksUngated > 0 ? "(the gate spares them)" : "(nothing to spare there)");
        yield return string.Create(c, $"{(SignBelowControl ? "PASS" : "FAIL")} sign control (-alpha): {SignAccuracy:F1}% vs control {ControlAccuracy:F1}% (must be below)");
        yield return string.Create(c, $"{(RandomNearControl ? "PASS" : "FAIL")} random-neuron control, {RandomSeeds} seeds: mean {RandomMeanAccuracy:F1}% " +
                                      $"(range {RandomMinAccuracy:F1}-{RandomMaxAccuracy:F1}%) vs control {ControlAccuracy:F1}% (must be within +-{RandomTolerancePoints:G} points)");
    }
}
