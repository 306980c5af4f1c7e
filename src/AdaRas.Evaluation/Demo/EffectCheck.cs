using System.Globalization;
using AdaRas.Evaluation.Reports;

namespace AdaRas.Evaluation.Demo;

/// <summary>
/// What "the method works" means on the demo model, as numbers a run is checked against: the steered run gains
/// at least <see cref="MinGainPoints"/> accuracy points over control, the gain is significant (exact McNemar
/// p below <see cref="MaxPValue"/>), and it breaks few answers (right-to-wrong flips at most
/// <see cref="MaxRightToWrongShare"/> of the questions).
/// </summary>
internal sealed record EffectCriteria(double MinGainPoints, double MaxPValue, double MaxRightToWrongShare)
{
    /// <summary>The issue's bar for the full demo's held-out test (>= 400 questions).</summary>
    public static EffectCriteria Full => new(15, 1e-3, 0.02);

    /// <summary>
    /// The CI bar for the quick run's reduced set (80 test questions; its gate is trained on 120 questions instead of
    /// 400, so it steers less precisely): 10 points, p below 0.01, right-to-wrong at most 5%. A broken pipeline (sign,
    /// index or layer) gains nothing, so the bar still separates intact from broken by a wide margin.
    /// </summary>
    public static EffectCriteria Quick => new(10, 1e-2, 0.05);
}

/// <summary>One run against control on the same questions, and whether it meets <see cref="EffectCriteria"/>.</summary>
internal sealed record EffectCheck(string Run, int Questions, int ControlCorrect, int RunCorrect, int WrongToRight, int RightToWrong, double PValue,
    EffectCriteria Criteria)
{
    public double GainPoints => Questions == 0 ? 0 : 100.0 * (RunCorrect - ControlCorrect) / Questions;
    public double RightToWrongShare => Questions == 0 ? 1 : (double)RightToWrong / Questions;

    public bool Passes => Questions > 0 && GainPoints >= Criteria.MinGainPoints && PValue < Criteria.MaxPValue
                          && RightToWrongShare <= Criteria.MaxRightToWrongShare;

    /// <summary>Compares <paramref name="run"/> with <paramref name="control"/> on the questions both answered.</summary>
    public static EffectCheck Of(RunResults control, RunResults run, EffectCriteria criteria)
    {
        var report = ComparisonReport.Compare([control with { Name = "control" }, run with { Name = "run" }]);
        var flips = report.Flips[0];
        var before = control.Records.ToDictionary(r => r.Id, r => r.Correct, StringComparer.Ordinal);
        var paired = run.Records.Where(r => before.ContainsKey(r.Id)).ToList();
        return new EffectCheck(run.Name, flips.Paired, paired.Count(r => before[r.Id]), paired.Count(r => r.Correct),
            flips.WrongToRight, flips.RightToWrong, flips.PValue, criteria);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Run}: {GainPoints:+0.0;-0.0;0.0} points over control on {Questions} questions ({WrongToRight} wrong->right, {RightToWrong} right->wrong, " +
        $"McNemar p {PValue:G3}): {(Passes ? "meets" : "fails")} the bar (>= {Criteria.MinGainPoints:G} points, p < {Criteria.MaxPValue:G}, " +
        $"right->wrong <= {100 * Criteria.MaxRightToWrongShare:G}%)");
}
