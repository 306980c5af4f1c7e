namespace AdaRas.Workflows;

/// <summary>The statistics the benchmarks report: medians, and ratios of two rows paired by round.</summary>
internal static class Medians
{
    /// <summary>The median (the mean of the two middle values for an even count).</summary>
    public static double Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("the median of no values");
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// The median over rounds of <paramref name="numerator"/>[i] / <paramref name="denominator"/>[i]: the two rows of a
    /// round run side by side in time, so a slow spell that hits both cancels, and one that hits a single run moves
    /// one ratio of many instead of a whole row's median.
    /// </summary>
    public static double OfPairedRatios(IEnumerable<double> numerator, IEnumerable<double> denominator) =>
        Of(numerator.Zip(denominator, (a, b) => a / b));
}
